package portal_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// fakeOIDC is an OIDC relying party whose answers the test controls.
type fakeOIDC struct {
	state, nonce, verifier, prompt string
	exchanges, refreshes           int
	expires                        time.Time
}

func (f *fakeOIDC) Ready() error { return nil }

// The fake OP has no end-session endpoint and sends no logout tokens.
func (f *fakeOIDC) EndSessionURL(context.Context, string, string, string) (string, error) {
	return "", nil
}
func (f *fakeOIDC) VerifyLogoutToken(context.Context, string) (*oidc.LogoutToken, error) {
	return nil, broker.Errorf(broker.EUNAUTHORIZED, "logout_token_invalid", "fake OP sends no logout tokens")
}

func (f *fakeOIDC) AuthURL(_ context.Context, req oidc.AuthRequest) (string, error) {
	f.state, f.nonce, f.verifier, f.prompt = req.State, req.Nonce, req.Verifier, req.Prompt
	return "https://op.example.com/authorize?state=" + url.QueryEscape(req.State), nil
}

func (f *fakeOIDC) Exchange(_ context.Context, code, verifier, nonce string, _ ...oidc.ExchangeOption) (*oidc.Result, error) {
	f.exchanges++
	if code != "good-code" || verifier != f.verifier || nonce != f.nonce {
		return nil, broker.Errorf(broker.EUNAUTHORIZED, "code_rejected", "no")
	}
	return &oidc.Result{IDToken: "id-token-1", Expires: f.expires, RefreshToken: "rt-1", Identity: broker.Identity{
		Provider: "kc", Protocol: broker.ProtocolOIDC, Subject: "bob", RoleSessionName: "bob", Attributes: map[string][]string{"groups": {"dev"}}}}, nil
}

func (f *fakeOIDC) Refresh(_ context.Context, rt, sub string) (*oidc.Result, error) {
	f.refreshes++
	if rt != "rt-1" || sub != "bob" {
		return nil, broker.Errorf(broker.EEXPIRED, "refresh_refused", "no")
	}
	return &oidc.Result{IDToken: "id-token-2", Expires: time.Now().Add(time.Hour), RefreshToken: "rt-2", Identity: broker.Identity{Subject: "bob"}}, nil
}

// newOIDCEnv is the SAML env with an OIDC provider, kc, added; its rule
// passes bob's ID token through to WebDev.
func newOIDCEnv(t testing.TB) (*webtest.Env, *fakeOIDC) {
	t.Helper()
	op := &fakeOIDC{expires: time.Now().Add(time.Hour)}
	return oidcEnvWith(t, op), op
}

// oidcEnvWith is a site with the OIDC provider "kc" (op: the fake, or a
// real oidc.Provider) and a rule granting WebDev to the group dev.
func oidcEnvWith(t testing.TB, op web.OIDCProvider) *webtest.Env {
	t.Helper()
	ev := webtest.NewEnv(t, "http://localhost:8080")
	eng := oidcBenchRules(t)
	cfg := ev.Config
	cfg.Providers = append(cfg.Providers, web.Provider{ID: "kc", Label: "Keycloak", OIDC: op})
	cfg.Access = ev.NewAccess(t, eng)
	cfg.Sessions = ev.NewSessions(t, cfg.Access, nil)
	ev.Rebuild(t, cfg)
	return ev
}

