package devidp

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/oidc"
)

// carol has a second factor.
var carol = User{Username: "carol", Password: "battery staple", Email: "carol@example.com", DisplayName: "Carol", Groups: []string{"ops"}, OTP: "246810"}

var loginField = regexp.MustCompile(`name="login" value="([^"]*)"`)

// clock is a settable clock shared by the OP and the RP.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// opEnv is the demo OP with alice and carol, the broker as its client,
// and a browser.
type opEnv struct {
	op      *OP
	srv     *httptest.Server
	clk     *clock
	browser *http.Client
}

func newOPEnv(t *testing.T, edit func(*OPConfig)) *opEnv {
	t.Helper()
	e := &opEnv{clk: &clock{t: time.Now().Truncate(time.Second)}}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.op.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	cfg := OPConfig{BaseURL: e.srv.URL, Users: []User{alice, carol}, RefreshTokens: true, Now: e.clk.now,
		Clients: []Client{{ID: "broker", Secret: "s3cret", RedirectURIs: []string{cbURL}}}}
	if edit != nil {
		edit(&cfg)
	}
	var err error
	if e.op, err = NewOP(cfg); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *opEnv) rp(t *testing.T, edit func(*oidc.Config)) *oidc.Provider {
	return rp(t, e.srv.URL, func(c *oidc.Config) {
		c.Now, c.UseUserinfo = e.clk.now, false
		if edit != nil {
			edit(c)
		}
	})
}

