package oidc

import (
	"context"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/broker-dev/broker"
)

func newRP(t *testing.T, f *fakeOP, edit func(*Config)) *Provider {
	t.Helper()
	cfg := Config{ID: "op", Issuer: f.srv.URL, ClientID: "broker", ClientSecret: "s3cret", RedirectURL: "https://broker.example.com/oidc/op/callback"}
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExchangeHappyPath(t *testing.T) {
	f := newFakeOP(t)
	f.idToken = func(string) string { return sign(t, f.keys[0], f.standardClaims("n-1"), false) }
	f.refresh = "rt-1"
	p := newRP(t, f, func(c *Config) { c.OfflineAccess = true })
	u, err := p.AuthURL(context.Background(), AuthRequest{State: "st-1", Nonce: "n-1", Verifier: "verifier-verifier-verifier-verifier-verifier-1", Prompt: "none"})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(u)
	v := q.Query()
	if v.Get("state") != "st-1" || v.Get("nonce") != "n-1" || v.Get("code_challenge_method") != "S256" || v.Get("code_challenge") == "" ||
		v.Get("prompt") != "none" || !strings.Contains(v.Get("scope"), "offline_access") || v.Get("redirect_uri") != "https://broker.example.com/oidc/op/callback" {
		t.Fatalf("auth URL %s", u)
	}
	res, err := p.Exchange(context.Background(), "code-1", "verifier-verifier-verifier-verifier-verifier-1", "n-1")
	if err != nil {
		t.Fatal(err)
	}
	form := <-f.tokenForm
	if form["basic"][0] != "broker" || form["basic"][1] != "s3cret" || form["code_verifier"][0] != "verifier-verifier-verifier-verifier-verifier-1" {
		t.Errorf("token request %v", form)
	}
	id := res.Identity
	if id.Subject != "bob" || id.Protocol != broker.ProtocolOIDC || id.RoleSessionName != "bob@example.com" || res.RefreshToken != "rt-1" {
		t.Errorf("identity %+v", id)
	}
	for attr, want := range map[string]string{"groups": "eng,ops", "realm_access.roles": "admin", "https://example.com/claims/team": "platform", "sub": "bob", "provider": "op"} {
		if got := strings.Join(id.Attributes[attr], ","); got != want {
			t.Errorf("attribute %s = %q, want %q", attr, got, want)
		}
	}
}

func TestClientAuthMethods(t *testing.T) {
	for _, tc := range []struct {
		method, secret string
		check          func(map[string][]string) bool
	}{
		{AuthPost, "s3cret", func(f map[string][]string) bool { return f["client_secret"] != nil && f["basic"] == nil }},
		{AuthNone, "", func(f map[string][]string) bool {
			return f["client_secret"] == nil && f["basic"] == nil && f["client_id"][0] == "broker"
		}},
	} {
		f := newFakeOP(t)
		f.idToken = func(string) string { return sign(t, f.keys[0], f.standardClaims("n"), false) }
		p := newRP(t, f, func(c *Config) { c.AuthMethod, c.ClientSecret = tc.method, tc.secret })
		if _, err := p.Exchange(context.Background(), "c", "v", "n"); err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		if form := <-f.tokenForm; !tc.check(form) {
			t.Errorf("%s: token request %v", tc.method, form)
		}
	}
}

// The relying-party checks of the OpenID Foundation's RP certification.
func TestRPCertificationChecks(t *testing.T) {
	type tc struct {
		name   string
		token  func(f *fakeOP) string
		setup  func(f *fakeOP, c *Config)
		code   string
		reason string
	}
	claims := func(f *fakeOP, edit func(map[string]any)) map[string]any {
		c := f.standardClaims("n-1")
		edit(c)
		return c
	}
	cases := []tc{
		{name: "wrong iss", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { c["iss"] = "https://evil.example.com" }), false)
		}, code: broker.EUNAUTHORIZED, reason: "issuer_mismatch"},
		{name: "missing sub", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { delete(c, "sub") }), false)
		},
			code: broker.EUNAUTHORIZED, reason: "sub_missing"},
		{name: "wrong aud", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { c["aud"] = "someone-else" }), false)
		},
			code: broker.EUNAUTHORIZED, reason: "audience_mismatch"},
		{name: "missing aud", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { delete(c, "aud") }), false)
		},
			code: broker.EUNAUTHORIZED, reason: "audience_mismatch"},
		{name: "several aud without azp", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { c["aud"] = []string{"broker", "other"} }), false)
		}, code: broker.EUNAUTHORIZED, reason: "azp_mismatch"},
		{name: "azp of another client", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { c["aud"], c["azp"] = []string{"broker", "other"}, "other" }), false)
		}, code: broker.EUNAUTHORIZED, reason: "azp_mismatch"},
		{name: "missing iat", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { delete(c, "iat") }), false)
		},
			code: broker.EUNAUTHORIZED, reason: "iat_missing"},
		{name: "iat in the future", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }), false)
		}, code: broker.EUNAUTHORIZED, reason: "issued_in_future"},
		{name: "expired", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			}), false)
		}, code: broker.EEXPIRED, reason: "token_expired"},
		{name: "bad RS256 signature", token: func(f *fakeOP) string {
			tok := sign(t, f.keys[0], f.standardClaims("n-1"), false)
			return tok[:len(tok)-6] + "AAAAAA"
		}, code: broker.EUNAUTHORIZED, reason: "signature_invalid"},
		{name: "signed by an unknown key", token: func(f *fakeOP) string { return sign(t, genKey(t), f.standardClaims("n-1"), false) },
			code: broker.EUNAUTHORIZED, reason: "signature_invalid"},
		{name: "alg none", token: func(f *fakeOP) string { return unsigned(f.standardClaims("n-1")) },
			code: broker.EUNAUTHORIZED, reason: "algorithm_not_allowed"},
		{name: "HS256 signed with the public key", token: func(f *fakeOP) string { return hmacWithPublicKey(t, f.keys[0], f.standardClaims("n-1")) },
			code: broker.EUNAUTHORIZED, reason: "algorithm_not_allowed"},
		{name: "nonce mismatch", token: func(f *fakeOP) string { return sign(t, f.keys[0], f.standardClaims("n-other"), false) },
			code: broker.EUNAUTHORIZED, reason: "nonce_mismatch"},
		{name: "nonce missing", token: func(f *fakeOP) string {
			return sign(t, f.keys[0], claims(f, func(c map[string]any) { delete(c, "nonce") }), false)
		},
			code: broker.EUNAUTHORIZED, reason: "nonce_mismatch"},
		{name: "kid absent, one key", token: func(f *fakeOP) string { return sign(t, f.keys[0], f.standardClaims("n-1"), true) }},
		{name: "kid absent, several keys", token: func(f *fakeOP) string { return sign(t, f.keys[1], f.standardClaims("n-1"), true) },
			setup: func(f *fakeOP, _ *Config) { f.keys = append(f.keys, genKey(t)) }},
		{name: "userinfo sub mismatch", token: func(f *fakeOP) string { return sign(t, f.keys[0], f.standardClaims("n-1"), false) },
			setup: func(f *fakeOP, c *Config) { c.UseUserinfo, f.userinfo = true, map[string]any{"sub": "mallory"} },
			code:  broker.EUNAUTHORIZED, reason: "userinfo_sub_mismatch"},
		{name: "userinfo merged", token: func(f *fakeOP) string { return sign(t, f.keys[0], f.standardClaims("n-1"), false) },
			setup: func(f *fakeOP, c *Config) {
				c.UseUserinfo, f.userinfo = true, map[string]any{"sub": "bob", "department": "R&D"}
			}},
		{name: "discovery issuer mismatch", token: func(f *fakeOP) string { return sign(t, f.keys[0], f.standardClaims("n-1"), false) },
			setup: func(f *fakeOP, _ *Config) { f.issuer = "https://not-the-configured-issuer.example.com" },
			code:  broker.EUNAVAILABLE, reason: "discovery_failed"},
		{name: "HS256 in the allow-list is refused at configuration", setup: func(f *fakeOP, c *Config) { c.SigningAlgorithms = []string{"HS256"} },
			code: "config", reason: "config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeOP(t)
			cfg := Config{ID: "op", Issuer: f.srv.URL, ClientID: "broker", ClientSecret: "s3cret", RedirectURL: "https://broker.example.com/cb"}
			if c.setup != nil {
				c.setup(f, &cfg)
			}
			p, err := New(cfg)
			if c.code == "config" {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f.idToken = func(string) string { return c.token(f) }
			res, err := p.Exchange(context.Background(), "code", "verifier", "n-1")
			if broker.ErrorCode(err) != c.code || broker.ErrorReason(err) != c.reason && c.code != "" {
				t.Fatalf("err = %v, want %s/%s", err, c.code, c.reason)
			}
			if c.name == "userinfo merged" && res.Identity.First("department") != "R&D" {
				t.Errorf("userinfo claims not merged: %v", res.Identity.Attributes)
			}
		})
	}
}

