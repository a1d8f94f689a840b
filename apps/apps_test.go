package apps_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

type rules struct{}

func (rules) Decide(id *broker.Identity) mapping.Decision {
	return mapping.Decision{Grants: []broker.Grant{{AccountID: "111122223333", AccountLabel: "prod", RoleARN: "arn:aws:iam::111122223333:role/Admin", Label: "Admin"}}}
}

type audit struct {
	mu     sync.Mutex
	events []store.AuditEvent
}

func (a *audit) Audit(_ context.Context, ev *store.AuditEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, *ev)
}

func (a *audit) count(event string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Event == event {
			n++
		}
	}
	return n
}

type env struct {
	st    *sqlstore.DB
	clock *clock
	srv   *httptest.Server
	p     *apps.Provider
	audit *audit
	// person signs in at the fake login bridge.
	person *broker.Identity
}

// clock is a settable clock for the provider and the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: time.Now()}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: ":memory:", Keys: [][]byte{make([]byte, 32)}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, clock: clk, audit: &audit{}, person: &broker.Identity{Provider: "okta", Subject: "alice",
		Attributes: map[string][]string{"email": {"alice@example.com"}, "name": {"Alice"}, "groups": {"dev", "ops"}}}}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	who, _ := mapping.CompileMatcher("apps.clients[0].when", mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}}, nil)
	iss, err := issuer.NewOIDC(issuer.OIDCConfig{Issuer: e.srv.URL, Signing: key})
	if err != nil {
		t.Fatal(err)
	}
	e.p, err = apps.New(apps.Config{
		Issuer: e.srv.URL, Signing: key, KeyID: issuer.KeyID(&key.PublicKey), Store: st, Rules: rules{}, Audit: e.audit,
		LoginPath: "/apps/login", CodeKey: make([]byte, 32), Now: clk.now,
		Clients: []apps.Client{
			{ID: "web", Name: "Web", SecretHash: apps.HashSecret("s3cret"), RedirectURIs: []string{"http://127.0.0.1:9999/callback"},
				Scopes: apps.KnownScopes, When: who},
			{ID: "cli", Name: "CLI", RedirectURIs: []string{"http://127.0.0.1/callback"}, Scopes: []string{"openid", "email"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/oauth/", e.p.Handler())
	disc := e.p.Discovery(iss.Discovery)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		b, err := disc()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.HandleFunc("/idp/oidc/jwks", func(w http.ResponseWriter, r *http.Request) {
		b, _ := iss.JWKS()
		w.Write(b)
	})
	// The login bridge, reduced: the person is signed in.
	mux.HandleFunc("/apps/login", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		next, err := e.p.Complete(r.Context(), id, e.person, e.p.Now(), apps.Meta{})
		if broker.ErrorCode(err) == broker.EFORBIDDEN {
			e.p.Deny(w, r, id, "not allowed")
			return
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		http.Redirect(w, r, next, http.StatusFound)
	})
	return e
}

// authorize runs the browser part and returns the redirect to the app.
func (e *env) authorize(t *testing.T, authURL string) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != strings.TrimPrefix(e.srv.URL, "http://") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize: status %d, want a redirect to the app", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) oauth(id, secret string, redirect string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/oauth/authorize", TokenURL: e.srv.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
}

func TestCodeFlowWithGoOIDC(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prov, err := gooidc.NewProvider(ctx, e.srv.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var d map[string]any
	if err := prov.Claims(&d); err != nil {
		t.Fatal(err)
	}
	if d["jwks_uri"] != e.srv.URL+"/idp/oidc/jwks" || d["token_endpoint"] != e.srv.URL+"/oauth/token" || d["introspection_endpoint"] != e.srv.URL+"/oauth/introspect" {
		t.Fatalf("discovery: %v", d)
	}
	if m, _ := d["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
		t.Fatalf("code_challenge_methods_supported %v", d["code_challenge_methods_supported"])
	}
	conf := e.oauth("web", "s3cret", "http://127.0.0.1:9999/callback", "openid", "email", "profile", "groups", "offline_access", "aws:roles")
	conf.Endpoint = prov.Endpoint()
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	verifier := oauth2.GenerateVerifier()
	const state = "st-é &x=1"
	back := e.authorize(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-123")))
	if got := back.Query().Get("state"); got != state {
		t.Fatalf("state %q, want %q untouched", got, state)
	}
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %s", back)
	}
	// A wrong verifier is refused, and so is a wrong client secret, a
	// missing one and an unknown client; none of them uses the code up:
	// the app can still exchange it the right way.
	var rerr *oauth2.RetrieveError
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption("wrong-"+verifier)); !errors.As(err, &rerr) || rerr.ErrorCode != "invalid_grant" {
		t.Fatalf("a wrong PKCE verifier: %v, want invalid_grant", err)
	}
	for _, bad := range []struct{ id, secret string }{{"web", "nope"}, {"web", ""}, {"nobody", "s3cret"}} {
		b := *conf
		b.ClientID, b.ClientSecret = bad.id, bad.secret
		if _, err := b.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !errors.As(err, &rerr) || rerr.ErrorCode != "invalid_client" {
			t.Fatalf("client %q secret %q: %v, want invalid_client", bad.id, bad.secret, err)
		}
	}
	if e.audit.count("app_code_replayed") != 0 {
		t.Fatal("a failed exchange counted as a redemption")
	}
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&gooidc.Config{ClientID: "web", SupportedSigningAlgs: []string{"RS256"}}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Sub    string      `json:"sub"`
		Email  string      `json:"email"`
		Name   string      `json:"name"`
		Nonce  string      `json:"nonce"`
		Groups []string    `json:"groups"`
		Roles  []apps.Role `json:"aws_roles"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != "okta:alice" || claims.Email != "alice@example.com" || claims.Name != "Alice" || claims.Nonce != "n-123" ||
		len(claims.Groups) != 2 || len(claims.Roles) != 1 || claims.Roles[0].RoleARN != "arn:aws:iam::111122223333:role/Admin" || claims.Roles[0].AccountLabel != "prod" {
		t.Fatalf("claims %+v", claims)
	}
	// The code is single use: a replay is refused and revokes its tokens.
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a replayed code was accepted")
	}
	if _, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo works with an access token whose code was replayed")
	}
	if e.audit.count("app_code_replayed") != 1 {
		t.Fatal("code replay not audited")
	}

	// A fresh grant: userinfo, refresh rotation, reuse detection.
	back = e.authorize(t, conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)))
	tok, err = conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != "okta:alice" || ui.Email != "alice@example.com" {
		t.Fatalf("userinfo %+v %v", ui, err)
	}
	if !e.introspect(t, tok.AccessToken) {
		t.Fatal("introspection: a live token is inactive")
	}
	old := tok.RefreshToken
	tok.Expiry = tok.Expiry.Add(-24 * 3600e9)
	tok2, err := conf.TokenSource(ctx, tok).Token()
	if err != nil || tok2.RefreshToken == "" || tok2.RefreshToken == old {
		t.Fatalf("refresh: %v (rotated: %v)", err, tok2 != nil && tok2.RefreshToken != old)
	}
	reuse := &oauth2.Token{RefreshToken: old}
	if _, err := conf.TokenSource(ctx, reuse).Token(); err == nil {
		t.Fatal("a rotated refresh token was accepted")
	}
	tok2.Expiry = tok2.Expiry.Add(-24 * 3600e9)
	if _, err := conf.TokenSource(ctx, tok2).Token(); err == nil {
		t.Fatal("the newest refresh token still works after its family was revoked")
	}
	if e.introspect(t, tok2.AccessToken) {
		t.Fatal("an access token of a revoked grant is active")
	}
	if e.audit.count("app_refresh_reused") == 0 || e.audit.count("app_token_issued") < 3 {
		t.Fatalf("audit: %+v", e.audit.events)
	}

	// Revocation (RFC 7009) of an access token.
	back = e.authorize(t, conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(verifier)))
	tok, err = conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", err, resp)
	}
	resp.Body.Close()
	if _, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo works with a revoked access token")
	}
}

func (e *env) introspect(t *testing.T, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Active bool   `json:"active"`
		Sub    string `json:"sub"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Active && out.Sub != "okta:alice" {
		t.Fatalf("introspection sub %q", out.Sub)
	}
	return out.Active
}

// rawAuthorize returns the status and Location of GET /oauth/authorize?q.
func (e *env) rawAuthorize(t *testing.T, q url.Values) (int, *url.URL) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.srv.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return resp.StatusCode, loc
}

func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t)
	base := func(client, redirect string) url.Values {
		return url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
	}
	// Redirect URI: a prefix, another path or another port of a
	// confidential client is refused without a redirect.
	for _, ru := range []string{"http://127.0.0.1:9999/callback/x", "http://127.0.0.1:9999/call", "http://127.0.0.1:9998/callback", "https://evil.example/callback"} {
		code, loc := e.rawAuthorize(t, base("web", ru))
		if code < 400 || (loc != nil && loc.Host != "") {
			t.Errorf("redirect_uri %s: status %d location %v, want an error page, no redirect", ru, code, loc)
		}
	}
	// A public client: loopback on any port, PKCE required, S256 only.
	q := base("cli", "http://127.0.0.1:51234/callback")
	if _, loc := e.rawAuthorize(t, q); loc.Query().Get("error") != "invalid_request" || loc.Host != "127.0.0.1:51234" {
		t.Errorf("public client without PKCE: %v", loc)
	}
	q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
	q.Set("code_challenge_method", "plain")
	if _, loc := e.rawAuthorize(t, q); loc.Query().Get("error") != "invalid_request" {
		t.Errorf("plain PKCE: %v", loc)
	}
	q.Set("code_challenge_method", "S256")
	if code, loc := e.rawAuthorize(t, q); code != http.StatusFound || !strings.HasPrefix(loc.String(), "/apps/login?id=") {
		t.Errorf("public client with S256: %d %v", code, loc)
	}
	// No implicit or hybrid flow.
	q = base("web", "http://127.0.0.1:9999/callback")
	q.Set("response_type", "id_token token")
	q.Set("nonce", "n")
	if code, loc := e.rawAuthorize(t, q); strings.Contains(loc.String(), "token=") || strings.Contains(loc.String(), "/apps/login") || (code < 400 && loc.Query().Get("error") == "") {
		t.Errorf("implicit flow: %d %v", code, loc)
	}
	// The client's condition refuses bob: access_denied back to the app, audited.
	e.person = &broker.Identity{Provider: "okta", Subject: "bob", Attributes: map[string][]string{"groups": {"sales"}}}
	back := e.authorize(t, e.oauth("web", "s3cret", "http://127.0.0.1:9999/callback", "openid").AuthCodeURL("st"))
	if back.Query().Get("error") != "access_denied" || back.Query().Get("state") != "st" {
		t.Errorf("refused person: %v", back)
	}
	if e.audit.count("app_signin") != 1 {
		t.Errorf("refusal not audited: %+v", e.audit.events)
	}
}

