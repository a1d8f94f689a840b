package apps_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
	webapps "github.com/broker-dev/broker/web/apps"
	"github.com/broker-dev/broker/web/internal/webtest"
)

const (
	base     = "https://aws.example.com"
	appCB    = "https://app.example.com/cb"
	secret   = "app-secret-0123456789-0123456789-abc"
	verifier = "a-verifier-of-at-least-43-characters-0123456789"
)

var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// clock is the wall clock moved forward by tests (the portal's sessions
// keep the wall clock).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// newEnv is the whole site (webtest.Env: one SAML provider, okta, whose
// sign-ins are alice in group dev) with the OpenID Provider for four
// apps: first-party "web" for everyone and "ops" only for group ops, and
// third-party (a consent screen) "wiki" for everyone and "ops-wiki" only
// for group ops.
func newEnv(t *testing.T) (*webtest.Env, *clock) {
	t.Helper()
	ev, clk, _ := newEnvWith(t, nil)
	return ev, clk
}

// newEnvWith is newEnv with the access use case newAccess builds over the
// env's fakes (nil: the env's own), and the OP's store. The credentials,
// roles and console APIs are mounted, and the portal's sessions revoke
// the person's app tokens when they all end (EndAll).
func newEnvWith(t *testing.T, newAccess func(*webtest.Env) *access.Service) (*webtest.Env, *clock, *sqlstore.DB) {
	t.Helper()
	ev := webtest.NewEnv(t, base)
	clk := &clock{}
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: ":memory:", Keys: [][]byte{make([]byte, 32)}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := ev.Config
	if newAccess != nil {
		cfg.Access = newAccess(ev)
	}
	if cfg.Sessions, err = access.NewSessions(access.SessionsConfig{Store: ev.SessionStore, Access: cfg.Access, Replay: st, AppTokens: st}); err != nil {
		t.Fatal(err)
	}
	ops, err := mapping.CompileMatcher("apps.clients[1]", mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "ops"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := signingKey()
	p, err := apps.New(apps.Config{
		Issuer: base, Signing: key, KeyID: issuer.KeyID(&key.PublicKey), Store: st,
		Rules: cfg.Access, Audit: cfg.Access, LoginPath: webapps.LoginPath, CodeKey: make([]byte, 32), Now: clk.now,
		Clients: []apps.Client{
			{ID: "web", Name: "Web app", SecretHash: apps.HashSecret(secret), RedirectURIs: []string{appCB}, Scopes: apps.KnownScopes, FirstParty: true},
			{ID: "ops", Name: "Ops console", SecretHash: apps.HashSecret(secret), RedirectURIs: []string{appCB}, Scopes: apps.KnownScopes, When: ops, FirstParty: true},
			{ID: "wiki", Name: "Team wiki", SecretHash: apps.HashSecret(secret), RedirectURIs: []string{appCB}, Scopes: apps.KnownScopes},
			{ID: "ops-wiki", Name: "Ops wiki", SecretHash: apps.HashSecret(secret), RedirectURIs: []string{appCB}, Scopes: apps.KnownScopes, When: ops},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Apps, cfg.AppBearers = p, p
	ev.Rebuild(t, cfg)
	return ev, clk, st
}

func challenge() string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// authorize sends the app's request and returns the bridge URL it redirects to.
func authorize(t *testing.T, ev *webtest.Env, client string, extra url.Values) string {
	t.Helper()
	q := url.Values{"client_id": {client}, "redirect_uri": {appCB}, "response_type": {"code"}, "scope": {"openid email groups aws:roles"},
		"state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {challenge()}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	rec := ev.Do(t, http.MethodGet, "/oauth/authorize?"+q.Encode(), nil)
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusFound || !strings.HasPrefix(loc, webapps.LoginPath+"?id=") {
		t.Fatalf("authorize: %d %q\n%s", rec.Code, loc, rec.Body)
	}
	return loc
}

// atApp asserts a redirect to the app and returns its query.
func atApp(t *testing.T, code int, loc string) url.Values {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || code != http.StatusFound || u.Scheme+"://"+u.Host+u.Path != appCB {
		t.Fatalf("want a 302 to the app, got %d %q", code, loc)
	}
	if u.Query().Get("state") != "st-1" {
		t.Fatalf("state not returned untouched: %q", loc)
	}
	return u.Query()
}

// exchange redeems a code at the token endpoint and returns the ID token's claims.
func exchange(t *testing.T, ev *webtest.Env, code string) map[string]any {
	t.Helper()
	rec := ev.Do(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {appCB}, "code_verifier": {verifier}}, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("web:"+secret)))
	if rec.Code != http.StatusOK {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(out.IDToken, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q", out.IDToken)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// signInAt follows the IdP round trip the fake SP stands for: the login
// route (its Location leaves for the IdP), then the IdP's answer to it.
func signInAt(t *testing.T, ev *webtest.Env, loginURL, inResponseTo string) (int, string) {
	t.Helper()
	rec := ev.Do(t, http.MethodGet, loginURL, nil)
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "https://idp.example.com/") {
		t.Fatalf("login %s: %d %q", loginURL, rec.Code, rec.Header().Get("Location"))
	}
	ev.SP.Result.InResponseTo = inResponseTo
	rec = ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
	return rec.Code, rec.Header().Get("Location")
}

// TestBridgeNotSignedIn: no session ─> the sign-in page, which keeps the
// return ─> the IdP ─> back to the bridge ─> the app gets a code for alice.
func TestBridgeNotSignedIn(t *testing.T) {
	ev, _ := newEnv(t)
	bridge := authorize(t, ev, "web", nil)
	rec := ev.Do(t, http.MethodGet, bridge, nil)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || loc.Path != "/" || loc.Query().Get("return") != bridge || loc.Query().Has("fresh") {
		t.Fatalf("bridge without a session: %d %q, want the sign-in page keeping return=%s", rec.Code, loc, bridge)
	}
	page := ev.Do(t, http.MethodGet, loc.String(), nil)
	wantLink := "/saml/okta/login?" + url.Values{"return": {bridge}}.Encode()
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), strings.ReplaceAll(wantLink, "&", "&amp;")) {
		t.Fatalf("sign-in page does not link %s:\n%s", wantLink, page.Body)
	}
	code, back := signInAt(t, ev, wantLink, "id-a")
	if code != http.StatusSeeOther || back != bridge {
		t.Fatalf("after sign-in: %d %q, want 303 to %s", code, back, bridge)
	}
	rec = ev.Do(t, http.MethodGet, back, nil)
	q := atApp(t, rec.Code, rec.Header().Get("Location"))
	claims := exchange(t, ev, q.Get("code"))
	if claims["sub"] != "okta:alice" || claims["nonce"] != "n-1" || claims["aud"] == nil {
		t.Errorf("ID token claims %v", claims)
	}
	roles, _ := claims["aws_roles"].([]any)
	if len(roles) == 0 || !strings.Contains(func() string { b, _ := json.Marshal(roles); return string(b) }(), webtest.DevRole) {
		t.Errorf("aws_roles %v, want alice's %s", claims["aws_roles"], webtest.DevRole)
	}
}

// TestBridgeSSO: a portal session completes the request at once (no IdP).
func TestBridgeSSO(t *testing.T) {
	ev, _ := newEnv(t)
	ev.SignIn(t)
	signIns := count(ev, "signin")
	if signIns == 0 {
		t.Fatal("the sign-in was not audited as signin")
	}
	rec := ev.Do(t, http.MethodGet, authorize(t, ev, "web", nil), nil)
	q := atApp(t, rec.Code, rec.Header().Get("Location"))
	if q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("no code: %v", q)
	}
	if count(ev, "signin") != signIns {
		t.Error("the person signed in again")
	}
	if claims := exchange(t, ev, q.Get("code")); claims["sub"] != "okta:alice" {
		t.Errorf("sub %v", claims["sub"])
	}
	if !auditHas(ev, "app_signin", "success") {
		t.Errorf("app sign-in not audited: %+v", ev.Audit.Events)
	}
}

// TestBridgeFreshSignIn: prompt=login (and max_age=0) with a session sends
// the person to their IdP with fresh=1 (ForceAuthn), then completes.
func TestBridgeFreshSignIn(t *testing.T) {
	for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"0"}}} {
		ev, _ := newEnv(t)
		ev.SignIn(t)
		bridge := authorize(t, ev, "web", extra)
		rec := ev.Do(t, http.MethodGet, bridge, nil)
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if rec.Code != http.StatusFound || loc.Path != "/saml/okta/login" || loc.Query().Get("fresh") != "1" || loc.Query().Get("return") != bridge {
			t.Fatalf("%v: bridge %d %q, want the IdP login with fresh=1 and the return", extra, rec.Code, loc)
		}
		ev.SP.LastLogin.ForceAuthn = false
		code, back := signInAt(t, ev, loc.String(), "id-a")
		if !ev.SP.LastLogin.ForceAuthn {
			t.Errorf("%v: the AuthnRequest did not ask for ForceAuthn", extra)
		}
		if code != http.StatusSeeOther || back != bridge {
			t.Fatalf("%v: after sign-in %d %q", extra, code, back)
		}
		rec = ev.Do(t, http.MethodGet, back, nil)
		if q := atApp(t, rec.Code, rec.Header().Get("Location")); q.Get("code") == "" {
			t.Fatalf("%v: no code after the fresh sign-in: %v", extra, q)
		}
	}
	// Not signed in: the sign-in page carries fresh=1 to the login links.
	ev, _ := newEnv(t)
	rec := ev.Do(t, http.MethodGet, authorize(t, ev, "web", url.Values{"prompt": {"login"}}), nil)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if loc.Path != "/" || loc.Query().Get("fresh") != "1" {
		t.Fatalf("not signed in, prompt=login: %q", loc)
	}
	if page := ev.Do(t, http.MethodGet, loc.String(), nil).Body.String(); !strings.Contains(page, "fresh=1") {
		t.Errorf("sign-in page dropped fresh=1:\n%s", page)
	}
}

