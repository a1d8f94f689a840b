package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
)

// rp is an app that signs people in with the broker, written as any Go
// app would be: go-oidc (discovery, ID token verification against the
// broker's JWKS) and x/oauth2 (code flow with PKCE).
type rp struct {
	srv  *httptest.Server
	prov *gooidc.Provider
	conf *oauth2.Config

	mu      sync.Mutex
	pending map[string][2]string // state -> verifier, nonce
	// signed in: the last sign-in's tokens and ID token claims, or its error.
	tok    *oauth2.Token
	claims idClaims
	err    error
}

type idClaims struct {
	Sub    string   `json:"sub"`
	Email  string   `json:"email"`
	Name   string   `json:"name"`
	Nonce  string   `json:"nonce"`
	Groups []string `json:"groups"`
	Roles  []struct {
		Account string `json:"account"`
		RoleARN string `json:"role_arn"`
	} `json:"aws_roles"`
}

// startRP registers the RP's callback (a free port) with the demo-app
// client and starts the stack.
func startRP(t *testing.T) (*devstack.Stack, *rp) {
	t.Helper()
	a := &rp{pending: map[string][2]string{}}
	mux := http.NewServeMux()
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	st := startStackWith(t, devstack.Options{Configure: func(c *config.Config) {
		for i := range c.Apps.Clients {
			if c.Apps.Clients[i].ID == devstack.DemoAppID {
				c.Apps.Clients[i].RedirectURIs = append(c.Apps.Clients[i].RedirectURIs, a.srv.URL+"/callback")
			}
		}
	}})
	prov, err := gooidc.NewProvider(context.Background(), st.BrokerURL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	a.prov = prov
	a.conf = &oauth2.Config{ClientID: devstack.DemoAppID, ClientSecret: st.DemoAppSecret, Endpoint: prov.Endpoint(),
		RedirectURL: a.srv.URL + "/callback", Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "groups", "offline_access", "aws:roles"}}
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		state, verifier, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		a.mu.Lock()
		a.pending[state] = [2]string{verifier, nonce}
		a.mu.Unlock()
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)}
		if p := r.URL.Query().Get("prompt"); p != "" {
			opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
		}
		http.Redirect(w, r, a.conf.AuthCodeURL(state, opts...), http.StatusFound)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.tok, a.claims, a.err = nil, idClaims{}, nil
		p, ok := a.pending[r.URL.Query().Get("state")]
		delete(a.pending, r.URL.Query().Get("state"))
		switch {
		case !ok:
			a.err = errors.New("unknown state")
		case r.URL.Query().Get("error") != "":
			a.err = fmt.Errorf("%s: %s", r.URL.Query().Get("error"), r.URL.Query().Get("error_description"))
		default:
			a.tok, a.err = a.conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(p[0]))
		}
		if a.err == nil {
			raw, _ := a.tok.Extra("id_token").(string)
			var idt *gooidc.IDToken
			if idt, a.err = prov.Verifier(&gooidc.Config{ClientID: devstack.DemoAppID}).Verify(r.Context(), raw); a.err == nil {
				a.err = idt.Claims(&a.claims)
			}
			if a.err == nil && a.claims.Nonce != p[1] {
				a.err = errors.New("nonce mismatch")
			}
		}
		if a.err != nil {
			http.Error(w, a.err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "signed in as %s", a.claims.Sub)
	})
	return st, a
}

func (a *rp) result(t *testing.T, p *page) (*oauth2.Token, idClaims) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL.String(), a.srv.URL+"/callback") || a.err != nil {
		t.Fatalf("app sign-in: %d at %s: %v\n%s", p.Status, p.URL, a.err, clip(p.Body))
	}
	return a.tok, a.claims
}

func visitedIdP(b *browser, st *devstack.Stack) bool {
	for _, h := range b.hops {
		if strings.HasPrefix(h.URL, st.IDPURL) || strings.HasPrefix(h.Location, st.IDPURL) {
			return true
		}
	}
	return false
}