// TestRefreshTokenLifetimeIsAbsolute: rotation does not extend a grant:
// its refresh tokens end RefreshTokenLifetime (8h) after the first one.
func TestRefreshTokenLifetimeIsAbsolute(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conf := e.oauth("web", "s3cret", "http://127.0.0.1:9999/callback", "openid", "offline_access")
	verifier := oauth2.GenerateVerifier()
	back := e.authorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v", err)
	}
	refresh := func(rt string) (*oauth2.Token, error) {
		return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}
	e.clock.add(5 * time.Hour)
	tok2, err := refresh(tok.RefreshToken)
	if err != nil || tok2.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh after 5h: %v", err)
	}
	// 9h after the first token, 4h after the rotation: a sliding lifetime
	// would still accept it; the grant has ended.
	e.clock.add(4 * time.Hour)
	if _, err := refresh(tok2.RefreshToken); err == nil {
		t.Fatal("a rotated refresh token outlived the grant's lifetime")
	}
}

// TestRevokeRefreshToken: revoking a refresh token (RFC 7009) ends its
// whole grant: the refresh token and the access tokens issued with it.
func TestRevokeRefreshToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conf := e.oauth("web", "s3cret", "http://127.0.0.1:9999/callback", "openid", "email", "offline_access")
	verifier := oauth2.GenerateVerifier()
	back := e.authorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v", err)
	}
	revoke := func(user, pass, token string) int {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Another client cannot revoke it (and it stays live).
	if code := revoke("cli", "", tok.RefreshToken); code == http.StatusOK {
		t.Fatalf("another client revoked the token: %d", code)
	}
	if !e.introspect(t, tok.AccessToken) {
		t.Fatal("a refused revocation ended the grant")
	}
	if code := revoke("web", "s3cret", tok.RefreshToken); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("a revoked refresh token still works")
	}
	if e.introspect(t, tok.AccessToken) {
		t.Fatal("the access token of a revoked refresh token is still active")
	}
	// Revoking it again, or an unknown token, is not an error (RFC 7009).
	if code := revoke("web", "s3cret", tok.RefreshToken); code != http.StatusOK {
		t.Fatalf("second revoke: %d", code)
	}
}

