package site

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/console"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/sts"
	"github.com/broker-dev/broker/web"
)

const (
	acct    = "111122223333"
	devRole = "arn:aws:iam::" + acct + ":role/Developer"
	admRole = "arn:aws:iam::" + acct + ":role/Admin"
	idpProv = "arn:aws:iam::" + acct + ":saml-provider/Okta"
)

// fakeSP is a SAML provider whose ParseResponse returns a canned result.
type fakeSP struct {
	result   *saml.Result
	err      error
	notReady error
	lastIn   saml.ACSInput
	reqN     int
}

func (f *fakeSP) Metadata() ([]byte, error) { return []byte("<EntityDescriptor/>"), nil }
func (f *fakeSP) Ready() error              { return f.notReady }
func (f *fakeSP) LoginRedirect(relay string) (string, string, error) {
	f.reqN++
	id := "id-" + strings.Repeat("a", f.reqN)
	return "https://idp.example.com/sso?SAMLRequest=x&RelayState=" + url.QueryEscape(relay), id, nil
}
func (f *fakeSP) ParseResponse(_ context.Context, in saml.ACSInput) (*saml.Result, error) {
	f.lastIn = in
	if f.err != nil {
		return nil, f.err
	}
	r := *f.result
	return &r, nil
}

type memSessions struct {
	mu   sync.Mutex
	m    map[string]store.Session
	down bool
}

func (m *memSessions) CreateSession(_ context.Context, s *store.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[s.ID] = *s
	return nil
}
func (m *memSessions) GetSession(_ context.Context, id string) (*store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[id]
	if !ok {
		return nil, broker.Errorf(broker.ENOTFOUND, "session_not_found", "no session")
	}
	return &s, nil
}
func (m *memSessions) UpdateSession(_ context.Context, id string, data []byte, exp time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.m[id]
	s.Data, s.ExpiresAt = data, exp
	m.m[id] = s
	return nil
}
func (m *memSessions) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, id)
	return nil
}
func (m *memSessions) Ping(context.Context) error {
	if m.down {
		return errors.New("db down")
	}
	return nil
}

type fakeSTS struct{ n int }

func (f *fakeSTS) AssumeRoleWithSAML(_ context.Context, in sts.SAMLInput) (*sts.Result, error) {
	f.n++
	return &sts.Result{Credentials: broker.Credentials{AccessKeyID: "ASIAFAKE", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Now().Add(time.Hour)}}, nil
}

func (f *fakeSTS) AssumeRoleWithWebIdentity(_ context.Context, in sts.WebIdentityInput) (*sts.Result, error) {
	f.n++
	return &sts.Result{Credentials: broker.Credentials{AccessKeyID: "ASIAFAKE", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Now().Add(time.Hour)}}, nil
}

type fakeConsole struct{}

func (fakeConsole) LoginURL(_ context.Context, r console.Request) (*console.Result, error) {
	return &console.Result{URL: "https://signin.aws.amazon.com/federation?Action=login&SigninToken=secret", Expires: time.Now().Add(time.Hour)}, nil
}

type fakeIssuer struct{}

func (fakeIssuer) Issue(_ context.Context, r issuer.SAMLRequest) (issuer.IssuedSAML, error) {
	return issuer.IssuedSAML{Base64: "bWludGVk"}, nil
}

type audit struct {
	mu  sync.Mutex
	evs []store.AuditEvent
}

func (a *audit) AppendAudit(_ context.Context, e *store.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, *e)
	return nil
}

type replay struct {
	mu sync.Mutex
	m  map[string]bool
}

func (r *replay) Remember(_ context.Context, ns, key string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[ns+key] {
		return broker.Errorf(broker.EREPLAY, "replay", "used")
	}
	r.m[ns+key] = true
	return nil
}

type rulesOf struct{ e *mapping.Engine }

func (r rulesOf) Engine() *mapping.Engine { return r.e }

