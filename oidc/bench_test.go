package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// realisticClaims are an ID token's claims as an OP like the demo one or
// Keycloak sends them: the registered claims, a session id, acr/amr,
// profile and email, 12 groups and realm roles (about 1 KB signed).
func realisticClaims(iss, nonce string) map[string]any {
	now := time.Now()
	groups := make([]string, 12)
	for i := range groups {
		groups[i] = fmt.Sprintf("team-%02d-engineering", i)
	}
	return map[string]any{"iss": iss, "sub": "user-alice", "aud": "broker", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"auth_time": now.Unix(), "nonce": nonce, "sid": "3f1a7c0e9d2b4c55a8e1", "acr": "urn:example:acr:password", "amr": []string{"pwd"},
		"preferred_username": "alice", "name": "Alice Example", "email": "alice@example.com", "email_verified": true,
		"groups": groups, "realm_access": map[string]any{"roles": []string{"admin", "offline_access", "uma_authorization"}}}
}

// benchOP is the fake OP with one 2048-bit key whose token endpoint
// answers every code with raw (signed once, so the OP's signing is not in
// the figures) and whose token requests are not kept.
func benchOP(b *testing.B) (*fakeOP, string) {
	b.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	f := &fakeOP{keys: []*rsa.PrivateKey{k}, tokenForm: make(chan map[string][]string, 1)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	b.Cleanup(f.srv.Close)
	done := make(chan struct{})
	b.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-f.tokenForm:
			case <-done:
				return
			}
		}
	}()
	raw := sign(b, k, realisticClaims(f.srv.URL, "n-1"), false)
	f.idToken = func(string) string { return raw }
	return f, raw
}

// BenchmarkIDTokenFloor is the floor of an OIDC callback's cost (issue
// 15): go-oidc's verification of a realistic RS256 ID token against a
// JWKS already fetched, and its claims decoded (the checks' claims and
// the claim map, as Exchange does):
//
//	go test ./oidc -run '^$' -bench IDTokenFloor -benchtime 3000x -cpu 1 -cpuprofile cpu.out
//	go tool pprof -tags cpu.out   # part=floor: CPU per op = its time / 3000
func BenchmarkIDTokenFloor(b *testing.B) {
	f, raw := benchOP(b)
	ctx := context.Background()
	op, err := gooidc.NewProvider(ctx, f.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	v := op.Verifier(&gooidc.Config{ClientID: "broker", SupportedSigningAlgs: []string{"RS256"}, SkipExpiryCheck: true})
	if _, err := v.Verify(ctx, raw); err != nil { // fetches the JWKS
		b.Fatal(err)
	}
	b.ReportAllocs()
	// The loop runs under the pprof label part=floor, as the portal's
	// BenchmarkOIDCCallback runs the callback under part=callback: the
	// same profile filter measures both (go tool pprof -tags).
	pprof.Do(ctx, pprof.Labels("part", "floor"), func(ctx context.Context) {
		for b.Loop() {
			idt, err := v.Verify(ctx, raw)
			if err != nil {
				b.Fatal(err)
			}
			var c idClaims
			if err := idt.Claims(&c); err != nil {
				b.Fatal(err)
			}
			if _, err := claimsOf(idt.Claims); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify is the Provider's whole check of a token response
// (verify: the floor, then the claim checks, Flatten, MFA, the session
// name), no userinfo, no network.
func BenchmarkVerify(b *testing.B) {
	f, raw := benchOP(b)
	p := benchRP(b, f)
	tok := (&oauth2.Token{AccessToken: "at-1"}).WithExtra(map[string]any{"id_token": raw})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.verify(ctx, tok, "n-1", "", exchangeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchange is Exchange against the in-process fake OP: the
// code redeemed over loopback HTTP (client_secret_basic) and the token
// verified. The OP's side of the request is in the figures too (a small
// JSON answer, no signing).
func BenchmarkExchange(b *testing.B) {
	f, _ := benchOP(b)
	p := benchRP(b, f)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Exchange(ctx, "code-1", "verifier-verifier-verifier-verifier-verifier-1", "n-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRP(b *testing.B, f *fakeOP) *Provider {
	b.Helper()
	p, err := New(Config{ID: "op", Issuer: f.srv.URL, ClientID: "broker", ClientSecret: "s3cret", RedirectURL: "https://broker.example.com/oidc/op/callback"})
	if err != nil {
		b.Fatal(err)
	}
	raw := f.idToken("")
	tok := (&oauth2.Token{AccessToken: "at-1"}).WithExtra(map[string]any{"id_token": raw})
	if _, err := p.discover(context.Background(), true); err != nil {
		b.Fatal(err)
	}
	if _, err := p.verify(context.Background(), tok, "n-1", "", exchangeOptions{}); err != nil { // fetches the JWKS
		b.Fatal(err)
	}
	return p
}