// TestBridgeIdPIgnoresForceAuthn: the person went back to their IdP for
// prompt=login and the IdP answered with its old session (AuthnInstant
// hours before the request): the app gets login_required, not a code and
// not another round trip (which would loop); the ID token's auth_time is
// the IdP's own instant when it honours the request.
func TestBridgeIdPIgnoresForceAuthn(t *testing.T) {
	ev, _ := newEnv(t)
	ev.SignIn(t)
	bridge := authorize(t, ev, "web", url.Values{"prompt": {"login"}})
	rec := ev.Do(t, http.MethodGet, bridge, nil)
	loc := rec.Header().Get("Location")
	ev.SP.Result.Identity.AuthnInstant = time.Now().Add(-3 * time.Hour)
	if code, back := signInAt(t, ev, loc, "id-a"); code != http.StatusSeeOther || back != bridge {
		t.Fatalf("after sign-in %d %q", code, back)
	}
	rec = ev.Do(t, http.MethodGet, bridge, nil)
	q := atApp(t, rec.Code, rec.Header().Get("Location"))
	if q.Get("error") != "login_required" || q.Get("code") != "" || !strings.Contains(q.Get("error_description"), "did not ask") {
		t.Fatalf("an IdP that ignored ForceAuthn: %v, want login_required", q)
	}

	// An IdP that does authenticate afresh: a code, and auth_time is its instant.
	bridge = authorize(t, ev, "web", url.Values{"prompt": {"login"}})
	rec = ev.Do(t, http.MethodGet, bridge, nil)
	idpAuth := time.Now().Add(-20 * time.Second).Truncate(time.Second)
	ev.SP.Result.Identity.AuthnInstant = idpAuth
	signInAt(t, ev, rec.Header().Get("Location"), "id-b")
	rec = ev.Do(t, http.MethodGet, bridge, nil)
	q = atApp(t, rec.Code, rec.Header().Get("Location"))
	claims := exchange(t, ev, q.Get("code"))
	if at, _ := claims["auth_time"].(float64); int64(at) != idpAuth.Unix() {
		t.Errorf("auth_time %v, want the IdP's %d", claims["auth_time"], idpAuth.Unix())
	}
}