// oidcBenchRules grants the "dev" group a web-identity pass-through role.
func oidcBenchRules(t testing.TB) *mapping.Engine {
	t.Helper()
	eng, err := mapping.Compile([]mapping.Rule{{Name: "wi", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
		Grant: mapping.GrantSpec{Account: webtest.Acct, Role: "WebDev", Mode: "pass-through", Downstream: "web-identity"}}}, mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func callback(ev *webtest.Env, t testing.TB, q string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	return ev.Do(t, http.MethodGet, "/oidc/kc/callback?"+q, nil, hdr...)
}

func TestOIDCLoginAndCallback(t *testing.T) {
	ev, op := newOIDCEnv(t)
	page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	if !strings.Contains(page, `href="/oidc/kc/login"`) {
		t.Fatalf("sign-in page lacks the OIDC provider:\n%s", page)
	}
	rec := ev.Do(t, http.MethodGet, "/oidc/kc/login", nil)
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "https://op.example.com/authorize") {
		t.Fatalf("login: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if len(op.state) < 30 || len(op.nonce) < 30 || len(op.verifier) < 43 || op.state == op.nonce {
		t.Fatalf("weak state/nonce/verifier: %q %q %q", op.state, op.nonce, op.verifier)
	}
	state := op.state
	// A state this browser did not start is refused, before any code exchange.
	if r := callback(ev, t, "code=good-code&state=forged"); r.Code != http.StatusUnauthorized || lastFailure(t, ev).Reason != "state_mismatch" || op.exchanges != 0 {
		t.Fatalf("forged state: %d, %d exchanges", r.Code, op.exchanges)
	}
	cookies := append([]*http.Cookie(nil), ev.Jar...)
	if r := callback(ev, t, "code=good-code&state="+url.QueryEscape(state)); r.Code != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", r.Code, r.Body)
	}
	// Playing the callback again: the state is gone from the cookie...
	if r := callback(ev, t, "code=good-code&state="+url.QueryEscape(state)); r.Code != http.StatusUnauthorized {
		t.Fatalf("replayed callback: %d", r.Code)
	}
	// ...and even with a copy of the old cookie, the replay cache refuses it.
	ev.Jar = cookies
	if r := callback(ev, t, "code=good-code&state="+url.QueryEscape(state)); r.Code != http.StatusUnauthorized || lastFailure(t, ev).Reason != "state_replay" {
		t.Fatalf("replay with an old cookie: %d %s", r.Code, r.Body)
	}
	if op.exchanges != 1 {
		t.Errorf("%d code exchanges, want 1", op.exchanges)
	}
}

func TestOIDCRefreshBeforePassThrough(t *testing.T) {
	ev, op := newOIDCEnv(t)
	op.expires = time.Now().Add(-time.Minute) // the ID token is already expired
	ev.Do(t, http.MethodGet, "/oidc/kc/login", nil)
	if r := callback(ev, t, "code=good-code&state="+url.QueryEscape(op.state)); r.Code != http.StatusSeeOther {
		t.Fatalf("callback: %d", r.Code)
	}
	portal := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	csrf := webtest.CSRFRe.FindStringSubmatch(portal)[1]
	grants := webtest.GrantRe.FindAllStringSubmatch(portal, -1)
	rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {grants[0][1]}})
	if rec.Code != http.StatusFound || op.refreshes != 1 {
		t.Fatalf("console with an expired ID token: %d, %d refreshes\n%s", rec.Code, op.refreshes, rec.Body)
	}
}

func TestOIDCSilentFallback(t *testing.T) {
	ev, op := newOIDCEnv(t)
	rec := ev.Do(t, http.MethodGet, "/oidc/kc/login?prompt=none&grant=g1", nil, "Sec-Fetch-Site", "same-origin")
	if rec.Code != http.StatusFound || op.prompt != "none" {
		t.Fatalf("silent login: %d prompt %q", rec.Code, op.prompt)
	}
	silent := op.state
	// The OP needs the person: the broker starts the interactive sign-in
	// itself, for the same role.
	r := callback(ev, t, "error=login_required&state="+url.QueryEscape(silent))
	if r.Code != http.StatusFound || !strings.HasPrefix(r.Header().Get("Location"), "https://op.example.com/authorize") || op.prompt != "" || op.state == silent {
		t.Fatalf("fallback: %d %q prompt %q", r.Code, r.Header().Get("Location"), op.prompt)
	}
	// It comes back to that role without a confirmation: the person asked
	// for it on this site, whatever the OP's redirect says about sites.
	r = callback(ev, t, "code=good-code&state="+url.QueryEscape(op.state), "Sec-Fetch-Site", "cross-site")
	if m := metaRefresh.FindStringSubmatch(r.Body.String()); r.Code != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "/continue?t=") {
		t.Fatalf("interactive sign-in after the fallback: %d %q\n%s", r.Code, r.Header().Get("Location"), r.Body)
	}
	ev.Do(t, http.MethodGet, "/oidc/kc/login", nil)
	if r := callback(ev, t, "error=access_denied&state="+url.QueryEscape(op.state)); r.Code != http.StatusForbidden {
		t.Fatalf("access_denied: %d", r.Code)
	}
}
