package devidp

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/oidc"
)

const postLogoutURL = "https://broker.example.com/signed-out"

// receiver is a client's back-channel logout endpoint.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens []string
	block  chan struct{} // when set, the handler waits on it after reading
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		_ = r.ParseForm()
		rc.mu.Lock()
		rc.tokens = append(rc.tokens, r.PostForm.Get("logout_token"))
		block := rc.block
		rc.mu.Unlock()
		if block != nil {
			<-block
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.tokens...)
}

// logoutEnv is the OP with two clients that both have a back-channel
// logout endpoint: broker, which signs in, and other, which does not.
func logoutEnv(t *testing.T, edit func(*OPConfig)) (*opEnv, *receiver, *receiver) {
	t.Helper()
	brokerRC, otherRC := newReceiver(t), newReceiver(t)
	e := newOPEnv(t, func(c *OPConfig) {
		c.Clients = []Client{
			{ID: "broker", Secret: "s3cret", RedirectURIs: []string{cbURL}, PostLogoutRedirectURIs: []string{postLogoutURL}, BackchannelLogoutURI: brokerRC.srv.URL + "/bc"},
			{ID: "other", Secret: "s3cret", RedirectURIs: []string{"https://other.example.com/cb"}, BackchannelLogoutURI: otherRC.srv.URL + "/bc"},
		}
		if edit != nil {
			edit(c)
		}
	})
	return e, brokerRC, otherRC
}

// checkLogoutToken verifies a logout token with go-jose alone against the
// OP's key, then with the relying party.
func checkLogoutToken(t *testing.T, e *opEnv, p *oidc.Provider, raw, sub, sid string) {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; typ != "logout+jwt" {
		t.Errorf("typ %v", typ)
	}
	payload, err := jws.Verify(&e.op.key.PublicKey)
	if err != nil {
		t.Fatalf("not signed by the OP: %v", err)
	}
	var c map[string]any
	_ = json.Unmarshal(payload, &c)
	events, _ := c["events"].(map[string]any)
	_, isObject := events[backchannelEvent].(map[string]any)
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	if c["iss"] != e.srv.URL || c["aud"] != "broker" || c["sub"] != sub || c["sid"] != sid || c["jti"] == "" || c["jti"] == nil ||
		!isObject || exp-iat != 120 || c["nonce"] != nil {
		t.Errorf("logout token claims %v", c)
	}
	lt, err := p.VerifyLogoutToken(context.Background(), raw)
	if err != nil || lt.SID != sid || lt.Subject != sub {
		t.Errorf("the RP refuses it: %+v %v", lt, err)
	}
}

func TestOPDiscoveryAdvertisesLogout(t *testing.T) {
	e := newOPEnv(t, nil)
	ls, err := e.rp(t, nil).Logout(context.Background())
	if err != nil || ls.EndSessionEndpoint != e.srv.URL+"/end-session" || !ls.Backchannel || !ls.BackchannelSession {
		t.Fatalf("%+v %v", ls, err)
	}
}