// TestBridgePromptNone: nobody signed in ─> login_required to the app.
func TestBridgePromptNone(t *testing.T) {
	ev, _ := newEnv(t)
	rec := ev.Do(t, http.MethodGet, authorize(t, ev, "web", url.Values{"prompt": {"none"}}), nil)
	if q := atApp(t, rec.Code, rec.Header().Get("Location")); q.Get("error") != "login_required" || q.Get("code") != "" {
		t.Fatalf("prompt=none: %v", q)
	}
}

// TestBridgeWhenRefuses: the app's condition refuses alice (not in ops):
// access_denied back to the app, audited.
func TestBridgeWhenRefuses(t *testing.T) {
	ev, _ := newEnv(t)
	ev.SignIn(t)
	bridge := authorize(t, ev, "ops", nil)
	rec := ev.Do(t, http.MethodGet, bridge, nil)
	if q := atApp(t, rec.Code, rec.Header().Get("Location")); q.Get("error") != "access_denied" || q.Get("code") != "" || !strings.Contains(q.Get("error_description"), "Ops console") {
		t.Fatalf("refused person: %v", q)
	}
	if !auditHas(ev, "app_signin", "failure") {
		t.Errorf("refusal not audited: %+v", ev.Audit.Events)
	}
	// The request is over.
	if rec := ev.Do(t, http.MethodGet, bridge, nil); rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" {
		t.Errorf("a denied request again: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

// TestBridgeSubjectLength: the sub an app gets is PROVIDER:SUBJECT; one
// of 255 bytes (OpenID Connect's limit) or with non-ASCII letters is sent
// as it is, and a person whose sub would be 256 bytes is refused with
// access_denied and a message that says why, audited; no code is issued.
func TestBridgeSubjectLength(t *testing.T) {
	signedInAs := func(subject string) *webtest.Env {
		ev, _ := newEnv(t)
		ev.SP.Result.Identity.Subject = subject
		ev.SignIn(t)
		return ev
	}
	for _, subject := range []string{strings.Repeat("s", 255-len("okta:")), "jürgen.müller@example.de"} {
		ev := signedInAs(subject)
		rec := ev.Do(t, http.MethodGet, authorize(t, ev, "web", nil), nil)
		q := atApp(t, rec.Code, rec.Header().Get("Location"))
		if q.Get("code") == "" {
			t.Fatalf("subject of %d bytes: %v, want a code", len(subject), q)
		}
		if claims := exchange(t, ev, q.Get("code")); claims["sub"] != "okta:"+subject {
			t.Errorf("sub %q, want %q", claims["sub"], "okta:"+subject)
		}
	}

	ev := signedInAs(strings.Repeat("s", 256-len("okta:")))
	rec := ev.Do(t, http.MethodGet, authorize(t, ev, "web", nil), nil)
	q := atApp(t, rec.Code, rec.Header().Get("Location"))
	if q.Get("error") != "access_denied" || q.Get("code") != "" || !strings.Contains(q.Get("error_description"), "too long for apps") ||
		!strings.Contains(q.Get("error_description"), "256 bytes") {
		t.Fatalf("a 256-byte sub: %v, want access_denied saying why", q)
	}
	var refused bool
	for _, e := range ev.Audit.Events {
		refused = refused || e.Event == "app_signin" && e.Result == store.ResultFailure && e.Reason == apps.ReasonSubjectTooLong
	}
	if !refused || auditHas(ev, "app_signin", "success") {
		t.Errorf("refusal not audited as %s: %+v", apps.ReasonSubjectTooLong, ev.Audit.Events)
	}
}

// TestBridgeBadIDs: an unknown, missing, expired or used id gets an error
// page, never a redirect; the OP's callback is not reachable from outside.
func TestBridgeBadIDs(t *testing.T) {
	ev, clk := newEnv(t)
	ev.SignIn(t)
	noRedirect := func(name, target string) {
		t.Helper()
		rec := ev.Do(t, http.MethodGet, target, nil)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "sign in again") {
			t.Errorf("%s: %d %q, want the 404 error page\n%s", name, rec.Code, rec.Header().Get("Location"), rec.Body)
		}
	}
	noRedirect("unknown id", webapps.LoginPath+"?id=nope")
	noRedirect("no id", webapps.LoginPath)
	noRedirect("huge id", webapps.LoginPath+"?id="+strings.Repeat("x", 5000))
	noRedirect("https id", webapps.LoginPath+"?id="+url.QueryEscape("https://evil.example/"))

	// The callback, even with a live, completed request's id.
	bridge := authorize(t, ev, "web", nil)
	id := strings.TrimPrefix(bridge, webapps.LoginPath+"?id=")
	noRedirect("callback from outside", apps.PathCallback+"?id="+id)
	rec := ev.Do(t, http.MethodGet, bridge, nil)
	q := atApp(t, rec.Code, rec.Header().Get("Location"))
	noRedirect("callback after completion", apps.PathCallback+"?id="+id)
	exchange(t, ev, q.Get("code"))
	noRedirect("used id", bridge)

	expired := authorize(t, ev, "web", nil)
	clk.add(11 * time.Minute)
	noRedirect("expired id", expired)

	// An unregistered redirect URI never gets a redirect either.
	rec = ev.Do(t, http.MethodGet, "/oauth/authorize?"+url.Values{"client_id": {"web"}, "redirect_uri": {"https://evil.example/cb"},
		"response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}.Encode(), nil)
	if l := rec.Header().Get("Location"); strings.Contains(l, "evil.example") || strings.HasPrefix(l, webapps.LoginPath) {
		t.Errorf("unregistered redirect_uri: %d %q", rec.Code, l)
	}
}

// TestDiscoveryIsOneDocument: the site's discovery is the issuer's for IAM
// (issuer, jwks_uri) with the OP's endpoints.
func TestDiscoveryIsOneDocument(t *testing.T) {
	ev, _ := newEnv(t)
	key := signingKey()
	iss, err := issuer.NewOIDC(issuer.OIDCConfig{Issuer: base, Signing: key})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ev.Config
	cfg.OIDCDiscovery, cfg.OIDCJWKS = cfg.Apps.(*apps.Provider).Discovery(iss.Discovery), iss.JWKS
	ev.Rebuild(t, cfg)
	rec := ev.Do(t, http.MethodGet, "/.well-known/openid-configuration", nil)
	var d map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("discovery: %d %v", rec.Code, err)
	}
	if d["issuer"] != base || d["jwks_uri"] != base+"/idp/oidc/jwks" || d["authorization_endpoint"] != base+"/oauth/authorize" || d["token_endpoint"] != base+"/oauth/token" {
		t.Errorf("discovery %v", d)
	}
}

func auditHas(ev *webtest.Env, event, result string) bool {
	for _, e := range ev.Audit.Events {
		if e.Event == event && string(e.Result) == result {
			return true
		}
	}
	return false
}

func count(ev *webtest.Env, event string) int {
	n := 0
	for _, e := range ev.Audit.Events {
		if e.Event == event {
			n++
		}
	}
	return n
}
