package webtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/site"
)

// Env is the whole site on fakes, with a browser's cookie jar.
type Env struct {
	// Site is the handler under test; Config is what it was built from.
	Site   *site.Site
	Config site.Config

	SP           *FakeSP
	SessionStore *MemSessions
	Audit        *AuditLog
	STS          *FakeSTS
	// Jar holds the cookies the site has set, sent with every request.
	Jar []*http.Cookie
}

// newFakes is an Env with fresh fakes and no site yet.
func newFakes() *Env {
	audit := &AuditLog{}
	return &Env{SP: &FakeSP{}, SessionStore: &MemSessions{M: map[string]store.Session{}, Audit: audit}, Audit: audit, STS: &FakeSTS{}}
}

// NewEnv builds the site at base (its external URL) with one SAML provider,
// okta, whose sign-ins are alice in group dev with a pass-through role
// (AdmRole). Its rules grant DevRole to group dev (broker-issued) and pass
// every upstream role through.
func NewEnv(t testing.TB, base string) *Env {
	t.Helper()
	eng, err := mapping.Compile([]mapping.Rule{
		{Name: "devs", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: Acct, Role: "Developer", Label: "Developer"}},
		{Name: "pt", When: mapping.Group{All: []mapping.Condition{{Attribute: broker.SAMLAttrRole, Exists: true}}},
			Grant: mapping.GrantSpec{Mode: string(broker.ModePassThrough), Role: "*"}},
	}, mapping.Options{BrokerSAMLProviderName: "broker"})
	if err != nil {
		t.Fatal(err)
	}
	ev := newFakes()
	ev.SP.Result = &saml.Result{Identity: broker.Identity{
		Provider: "okta", Protocol: broker.ProtocolSAML, Subject: "alice",
		Attributes: map[string][]string{"groups": {"dev"}, "displayName": {"Alice <script>"}, broker.SAMLAttrRole: {AdmRole + "," + IdPProvider}},
		Roles:      []broker.RolePair{{RoleARN: AdmRole, ProviderARN: IdPProvider}},
		Expires:    time.Now().Add(5 * time.Minute), RoleSessionName: "alice",
	}, ResponseXML: []byte("<Response/>"), AssertionID: "_a"}
	acc := ev.NewAccess(t, eng)
	ev.Rebuild(t, site.Config{
		ExternalURL: base, Providers: []web.Provider{{ID: "okta", Label: "Okta", SAML: ev.SP}},
		Access: acc, Sessions: ev.NewSessions(t, acc, nil), Health: ev.SessionStore,
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, MaxBodyBytes: 64 << 10,
	})
	return ev
}

// Rebuild replaces the site with one built from cfg, kept in Config. The
// fakes and the cookie jar stay.
func (ev *Env) Rebuild(t testing.TB, cfg site.Config) {
	t.Helper()
	s, err := site.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev.Site, ev.Config = s, cfg
}

// NewAccess is the access service with the rules of eng over the env's
// fake STS, console, issuer and audit log.
func (ev *Env) NewAccess(t testing.TB, eng *mapping.Engine) *access.Service {
	t.Helper()
	acc, err := access.New(access.Config{Rules: rulesOf{eng}, STS: ev.STS, Console: FakeConsole{}, Audit: ev.Audit, SAMLIssuer: FakeIssuer{}})
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// NewSessions is the session lifecycle over the env's in-memory session
// store (also its replay cache); signIns, when not nil, gets the sign-in
// records.
func (ev *Env) NewSessions(t testing.TB, acc *access.Service, signIns interface {
	RecordSignIn(ctx context.Context, s *store.SignIn) error
}) *access.Sessions {
	t.Helper()
	ev.SessionStore.SignIns = signIns
	s, err := access.NewSessions(access.SessionsConfig{Store: ev.SessionStore, Access: acc, Replay: ev.SessionStore, RecordSignIns: signIns != nil})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Do sends a request through echo (middleware and error handler included),
// keeping cookies like a browser. A non-nil form is posted as
// application/x-www-form-urlencoded; hdr are header name, value pairs.
func (ev *Env) Do(t testing.TB, method, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	return ev.Send(req, hdr...)
}

// Send adds the headers (name, value pairs) and the jar's cookies, serves
// the request and keeps the cookies the response sets.
func (ev *Env) Send(req *http.Request, hdr ...string) *httptest.ResponseRecorder {
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for _, c := range ev.Jar {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	ev.Site.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		kept := ev.Jar[:0]
		for _, old := range ev.Jar {
			if old.Name != c.Name {
				kept = append(kept, old)
			}
		}
		ev.Jar = kept
		if c.MaxAge >= 0 && c.Value != "" {
			ev.Jar = append(ev.Jar, c)
		}
	}
	return rec
}

// CSRFRe finds the CSRF token in a page, GrantRe the grants the portal offers.
var (
	CSRFRe  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	GrantRe = regexp.MustCompile(`name="grant" value="([^"]+)"`)
)

// SignIn posts the SP's result to the ACS (an unsolicited Response goes
// on to /arrive, where the browser's session is decided), opens the portal
// and returns its CSRF token and the grants it offers.
func (ev *Env) SignIn(t testing.TB) (csrf string, grants []string) {
	t.Helper()
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
	if rec.Code == http.StatusSeeOther && rec.Header().Get("Location") == "/arrive" {
		rec = ev.Do(t, http.MethodGet, "/arrive", nil)
	}
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("ACS: %d %s", rec.Code, rec.Body)
	}
	page := ev.Do(t, http.MethodGet, "/", nil)
	m := CSRFRe.FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatalf("portal has no CSRF token:\n%s", page.Body)
	}
	for _, g := range GrantRe.FindAllStringSubmatch(page.Body.String(), -1) {
		grants = append(grants, g[1])
	}
	return m[1], grants
}