type env struct {
	srv   *Site
	sp    *fakeSP
	sess  *memSessions
	audit *audit
	sts   *fakeSTS
	jar   []*http.Cookie
}

func newEnv(t *testing.T, base string) *env {
	t.Helper()
	eng, err := mapping.Compile([]mapping.Rule{
		{Name: "devs", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: acct, Role: "Developer", Label: "Developer"}},
		{Name: "pt", When: mapping.Group{All: []mapping.Condition{{Attribute: broker.SAMLAttrRole, Exists: true}}},
			Grant: mapping.GrantSpec{Mode: string(broker.ModePassThrough), Role: "*"}},
	}, mapping.Options{BrokerSAMLProviderName: "broker"})
	if err != nil {
		t.Fatal(err)
	}
	ev := &env{sp: &fakeSP{}, sess: &memSessions{m: map[string]store.Session{}}, audit: &audit{}, sts: &fakeSTS{}}
	ev.sp.result = &saml.Result{Identity: broker.Identity{
		Provider: "okta", Protocol: broker.ProtocolSAML, Subject: "alice",
		Attributes: map[string][]string{"groups": {"dev"}, "displayName": {"Alice <script>"}, broker.SAMLAttrRole: {admRole + "," + idpProv}},
		Roles:      []broker.RolePair{{RoleARN: admRole, ProviderARN: idpProv}},
		Expires:    time.Now().Add(5 * time.Minute), RoleSessionName: "alice",
	}, ResponseXML: []byte("<Response/>"), AssertionID: "_a"}
	acc := newAccess(t, eng, ev)
	ev.srv, err = New(Config{
		ExternalURL: base, Providers: []web.Provider{{ID: "okta", Label: "Okta", SAML: ev.sp}},
		Access: acc, Sessions: newSessions(t, acc, ev.sess, nil), Health: ev.sess,
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, MaxBodyBytes: 64 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func newAccess(t *testing.T, eng *mapping.Engine, ev *env) *access.Service {
	t.Helper()
	acc, err := access.New(access.Config{Rules: rulesOf{eng}, STS: ev.sts, Console: fakeConsole{}, Audit: ev.audit, SAMLIssuer: fakeIssuer{}})
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// newSessions is the session lifecycle over the in-memory session store,
// with a fresh replay cache; signIns may be nil.
func newSessions(t *testing.T, acc *access.Service, sess *memSessions, signIns access.SignInRecorder) *access.Sessions {
	t.Helper()
	s, err := access.NewSessions(access.SessionsConfig{Store: sess, Access: acc, Replay: &replay{m: map[string]bool{}}, SignIns: signIns})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type httpResponse = httptest.ResponseRecorder

// do sends a request through echo (middleware and error handler included),
// keeping cookies like a browser.
func (ev *env) do(t *testing.T, method, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	return ev.send(req, hdr...)
}

// send adds the headers (name, value pairs) and the jar's cookies, serves
// the request and keeps the cookies the response sets.
func (ev *env) send(req *http.Request, hdr ...string) *httptest.ResponseRecorder {
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for _, c := range ev.jar {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	ev.srv.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		kept := ev.jar[:0]
		for _, old := range ev.jar {
			if old.Name != c.Name {
				kept = append(kept, old)
			}
		}
		ev.jar = kept
		if c.MaxAge >= 0 && c.Value != "" {
			ev.jar = append(ev.jar, c)
		}
	}
	return rec
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
var grantRe = regexp.MustCompile(`name="grant" value="([^"]+)"`)

func (ev *env) signIn(t *testing.T) (csrf string, grants []string) {
	t.Helper()
	rec := ev.do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("ACS: %d %s", rec.Code, rec.Body)
	}
	page := ev.do(t, http.MethodGet, "/", nil)
	m := csrfRe.FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatalf("portal has no CSRF token:\n%s", page.Body)
	}
	for _, g := range grantRe.FindAllStringSubmatch(page.Body.String(), -1) {
		grants = append(grants, g[1])
	}
	return m[1], grants
}