// callback is the redirect's query when resp goes back to the client.
func callbackQuery(t *testing.T, resp *http.Response, body string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), cbURL) {
		t.Fatalf("no redirect to the callback: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	return u.Query()
}

// signIn runs a sign-in from req: the form (password, then otp when the
// OTP step shows) unless an SSO session answers at once. It returns the
// verified result, and whether the login form was shown.
func (e *opEnv) signIn(t *testing.T, p *oidc.Provider, req oidc.AuthRequest, user, password, otp string, opts ...oidc.ExchangeOption) (*oidc.Result, bool) {
	t.Helper()
	req.State, req.Nonce, req.Verifier = "st", "n-"+randomID(4), oidc.NewVerifier()
	u, err := p.AuthURL(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, e.browser, u)
	form := resp.StatusCode == http.StatusOK
	if form {
		key := reqField.FindStringSubmatch(body)[1]
		resp, body = post(t, e.browser, e.srv.URL+"/login", url.Values{"req": {key}, "username": {user}, "password": {password}})
		if m := loginField.FindStringSubmatch(body); m != nil {
			resp, body = post(t, e.browser, e.srv.URL+"/login/otp", url.Values{"login": {m[1]}, "otp": {otp}})
		}
	}
	q := callbackQuery(t, resp, body)
	if q.Get("error") != "" {
		t.Fatalf("OP answered %s: %s", q.Get("error"), q.Get("error_description"))
	}
	res, err := p.Exchange(context.Background(), q.Get("code"), req.Verifier, req.Nonce, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return res, form
}

func TestOPIDTokenCarriesSIDAuthTimeAndAMR(t *testing.T) {
	e := newOPEnv(t, nil)
	p := e.rp(t, nil)
	res, form := e.signIn(t, p, oidc.AuthRequest{}, "alice", "correct horse", "")
	id := res.Identity
	if !form || id.SessionIndex == "" || id.MFA || id.First("amr") != "pwd" || len(id.Values("amr")) != 1 || id.First("acr") != ACRPassword {
		t.Fatalf("identity %+v", id)
	}
	if !id.AuthnInstant.Equal(e.clk.now()) {
		t.Errorf("auth_time %s, signed in at %s", id.AuthnInstant, e.clk.now())
	}
	// The SSO session answers the next request: same sid and auth_time.
	e.clk.add(time.Minute)
	res2, form := e.signIn(t, p, oidc.AuthRequest{}, "", "", "")
	if form || res2.Identity.SessionIndex != id.SessionIndex || !res2.Identity.AuthnInstant.Equal(id.AuthnInstant) {
		t.Errorf("SSO sign-in: form %v, sid %q (first %q), auth_time %s", form, res2.Identity.SessionIndex, id.SessionIndex, res2.Identity.AuthnInstant)
	}
	// The sid is not the session cookie.
	u, _ := url.Parse(e.srv.URL)
	for _, c := range e.browser.Jar.Cookies(u) {
		if c.Value == id.SessionIndex {
			t.Error("the sid claim is the session cookie's value")
		}
	}
}

func TestOPSecondFactor(t *testing.T) {
	e := newOPEnv(t, nil)
	p := e.rp(t, func(c *oidc.Config) { c.MFARequest = []string{ACRMFA} })

	// Without a request for MFA the code is optional: left empty, a
	// password sign-in.
	res, _ := e.signIn(t, p, oidc.AuthRequest{}, "carol", "battery staple", "")
	if res.Identity.MFA || res.Identity.First("acr") != ACRPassword {
		t.Fatalf("optional OTP left empty: %+v", res.Identity)
	}
	sid := res.Identity.SessionIndex

	// acr_values asks for MFA: the password session does not do, the form
	// shows again, and the code is required.
	v := oidc.NewVerifier()
	u, _ := p.AuthURL(context.Background(), oidc.AuthRequest{State: "st", Nonce: "n", Verifier: v, MFA: true})
	if q := mustQuery(t, u); q.Get("acr_values") != ACRMFA {
		t.Fatalf("auth URL %s", u)
	}
	resp, body := get(t, e.browser, u)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="login"`) {
		t.Fatalf("SSO session without MFA answered a request for MFA: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	key := reqField.FindStringSubmatch(body)[1]
	_, body = post(t, e.browser, e.srv.URL+"/login", url.Values{"req": {key}, "username": {"carol"}, "password": {"battery staple"}})
	login := loginField.FindStringSubmatch(body)
	if login == nil || !strings.Contains(body, `id="otp"`) || strings.Contains(body, "(optional)") {
		t.Fatalf("no required OTP step:\n%s", body)
	}
	for _, wrong := range []string{"", "000000"} {
		resp, body = post(t, e.browser, e.srv.URL+"/login/otp", url.Values{"login": {login[1]}, "otp": {wrong}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `id="otp-error"`) {
			t.Fatalf("OTP %q: %d\n%s", wrong, resp.StatusCode, body)
		}
	}
	resp, body = post(t, e.browser, e.srv.URL+"/login/otp", url.Values{"login": {login[1]}, "otp": {"246810"}})
	q := callbackQuery(t, resp, body)
	res, err := p.Exchange(context.Background(), q.Get("code"), v, "n")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Identity
	if !id.MFA || id.First(broker.AttrMFA) != "true" || id.First("acr") != ACRMFA || strings.Join(id.Values("amr"), " ") != "pwd otp mfa" {
		t.Fatalf("MFA sign-in: %+v", id)
	}
	if id.SessionIndex != sid {
		t.Errorf("signing in again as the same person changed the sid: %q, was %q", id.SessionIndex, sid)
	}
	// The session now has MFA: it answers a request for MFA without the form.
	res, form := e.signIn(t, p, oidc.AuthRequest{MFA: true}, "", "", "")
	if form || !res.Identity.MFA || res.Identity.SessionIndex != sid {
		t.Fatalf("SSO sign-in with MFA: form %v, %+v", form, res.Identity)
	}
}

func TestOPSecondFactorSpentAfterFiveWrongCodes(t *testing.T) {
	e := newOPEnv(t, nil)
	p := e.rp(t, nil)
	u, _ := p.AuthURL(context.Background(), oidc.AuthRequest{State: "st", Nonce: "n", Verifier: oidc.NewVerifier()})
	_, body := get(t, e.browser, u)
	_, body = post(t, e.browser, e.srv.URL+"/login", url.Values{"req": {reqField.FindStringSubmatch(body)[1]}, "username": {"carol"}, "password": {"battery staple"}})
	login := loginField.FindStringSubmatch(body)[1]
	for range 5 {
		post(t, e.browser, e.srv.URL+"/login/otp", url.Values{"login": {login}, "otp": {"111111"}})
	}
	resp, body := post(t, e.browser, e.srv.URL+"/login/otp", url.Values{"login": {login}, "otp": {"246810"}})
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("the right code after five wrong ones: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

func TestOPMFARequiredForSomeoneWithoutSecondFactor(t *testing.T) {
	e := newOPEnv(t, nil)
	p := e.rp(t, nil)
	u, _ := p.AuthURL(context.Background(), oidc.AuthRequest{State: "st", Nonce: "n", Verifier: oidc.NewVerifier(), ACRValues: []string{ACRMFA}})
	_, body := get(t, e.browser, u)
	resp, body := post(t, e.browser, e.srv.URL+"/login", url.Values{"req": {reqField.FindStringSubmatch(body)[1]}, "username": {"alice"}, "password": {"correct horse"}})
	q := callbackQuery(t, resp, body)
	if q.Get("error") != "unmet_authentication_requirements" || q.Get("state") != "st" || q.Get("code") != "" {
		t.Fatalf("callback %v", q)
	}
	if err := oidc.AuthorizationError("demo", q.Get("error"), q.Get("error_description")); broker.ErrorCode(err) != broker.EFORBIDDEN {
		t.Errorf("the RP reads it as %v", err)
	}
}

func TestOPPromptLoginAndMaxAge(t *testing.T) {
	e := newOPEnv(t, nil)
	p := e.rp(t, nil)
	first, _ := e.signIn(t, p, oidc.AuthRequest{}, "alice", "correct horse", "")

	// Within max_age the session answers.
	e.clk.add(4 * time.Minute)
	res, form := e.signIn(t, p, oidc.AuthRequest{MaxAge: 5 * time.Minute}, "", "", "", oidc.WithMaxAge(5*time.Minute))
	if form || !res.Identity.AuthnInstant.Equal(first.Identity.AuthnInstant) {
		t.Fatalf("within max_age: form %v, auth_time %s", form, res.Identity.AuthnInstant)
	}

	// Past max_age: prompt=none cannot, the interactive request shows the form.
	e.clk.add(2 * time.Minute)
	u, _ := p.AuthURL(context.Background(), oidc.AuthRequest{State: "st", Nonce: "n", Verifier: oidc.NewVerifier(), MaxAge: 5 * time.Minute, Prompt: "none"})
	resp, body := get(t, e.browser, u)
	if q := callbackQuery(t, resp, body); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none past max_age: %v", q)
	}
	res, form = e.signIn(t, p, oidc.AuthRequest{MaxAge: 5 * time.Minute}, "alice", "correct horse", "", oidc.WithMaxAge(5*time.Minute))
	if !form || !res.Identity.AuthnInstant.Equal(e.clk.now()) || res.Identity.SessionIndex != first.Identity.SessionIndex {
		t.Fatalf("past max_age: form %v, auth_time %s (now %s), sid %q (was %q)", form, res.Identity.AuthnInstant, e.clk.now(), res.Identity.SessionIndex, first.Identity.SessionIndex)
	}

	// prompt=login and an exceeded max_age of a second force the form too.
	for _, req := range []oidc.AuthRequest{{Prompt: "login"}, {MaxAge: time.Nanosecond}} {
		e.clk.add(2 * time.Second)
		if _, form := e.signIn(t, p, req, "alice", "correct horse", ""); !form {
			t.Errorf("%+v answered from the session", req)
		}
	}
	// A bad max_age goes back as invalid_request.
	resp, body = get(t, e.browser, strings.Replace(mustAuth(t, p, "st", "n", oidc.NewVerifier(), ""), "?", "?max_age=-1&", 1))
	if q := callbackQuery(t, resp, body); q.Get("error") != "invalid_request" {
		t.Errorf("max_age=-1: %v", q)
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Query()
}