// TestAppSignsInThroughBroker: an app (the demo-app client) signs alice in
// through the broker and the demo IdP and gets a verified ID token with her
// groups and granted roles; userinfo; refresh rotation and reuse
// detection; a second sign-in reuses the portal session; prompt=login goes
// back to the IdP; the discovery document still serves IAM.
func TestAppSignsInThroughBroker(t *testing.T) {
	st, app := startRP(t)
	ctx := context.Background()
	b := newBrowser(t)

	// Not signed in: the broker's sign-in page, keeping where to return.
	signin := b.get(app.srv.URL + "/login")
	if signin.Status != http.StatusOK || !strings.HasPrefix(signin.URL.String(), st.BrokerURL+"/?") {
		t.Fatalf("expected the broker's sign-in page, got %d at %s", signin.Status, signin.URL)
	}
	var login string
	for _, href := range signin.all("href") {
		if strings.HasPrefix(href, "/saml/demo/login?") && strings.Contains(href, "return=") {
			login = href
		}
	}
	if login == "" {
		t.Fatalf("sign-in page has no demo IdP login with the return: %v", signin.all("href"))
	}
	p := loginAtIdP(t, b, st, b.get(st.BrokerURL+login), "alice")
	tok, claims := app.result(t, p)
	if !strings.HasPrefix(claims.Sub, "demo:") || claims.Email != "alice@example.com" || claims.Name != "Alice Admin" ||
		!strings.Contains(strings.Join(claims.Groups, ","), "engineering") {
		t.Errorf("ID token claims %+v", claims)
	}
	roles := map[string]bool{}
	for _, r := range claims.Roles {
		roles[r.RoleARN] = true
	}
	for _, want := range []string{sandboxDeveloper, "arn:aws:iam::" + devstack.SandboxAccount + ":role/Admin"} {
		if !roles[want] {
			t.Errorf("aws_roles %+v lacks %s", claims.Roles, want)
		}
	}
	if roles["arn:aws:iam::"+devstack.ProductionAccount+":role/Billing"] {
		t.Errorf("aws_roles has a role alice is not granted: %+v", claims.Roles)
	}

	ui, err := app.prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != claims.Sub || ui.Email != "alice@example.com" {
		t.Errorf("userinfo %+v %v", ui, err)
	}

	// Refresh: rotation, then the old token again revokes the family.
	old := *tok
	old.Expiry = old.Expiry.Add(-24 * 3600e9)
	tok2, err := app.conf.TokenSource(ctx, &old).Token()
	if err != nil || tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("a rotated refresh token was accepted")
	}
	if _, err := app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); err == nil {
		t.Fatal("the newest refresh token still works after a reuse revoked its family")
	}

	// A second sign-in to the app: the portal session answers, no IdP.
	p = b.get(app.srv.URL + "/login")
	if _, c2 := app.result(t, p); c2.Sub != claims.Sub {
		t.Errorf("second sign-in as %q", c2.Sub)
	}
	if visitedIdP(b, st) {
		t.Errorf("the second sign-in visited the IdP: %+v", b.hops)
	}

	// prompt=login: back to the IdP's login form, then to the app.
	form := b.get(app.srv.URL + "/login?prompt=login")
	if !strings.HasPrefix(form.URL.String(), st.IDPURL) {
		t.Fatalf("prompt=login did not reach the IdP: %d at %s", form.Status, form.URL)
	}
	if _, c3 := app.result(t, loginAtIdP(t, b, st, form, "alice")); c3.Sub != claims.Sub {
		t.Errorf("fresh sign-in as %q", c3.Sub)
	}

	// One discovery document, still what IAM reads.
	var d map[string]any
	if err := app.prov.Claims(&d); err != nil {
		t.Fatal(err)
	}
	if d["issuer"] != st.BrokerURL || d["jwks_uri"] != st.BrokerURL+"/idp/oidc/jwks" || d["token_endpoint"] != st.BrokerURL+"/oauth/token" {
		b, _ := json.Marshal(d)
		t.Errorf("discovery %s", b)
	}
}

