package devidp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/oidc"
)

const cbURL = "https://broker.example.com/oidc/demo/callback"

func newOP(t *testing.T, clients ...Client) (*OP, *httptest.Server) {
	t.Helper()
	var op *OP
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { op.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if len(clients) == 0 {
		clients = []Client{{ID: "broker", Secret: "s3cret", RedirectURIs: []string{cbURL}}}
	}
	var err error
	op, err = NewOP(OPConfig{BaseURL: srv.URL, Users: []User{alice}, Clients: clients, RefreshTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	return op, srv
}

// authorize runs the browser part: authorization request, login form,
// redirect back with a code (the callback URL is not fetched).
func authorize(t *testing.T, c *http.Client, authURL string, login bool) url.Values {
	t.Helper()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, body := get(t, c, authURL)
	if login {
		key := reqField.FindStringSubmatch(body)[1]
		resp, _ = post(t, c, strings.TrimSuffix(authURL[:strings.Index(authURL, "/authorize")], "/")+"/login",
			url.Values{"req": {key}, "username": {"alice"}, "password": {"correct horse"}})
	}
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), cbURL) {
		t.Fatalf("no redirect to the callback: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	return u.Query()
}

func rp(t *testing.T, issuer string, edit func(*oidc.Config)) *oidc.Provider {
	t.Helper()
	cfg := oidc.Config{ID: "demo", Issuer: issuer, ClientID: "broker", ClientSecret: "s3cret", RedirectURL: cbURL, OfflineAccess: true, UseUserinfo: true}
	if edit != nil {
		edit(&cfg)
	}
	p, err := oidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOPCodeFlowWithPKCEAndRefresh(t *testing.T) {
	_, srv := newOP(t)
	ctx := context.Background()
	p := rp(t, srv.URL, nil)
	verifier := oidc.NewVerifier()
	authURL, err := p.AuthURL(ctx, oidc.AuthRequest{State: "state-1", Nonce: "nonce-1", Verifier: verifier})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	q := authorize(t, c, authURL, true)
	if q.Get("state") != "state-1" || q.Get("iss") != srv.URL {
		t.Fatalf("callback %v", q)
	}
	res, err := p.Exchange(ctx, q.Get("code"), verifier, "nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity.Subject != SubjectOf("alice") || res.Identity.First("realm_access.roles") != "eng" || res.Identity.First("department") != "platform" || res.RefreshToken == "" {
		t.Fatalf("identity %+v refresh %q", res.Identity, res.RefreshToken)
	}
	// Refresh rotates the refresh token and keeps the subject.
	r2, err := p.Refresh(ctx, res.RefreshToken, SubjectOf("alice"))
	if err != nil || r2.RefreshToken == res.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := p.Refresh(ctx, res.RefreshToken, SubjectOf("alice")); err == nil {
		t.Error("a rotated-out refresh token still works")
	}
	// The code works once, and presenting it again revokes its tokens.
	if _, err := p.Exchange(ctx, q.Get("code"), verifier, "nonce-1"); err == nil {
		t.Error("a used code was accepted again")
	}
	if _, err := p.Refresh(ctx, r2.RefreshToken, SubjectOf("alice")); err == nil {
		t.Error("tokens of a replayed code were not revoked")
	}
	// The verifier must match the challenge.
	q = authorize(t, c, mustAuth(t, p, "state-2", "nonce-2", oidc.NewVerifier(), ""), false) // SSO session: no form
	if _, err := p.Exchange(ctx, q.Get("code"), oidc.NewVerifier(), "nonce-2"); err == nil {
		t.Error("a wrong PKCE verifier was accepted")
	}
}

func mustAuth(t *testing.T, p *oidc.Provider, state, nonce, verifier, prompt string) string {
	t.Helper()
	u, err := p.AuthURL(context.Background(), oidc.AuthRequest{State: state, Nonce: nonce, Verifier: verifier, Prompt: prompt})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOPAuthorizeErrors(t *testing.T) {
	_, srv := newOP(t, Client{ID: "broker", Secret: "s3cret", RedirectURIs: []string{cbURL}}, Client{ID: "spa", RedirectURIs: []string{cbURL}})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := srv.URL + "/authorize?"
	good := url.Values{"client_id": {"broker"}, "redirect_uri": {cbURL}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return base + q.Encode()
	}
	for name, tc := range map[string]struct {
		url     string
		status  int
		errCode string
	}{
		"unknown client":             {with("client_id", "nope"), http.StatusBadRequest, ""},
		"unregistered redirect":      {with("redirect_uri", "https://evil.example.com/cb"), http.StatusBadRequest, ""},
		"implicit flow":              {with("response_type", "token"), http.StatusFound, "unsupported_response_type"},
		"no openid scope":            {with("scope", "email"), http.StatusFound, "invalid_scope"},
		"plain PKCE":                 {with("code_challenge_method", "plain") + "&code_challenge=" + strings.Repeat("a", 43), http.StatusFound, "invalid_request"},
		"public client, no PKCE":     {strings.Replace(with("state", "s"), "client_id=broker", "client_id=spa", 1), http.StatusFound, "invalid_request"},
		"prompt=none, not signed in": {with("prompt", "none"), http.StatusFound, "login_required"},
	} {
		resp, _ := get(t, c, tc.url)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, tc.status)
			continue
		}
		if tc.errCode != "" {
			u, _ := url.Parse(resp.Header.Get("Location"))
			if u.Query().Get("error") != tc.errCode || u.Query().Get("state") != "s" {
				t.Errorf("%s: redirect %s", name, resp.Header.Get("Location"))
			}
		}
	}
}

func TestOPTokenEndpointAuth(t *testing.T) {
	_, srv := newOP(t)
	for name, req := range map[string]func() *http.Request{
		"wrong secret": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader("grant_type=authorization_code&code=x&redirect_uri="+url.QueryEscape(cbURL)))
			r.SetBasicAuth("broker", "nope")
			return r
		},
		"secret in the body for a basic client": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader("grant_type=authorization_code&client_id=broker&client_secret=s3cret"))
			return r
		},
	} {
		r := req()
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("%s: %d %v", name, resp.StatusCode, body)
		}
	}
	// Userinfo needs a valid bearer token.
	resp, err := (&http.Client{}).Do(func() *http.Request {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+"/userinfo", nil)
		r.Header.Set("Authorization", "Bearer forged")
		return r
	}())
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with a forged token: %v %v", err, resp.StatusCode)
	}
}
