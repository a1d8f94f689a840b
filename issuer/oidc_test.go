package issuer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker"
)

// oidcServer publishes an issuer's discovery and JWKS like the broker does.
func oidcServer(t *testing.T, mk func(issuer string) *OIDC) (*OIDC, *httptest.Server) {
	t.Helper()
	var o *OIDC
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b []byte
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			b, _ = o.Discovery()
		case "/idp/oidc/jwks":
			b, _ = o.JWKS()
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	o = mk(srv.URL)
	return o, srv
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMintVerifiesWithGoOIDC(t *testing.T) {
	key := rsaKey(t)
	o, srv := oidcServer(t, func(iss string) *OIDC {
		o, err := NewOIDC(OIDCConfig{Issuer: iss, Signing: key})
		if err != nil {
			t.Fatal(err)
		}
		return o
	})
	ctx := context.Background()
	tok, err := o.Mint(ctx, OIDCRequest{Subject: "okta:alice", Audience: "sts.amazonaws.com", PrincipalTags: map[string]string{"team": "platform"},
		TransitiveTagKeys: []string{"team"}, SourceIdentity: "alice", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(ctx, srv.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "sts.amazonaws.com"}).Verify(ctx, tok.Token)
	if err != nil {
		t.Fatalf("go-oidc refused the token: %v", err)
	}
	var claims struct {
		Tags struct {
			PrincipalTags map[string][]string `json:"principal_tags"`
			Transitive    []string            `json:"transitive_tag_keys"`
		} `json:"https://aws.amazon.com/tags"`
		SourceIdentity string `json:"https://aws.amazon.com/source_identity"`
		IAT            int64  `json:"iat"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "okta:alice" || claims.Tags.PrincipalTags["team"][0] != "platform" || claims.Tags.Transitive[0] != "team" || claims.SourceIdentity != "alice" || claims.IAT == 0 {
		t.Errorf("claims %+v sub %q", claims, idt.Subject)
	}
	if d := time.Until(idt.Expiry); d > 5*time.Minute || d < 4*time.Minute {
		t.Errorf("token lives %s", d)
	}
	if _, err := p.Verifier(&oidc.Config{ClientID: "other"}).Verify(ctx, tok.Token); err == nil {
		t.Error("token accepted for another audience")
	}
}

func TestJWKSRotation(t *testing.T) {
	old, cur := rsaKey(t), rsaKey(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := now
	o, err := NewOIDC(OIDCConfig{Issuer: "https://broker.example.com", Signing: cur, TokenLifetime: 5 * time.Minute,
		Previous: []RetiredKey{{Public: &old.PublicKey, RetiredAt: now}}, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	kids := func() []string {
		b, _ := o.JWKS()
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(b, &set); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range set.Keys {
			if k.IsPublic() != true || k.Use != "sig" {
				t.Errorf("JWKS key %s is not a public signing key", k.KeyID)
			}
			out = append(out, k.KeyID)
		}
		return out
	}
	if got := kids(); len(got) != 2 || got[0] != KeyID(&cur.PublicKey) || got[1] != KeyID(&old.PublicKey) {
		t.Fatalf("during overlap: %v", got)
	}
	clock = now.Add(5*time.Minute + time.Second)
	if got := kids(); len(got) != 1 {
		t.Fatalf("retired key still published after its tokens expired: %v", got)
	}
	tok, _ := o.Mint(context.Background(), OIDCRequest{Subject: "a", Audience: "b"})
	jws, err := jose.ParseSigned(tok.Token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || jws.Signatures[0].Header.KeyID != KeyID(&cur.PublicKey) {
		t.Fatalf("token kid: %v", err)
	}
}

func TestMintRejects(t *testing.T) {
	o, err := NewOIDC(OIDCConfig{Issuer: "https://broker.example.com", Signing: rsaKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		req    OIDCRequest
		reason string
	}{
		"no subject":      {OIDCRequest{Audience: "a"}, "subject_invalid"},
		"no audience":     {OIDCRequest{Subject: "s"}, "audience_missing"},
		"bad tag":         {OIDCRequest{Subject: "s", Audience: "a", PrincipalTags: map[string]string{"aws:x": "y"}}, "tag_limit"},
		"transitive":      {OIDCRequest{Subject: "s", Audience: "a", TransitiveTagKeys: []string{"x"}}, "tag_limit"},
		"source identity": {OIDCRequest{Subject: "s", Audience: "a", SourceIdentity: "a b"}, "source_identity_invalid"},
	} {
		if _, err := o.Mint(context.Background(), tc.req); broker.ErrorReason(err) != tc.reason {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, cfg := range map[string]OIDCConfig{
		"relative issuer": {Issuer: "/x", Signing: rsaKey(t)},
		"no key":          {Issuer: "https://x"},
		"long lifetime":   {Issuer: "https://x", Signing: rsaKey(t), TokenLifetime: 2 * time.Hour},
	} {
		if _, err := NewOIDC(cfg); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	d, _ := o.Discovery()
	if !strings.Contains(string(d), `"jwks_uri": "https://broker.example.com/idp/oidc/jwks"`) {
		t.Errorf("discovery %s", d)
	}
}