// TestAppGetsCredentials: an app whose access token has aws:credentials
// gets STS credentials for a role the rules give alice (from the local
// AWS, which checks the broker's assertion as AWS would), is refused a
// role she lacks and a pass-through one, and a token without the scope or
// a revoked one gets nothing. Each attempt is audited for the app.
func TestAppGetsCredentials(t *testing.T) {
	st, app := startRP(t)
	app.conf.Scopes = append(app.conf.Scopes, "aws:credentials")
	b := newBrowser(t)
	signin := b.get(app.srv.URL + "/login")
	var login string
	for _, href := range signin.all("href") {
		if strings.HasPrefix(href, "/saml/demo/login?") && strings.Contains(href, "return=") {
			login = href
		}
	}
	tok, _ := app.result(t, loginAtIdP(t, b, st, b.get(st.BrokerURL+login), "alice"))

	call := func(token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, st.BrokerURL+"/api/v1/credentials", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		return res.StatusCode, out
	}

	status, out := call(tok.AccessToken, `{"account": "sandbox", "role": "Developer", "duration": "30m"}`)
	if status != http.StatusOK || out["role_arn"] != sandboxDeveloper || out["access_key_id"] == "" || out["session_token"] == "" {
		t.Fatalf("credentials for a granted role: %d %v", status, out)
	}
	for _, tc := range []struct {
		body   string
		status int
		reason string
	}{
		{`{"account": "production", "role": "Billing"}`, http.StatusForbidden, "role_not_granted"},
		{`{"account": "sandbox", "role": "Developer", "duration": "13h"}`, http.StatusBadRequest, "duration_invalid"},
		{`{"account": "sandbox"}`, http.StatusBadRequest, "role_missing"},
		{`{"account": "sandbox", "role": "Developer", "extra": 1}`, http.StatusBadRequest, "json_invalid"},
	} {
		if status, out := call(tok.AccessToken, tc.body); status != tc.status || out["reason"] != tc.reason {
			t.Errorf("%s: %d %v, want %d %s", tc.body, status, out, tc.status, tc.reason)
		}
	}
	if status, out := call("", `{"account": "sandbox", "role": "Developer"}`); status != http.StatusUnauthorized {
		t.Errorf("no token: %d %v", status, out)
	}
	if status, out := call(tok.AccessToken+"x", `{"account": "sandbox", "role": "Developer"}`); status != http.StatusUnauthorized {
		t.Errorf("altered token: %d %v", status, out)
	}

	// A token without aws:credentials (the app did not ask for it).
	app.conf.Scopes = app.conf.Scopes[:len(app.conf.Scopes)-1]
	tok2, _ := app.result(t, b.get(app.srv.URL+"/login"))
	if status, out := call(tok2.AccessToken, `{"account": "sandbox", "role": "Developer"}`); status != http.StatusForbidden || out["reason"] != "access_token_scope" {
		t.Errorf("token without aws:credentials: %d %v", status, out)
	}

	events, err := st.App.Store.ListAudit(context.Background(), store.AuditFilter{Event: "credentials_issued"})
	if err != nil {
		t.Fatal(err)
	}
	var ok, refused int
	for _, e := range events {
		if e.Details["client"] != devstack.DemoAppID {
			t.Errorf("credentials audited without the app: %+v", e)
		}
		if e.Result == "success" {
			ok++
		} else {
			refused++
		}
	}
	// The role not granted and the duration are refused by the use case
	// (audited); a malformed request never reaches it.
	if ok != 1 || refused != 2 {
		t.Errorf("audit: %d issued, %d refused; want 1 and 2", ok, refused)
	}
}