func TestOPRPInitiatedLogoutWithBackchannel(t *testing.T) {
	e, brokerRC, otherRC := logoutEnv(t, nil)
	p := e.rp(t, nil)
	res, _ := e.signIn(t, p, oidc.AuthRequest{}, "alice", "correct horse", "")
	sid := res.Identity.SessionIndex

	u, err := p.EndSessionURL(context.Background(), res.IDToken, postLogoutURL, "bye-1")
	if err != nil {
		t.Fatal(err)
	}
	e.clk.add(2 * time.Hour) // an expired ID token is still a good hint
	resp, _ := get(t, e.browser, u)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != postLogoutURL+"?state=bye-1" {
		t.Fatalf("end session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	got := brokerRC.got()
	if len(got) != 1 {
		t.Fatalf("broker got %d logout tokens", len(got))
	}
	checkLogoutToken(t, e, p, got[0], SubjectOf("alice"), sid)
	if n := len(otherRC.got()); n != 0 {
		t.Errorf("a client that got no tokens in the session got %d logout tokens", n)
	}
	// The SSO session is over, and the tokens issued in it are revoked.
	resp, body := get(t, e.browser, mustAuth(t, p, "st", "n", oidc.NewVerifier(), "none"))
	if q := callbackQuery(t, resp, body); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after logout: %v", q)
	}
	if _, err := p.Refresh(context.Background(), res.RefreshToken, "alice"); broker.ErrorReason(err) != "refresh_refused" {
		t.Errorf("refresh after logout: %v", err)
	}
}

func TestOPOwnSignOutSendsLogoutTokens(t *testing.T) {
	var logs bytes.Buffer
	e, brokerRC, _ := logoutEnv(t, func(c *OPConfig) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	p := e.rp(t, nil)
	res, _ := e.signIn(t, p, oidc.AuthRequest{}, "alice", "correct horse", "")
	resp, _ := post(t, e.browser, e.srv.URL+"/logout", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	got := brokerRC.got()
	if len(got) != 1 {
		t.Fatalf("broker got %d logout tokens", len(got))
	}
	checkLogoutToken(t, e, p, got[0], SubjectOf("alice"), res.Identity.SessionIndex)
	if strings.Contains(logs.String(), got[0]) || !strings.Contains(logs.String(), "back-channel logout delivered") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// A client whose back-channel endpoint hangs does not hold the browser
// beyond the delivery timeout; the failure is logged without the token.
func TestOPBackchannelTimeoutDoesNotBlockTheBrowser(t *testing.T) {
	var logs syncBuffer
	e, brokerRC, _ := logoutEnv(t, func(c *OPConfig) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
	})
	block := make(chan struct{})
	defer close(block)
	brokerRC.mu.Lock()
	brokerRC.block = block
	brokerRC.mu.Unlock()
	e.signIn(t, e.rp(t, nil), oidc.AuthRequest{}, "alice", "correct horse", "")
	start := time.Now()
	resp, _ := post(t, e.browser, e.srv.URL+"/logout", url.Values{})
	if took := time.Since(start); resp.StatusCode != http.StatusSeeOther || took > 3*time.Second {
		t.Fatalf("sign out: %d after %s", resp.StatusCode, took)
	}
	got := brokerRC.got()
	if len(got) != 1 || !strings.Contains(logs.String(), "not delivered") || strings.Contains(logs.String(), got[0]) {
		t.Errorf("%d tokens; log:\n%s", len(got), logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestOPEndSessionRefusals(t *testing.T) {
	e, brokerRC, _ := logoutEnv(t, nil)
	p := e.rp(t, nil)
	res, _ := e.signIn(t, p, oidc.AuthRequest{}, "alice", "correct horse", "")
	forged := func() string {
		other := newOPEnv(t, nil) // another OP, another key
		tok, _ := other.op.idToken(grant{client: "broker", user: "alice", sid: res.Identity.SessionIndex}, e.clk.now(), false)
		return tok
	}()
	for name, q := range map[string]url.Values{
		"unregistered post_logout_redirect_uri": {"id_token_hint": {res.IDToken}, "post_logout_redirect_uri": {"https://evil.example.com/"}},
		"redirect URI of another client":        {"client_id": {"other"}, "post_logout_redirect_uri": {postLogoutURL}},
		"redirect without a client":             {"post_logout_redirect_uri": {postLogoutURL}},
		"hint signed by another OP":             {"id_token_hint": {forged}, "post_logout_redirect_uri": {postLogoutURL}},
		"hint that is not a JWT":                {"id_token_hint": {"garbage"}},
		"client_id not the hint's audience":     {"id_token_hint": {res.IDToken}, "client_id": {"other"}},
		"unknown client":                        {"client_id": {"nobody"}},
	} {
		resp, body := get(t, e.browser, e.srv.URL+"/end-session?"+q.Encode())
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, `role="alert"`) {
			t.Errorf("%s: %d %q", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if n := len(brokerRC.got()); n != 0 {
		t.Fatalf("a refused logout request ended the session (%d logout tokens)", n)
	}
	if _, form := e.signIn(t, p, oidc.AuthRequest{}, "", "", ""); form {
		t.Fatal("a refused logout request ended the session")
	}

	// Without a hint the person confirms; the confirmation is a POST.
	q := url.Values{"client_id": {"broker"}, "post_logout_redirect_uri": {postLogoutURL}, "state": {"s-2"}}
	resp, body := get(t, e.browser, e.srv.URL+"/end-session?"+q.Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="logout-confirm"`) || len(brokerRC.got()) != 0 {
		t.Fatalf("no confirmation: %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "https://broker.example.com") {
		t.Errorf("CSP %q does not let the confirmation redirect", csp)
	}
	q.Set("confirm", "yes")
	resp, _ = post(t, e.browser, e.srv.URL+"/end-session", q)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != postLogoutURL+"?state=s-2" || len(brokerRC.got()) != 1 {
		t.Fatalf("confirmed: %d %q, %d tokens", resp.StatusCode, resp.Header.Get("Location"), len(brokerRC.got()))
	}
	// Nothing to end, no redirect: the signed-out page.
	resp, body = get(t, e.browser, e.srv.URL+"/end-session")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="signed-out"`) {
		t.Errorf("bare end session: %d\n%s", resp.StatusCode, body)
	}
}

func TestOPLogoutURIsValidated(t *testing.T) {
	for _, c := range []Client{
		{ID: "x", RedirectURIs: []string{cbURL}, PostLogoutRedirectURIs: []string{"/relative"}},
		{ID: "x", RedirectURIs: []string{cbURL}, BackchannelLogoutURI: "https://rp.example.com/bc#frag"},
	} {
		if _, err := NewOP(OPConfig{BaseURL: "http://127.0.0.1:1", Users: []User{alice}, Clients: []Client{c}}); err == nil {
			t.Errorf("client %+v accepted", c)
		}
	}
}
