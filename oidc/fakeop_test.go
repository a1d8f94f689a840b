package oidc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fakeOP is an OpenID Provider whose every answer the test controls.
type fakeOP struct {
	srv       *httptest.Server
	mu        sync.Mutex
	issuer    string                    // issuer in discovery ("" = the server URL)
	keys      []*rsa.PrivateKey         // published in the JWKS
	idToken   func(nonce string) string // what the token endpoint returns
	refresh   string
	userinfo  map[string]any
	discovery map[string]any // extra discovery members (end_session_endpoint, ...)
	tokenResp map[string]any // extra token response members (refresh_expires_in, ...)
	jwksHits  atomic.Int32
	tokenForm chan map[string][]string
}

func newFakeOP(t *testing.T) *fakeOP {
	t.Helper()
	f := &fakeOP{keys: []*rsa.PrivateKey{genKey(t)}, tokenForm: make(chan map[string][]string, 10)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func genKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func kid(k *rsa.PrivateKey) string {
	tp, _ := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	return base64.RawURLEncoding.EncodeToString(tp)
}

func (f *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		iss := f.issuer
		if iss == "" {
			iss = f.srv.URL
		}
		md := map[string]any{"issuer": iss, "authorization_endpoint": f.srv.URL + "/authorize",
			"token_endpoint": f.srv.URL + "/token", "userinfo_endpoint": f.srv.URL + "/userinfo", "jwks_uri": f.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}}
		for k, v := range f.discovery {
			md[k] = v
		}
		json.NewEncoder(w).Encode(md)
	case "/jwks":
		f.jwksHits.Add(1)
		var set jose.JSONWebKeySet
		for _, k := range f.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid(k), Algorithm: "RS256", Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	case "/token":
		_ = r.ParseForm()
		form := map[string][]string(r.PostForm)
		if u, p, ok := r.BasicAuth(); ok {
			form["basic"] = []string{u, p}
		}
		f.tokenForm <- form
		resp := map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "id_token": f.idToken(r.PostForm.Get("code"))}
		if f.refresh != "" {
			resp["refresh_token"] = f.refresh
		}
		for k, v := range f.tokenResp {
			resp[k] = v
		}
		json.NewEncoder(w).Encode(resp)
	case "/userinfo":
		json.NewEncoder(w).Encode(f.userinfo)
	default:
		http.NotFound(w, r)
	}
}

// sign makes a compact JWS of claims with key k (kid set unless noKid).
func sign(t testing.TB, k *rsa.PrivateKey, claims map[string]any, noKid bool) string {
	t.Helper()
	jwk := jose.JSONWebKey{Key: k, KeyID: kid(k)}
	if noKid {
		jwk.KeyID = ""
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// unsigned is an alg "none" token.
func unsigned(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	b, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + "."
}

// hmacWithPublicKey signs HS256 with the RSA public key (PEM) as the
// secret: the classic key-confusion attack.
func hmacWithPublicKey(t *testing.T, k *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid(k)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, _ := s.Sign(b)
	out, _ := jws.CompactSerialize()
	return out
}

func (f *fakeOP) standardClaims(nonce string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": f.srv.URL, "sub": "bob", "aud": "broker", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"nonce": nonce, "email": "bob@example.com", "groups": []string{"eng", "ops"},
		"realm_access": map[string]any{"roles": []string{"admin"}}, "https://example.com/claims/team": "platform"}
}