// TestFreshEnough: prompt=login and max_age against the sign-in time the
// broker verified and the IdP's own authentication instant.
func TestFreshEnough(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	zero, tenMin := time.Duration(0), 10*time.Minute
	var none time.Time
	for _, c := range []struct {
		name          string
		r             apps.Request
		verified, idp time.Time
		want, ignored bool
	}{
		{"plain, old sign-in", apps.Request{CreatedAt: t0}, t0.Add(-5 * time.Hour), none, true, false},
		{"never signed in", apps.Request{CreatedAt: t0}, none, none, false, false},
		{"prompt=login, earlier sign-in", apps.Request{CreatedAt: t0, PromptLogin: true}, t0.Add(-time.Second), none, false, false},
		{"prompt=login, sign-in after the request", apps.Request{CreatedAt: t0, PromptLogin: true}, t0.Add(time.Minute), none, true, false},
		{"prompt=login, IdP authenticated afresh", apps.Request{CreatedAt: t0, PromptLogin: true}, t0.Add(time.Minute), t0.Add(50 * time.Second), true, false},
		{"prompt=login, IdP clock a minute behind", apps.Request{CreatedAt: t0, PromptLogin: true}, t0.Add(time.Minute), t0.Add(-time.Minute), true, false},
		{"prompt=login, IdP reused a 3h-old session", apps.Request{CreatedAt: t0, PromptLogin: true}, t0.Add(time.Minute), t0.Add(-3 * time.Hour), false, true},
		{"max_age=10m, 5m old", apps.Request{CreatedAt: t0, MaxAge: &tenMin}, t0.Add(-5 * time.Minute), none, true, false},
		{"max_age=10m, 20m old", apps.Request{CreatedAt: t0, MaxAge: &tenMin}, t0.Add(-20 * time.Minute), none, false, false},
		{"max_age=10m, verified 5m ago but IdP sign-in 20m old", apps.Request{CreatedAt: t0, MaxAge: &tenMin}, t0.Add(-5 * time.Minute), t0.Add(-20 * time.Minute), false, false},
		{"max_age=10m, after the request, IdP session 1h old", apps.Request{CreatedAt: t0, MaxAge: &tenMin}, t0.Add(time.Minute), t0.Add(-time.Hour), false, true},
		{"max_age=0, earlier sign-in", apps.Request{CreatedAt: t0, MaxAge: &zero}, t0.Add(-time.Second), none, false, false},
		{"max_age=0, sign-in after the request", apps.Request{CreatedAt: t0, MaxAge: &zero}, t0.Add(time.Minute), none, true, false},
		{"max_age=0, IdP authenticated afresh", apps.Request{CreatedAt: t0, MaxAge: &zero}, t0.Add(time.Minute), t0.Add(55 * time.Second), true, false},
	} {
		now := t0.Add(2 * time.Minute)
		if got := c.r.FreshEnough(c.verified, c.idp, now); got != c.want {
			t.Errorf("%s: FreshEnough %v, want %v", c.name, got, c.want)
		}
		if got := c.r.IdPIgnoredFresh(c.verified, c.idp, now); got != c.ignored {
			t.Errorf("%s: IdPIgnoredFresh %v, want %v", c.name, got, c.ignored)
		}
	}
	if got := apps.AuthTime(t0, t0.Add(-time.Hour)); !got.Equal(t0.Add(-time.Hour)) {
		t.Errorf("AuthTime takes the IdP's earlier instant: %v", got)
	}
	if got := apps.AuthTime(t0, t0.Add(time.Hour)); !got.Equal(t0) {
		t.Errorf("AuthTime is never later than the verification: %v", got)
	}
}