func TestKeyRotationRefetchesJWKS(t *testing.T) {
	f := newFakeOP(t)
	p := newRP(t, f, nil)
	f.idToken = func(string) string { return sign(t, f.keys[0], f.standardClaims("n-1"), false) }
	if _, err := p.Exchange(context.Background(), "c", "v", "n-1"); err != nil {
		t.Fatal(err)
	}
	before := f.jwksHits.Load()
	rotated := genKey(t)
	f.mu.Lock()
	f.keys = []*rsa.PrivateKey{rotated}
	f.mu.Unlock()
	f.idToken = func(string) string { return sign(t, rotated, f.standardClaims("n-1"), false) }
	if _, err := p.Exchange(context.Background(), "c", "v", "n-1"); err != nil {
		t.Fatalf("signing key rotated just before signing: %v", err)
	}
	if f.jwksHits.Load() != before+1 {
		t.Errorf("JWKS fetched %d more times, want 1 (refetch on unknown kid)", f.jwksHits.Load()-before)
	}
}

func TestRefresh(t *testing.T) {
	f := newFakeOP(t)
	p := newRP(t, f, func(c *Config) { c.OfflineAccess = true })
	f.refresh = "rt-2"
	f.idToken = func(string) string {
		c := f.standardClaims("")
		delete(c, "nonce")
		return sign(t, f.keys[0], c, false)
	}
	res, err := p.Refresh(context.Background(), "rt-1", "bob")
	if err != nil || res.RefreshToken != "rt-2" || res.Identity.Subject != "bob" {
		t.Fatalf("refresh: %v %+v", err, res)
	}
	if form := <-f.tokenForm; form["grant_type"][0] != "refresh_token" || form["refresh_token"][0] != "rt-1" {
		t.Errorf("refresh request %v", form)
	}
	if _, err := p.Refresh(context.Background(), "rt-1", "alice"); broker.ErrorReason(err) != "sub_changed" {
		t.Errorf("refresh for another subject: %v", err)
	}
}

func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	f := newFakeOP(t)
	var down atomic.Bool
	down.Store(true)
	srvURL := f.srv.URL
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		f.serve(w, r)
	})
	p := newRP(t, f, func(c *Config) { c.DiscoveryRetry = time.Millisecond })
	if p.Ready() == nil {
		t.Fatal("ready before discovery")
	}
	if _, err := p.AuthURL(context.Background(), AuthRequest{State: "s", Nonce: "n", Verifier: "v"}); broker.ErrorCode(err) != broker.EUNAVAILABLE {
		t.Fatalf("AuthURL with the OP down: %v", err)
	}
	if p.Ready() == nil || !strings.Contains(p.Ready().Error(), "discovery") {
		t.Fatalf("Ready does not say why: %v", p.Ready())
	}
	down.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.Run(ctx)
	if err := p.Ready(); err != nil {
		t.Fatalf("Run did not recover: %v", err)
	}
	if u, err := p.AuthURL(context.Background(), AuthRequest{State: "s", Nonce: "n", Verifier: "v"}); err != nil || !strings.HasPrefix(u, srvURL+"/authorize") {
		t.Fatalf("AuthURL after recovery: %v %s", err, u)
	}
}

func TestFlatten(t *testing.T) {
	got := Flatten(map[string]any{"a": "x", "n": 3.0, "b": true, "arr": []any{"1", 2.5, map[string]any{"k": "v"}},
		"nested": map[string]any{"deep": map[string]any{"roles": []any{"r1", "r2"}}}, "nil": nil})
	want := map[string]string{"a": "x", "n": "3", "b": "true", "arr": "1,2.5", "arr.k": "v", "nested.deep.roles": "r1,r2"}
	for k, v := range want {
		if strings.Join(got[k], ",") != v {
			t.Errorf("%s = %v, want %s", k, got[k], v)
		}
	}
	if _, ok := got["nil"]; ok {
		t.Error("null claim kept")
	}
}
