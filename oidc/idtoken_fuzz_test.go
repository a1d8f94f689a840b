package oidc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker"
)

// How FuzzIDToken turns its input into the ID token the fake OP returns.
const (
	tokSigned       = iota // the payload signed by the OP's published key
	tokForeignKey          // signed by a key the OP does not publish, with the OP key's kid
	tokAlgNone             // alg "none"
	tokHMACConfused        // HS256 keyed with the OP's public key (key confusion)
	tokRaw                 // the raw string as it is
	tokModes
)

// fuzzNow is the relying party's clock in FuzzIDToken.
var fuzzNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// FuzzIDToken drives the whole ID token path (token endpoint, go-oidc
// verification against the fake OP's JWKS, our claim checks, Flatten) with
// a fuzzed payload or token. Invariants: no panic; a refusal is a
// *broker.Error with a code, a reason and a message; only a token whose
// signature verifies under the OP's published key is accepted, never a
// foreign-key, alg-none or HMAC-confused one; an accepted identity carries
// exactly the verified payload's sub, issuer and flattened claims, and the
// payload's aud, nonce and exp satisfy the checks.
func FuzzIDToken(f *testing.F) {
	opKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	op := &fakeOP{keys: []*rsa.PrivateKey{opKey}, tokenForm: make(chan map[string][]string, 10)}
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	f.Cleanup(op.srv.Close)
	var current string // the id_token the token endpoint returns, under op.mu
	op.idToken = func(string) string { return current }
	p, err := New(Config{ID: "op", Issuer: op.srv.URL, ClientID: "broker", ClientSecret: "s3cret",
		RedirectURL: "https://broker.example.com/oidc/op/callback", Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}

	// Seeds: payloads relative to the fixed clock; the issuer is a
	// placeholder, as the OP's URL changes every run.
	iat, exp := fuzzNow.Unix(), fuzzNow.Add(time.Hour).Unix()
	base := map[string]any{"iss": "ISSUER", "sub": "bob", "aud": "broker", "iat": iat, "exp": exp, "nonce": "n-1",
		"email": "bob@example.com", "groups": []string{"eng", "ops"}, "realm_access": map[string]any{"roles": []string{"admin"}},
		"https://example.com/claims/team": "platform"}
	seed := func(edit func(map[string]any)) []byte {
		c := map[string]any{}
		for k, v := range base {
			c[k] = v
		}
		if edit != nil {
			edit(c)
		}
		b, _ := json.Marshal(c)
		return b
	}
	for _, payload := range [][]byte{
		seed(nil),
		seed(func(c map[string]any) { c["aud"], c["azp"] = []string{"broker", "other"}, "broker" }),
		seed(func(c map[string]any) { c["aud"] = []string{"broker", "other"} }),
		seed(func(c map[string]any) { c["azp"] = "other" }),
		seed(func(c map[string]any) { c["exp"] = fuzzNow.Add(-time.Hour).Unix() }),
		seed(func(c map[string]any) { c["iat"] = fuzzNow.Add(time.Hour).Unix() }),
		seed(func(c map[string]any) { delete(c, "iat") }),
		seed(func(c map[string]any) { delete(c, "sub") }),
		seed(func(c map[string]any) { c["nonce"] = "other" }),
		seed(func(c map[string]any) { c["iss"] = "https://evil.example.com" }),
		seed(func(c map[string]any) { c["auth_time"] = iat - 60; c["nbf"] = iat }),
		seed(func(c map[string]any) { c["sid"], c["amr"], c["acr"] = "sid-1", []string{"pwd", "otp"}, "1" }),
		seed(func(c map[string]any) { c["mfa"], c["acr"] = "true", "https://refeds.org/profile/sfa" }),
		seed(func(c map[string]any) { c["sid"] = 7 }),
		seed(func(c map[string]any) {
			c["deep"] = map[string]any{"a": map[string]any{"b": []any{true, nil, "x", map[string]any{"c": "d"}}}}
		}),
		[]byte(`{"iss":"ISSUER","sub":"bob","aud":"broker","iat":` + jsonInt(iat) + `,"exp":` + jsonInt(exp) + `,"nonce":"n-1","n":1.5,"big":12345678901234567890}`),
		[]byte(`{"sub":`),
	} {
		for mode := uint8(0); mode < tokModes; mode++ {
			raw := ""
			if mode == tokRaw {
				raw = "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
			}
			f.Add(mode, payload, raw)
		}
	}

	f.Fuzz(func(t *testing.T, mode uint8, payload []byte, raw string) {
		payload = []byte(strings.ReplaceAll(string(payload), "ISSUER", op.srv.URL))
		mode %= tokModes
		var tok string
		switch mode {
		case tokSigned:
			tok = signJWS(t, jose.RS256, opKey, kid(opKey), payload)
		case tokForeignKey:
			tok = signJWS(t, jose.RS256, otherKey, kid(opKey), payload)
		case tokAlgNone:
			tok = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
		case tokHMACConfused:
			der, _ := x509.MarshalPKIXPublicKey(&opKey.PublicKey)
			tok = signJWS(t, jose.HS256, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), kid(opKey), payload)
		case tokRaw:
			tok = raw
		}
		op.mu.Lock()
		current = tok
		op.mu.Unlock()
		res, err := p.Exchange(context.Background(), "code", "verifier", "n-1")
		for len(op.tokenForm) > 0 {
			<-op.tokenForm
		}
		if err != nil {
			e, ok := err.(*broker.Error)
			if !ok || res != nil || e.Code == "" || e.Code == broker.EINTERNAL || e.Reason == "" || e.Message == "" {
				t.Fatalf("refusal is %T %#v (result %v)", err, err, res != nil)
			}
			return
		}
		if mode != tokSigned && mode != tokRaw {
			t.Fatalf("mode %d token accepted: %+v", mode, res.Identity)
		}
		checkAccepted(t, res, &opKey.PublicKey, op.srv.URL)
	})
}

// checkAccepted verifies the accepted token again with go-jose alone and
// compares the identity with its payload.
func checkAccepted(t *testing.T, res *Result, pub *rsa.PublicKey, issuer string) {
	t.Helper()
	jws, err := jose.ParseSigned(res.IDToken, joseAlgorithms())
	if err != nil {
		t.Fatalf("accepted a token that does not parse as a JWS: %v", err)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("accepted a token whose signature does not verify under the OP's key: %v", err)
	}
	var c struct {
		Iss   string          `json:"iss"`
		Sub   string          `json:"sub"`
		Aud   json.RawMessage `json:"aud"`
		Nonce string          `json:"nonce"`
		Exp   any             `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("accepted payload %q: %v", payload, err)
	}
	var auds []string
	if json.Unmarshal(c.Aud, &auds) != nil {
		var one string
		_ = json.Unmarshal(c.Aud, &one)
		auds = []string{one}
	}
	id := res.Identity
	switch {
	case c.Iss != issuer || id.Issuer != c.Iss:
		t.Fatalf("issuer %q accepted (identity %q), OP is %q", c.Iss, id.Issuer, issuer)
	case c.Sub == "" || id.Subject != c.Sub:
		t.Fatalf("subject %q, payload sub %q", id.Subject, c.Sub)
	case !contains(auds, "broker"):
		t.Fatalf("audience %s accepted", c.Aud)
	case c.Nonce != "n-1":
		t.Fatalf("nonce %q accepted", c.Nonce)
	case !fuzzNow.Before(res.Expires.Add(time.Minute)) || !res.Expires.Equal(id.Expires):
		t.Fatalf("expired token accepted: exp %v (%s)", c.Exp, res.Expires)
	case id.Provider != "op" || id.Protocol != broker.ProtocolOIDC:
		t.Fatalf("identity %+v", id)
	}
	// Numbers keep their JSON text (json.Number), as in the simulator.
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		t.Fatal(err)
	}
	want := Flatten(claims)
	want[broker.AttrProvider] = []string{"op"}
	// mfa is the broker's verdict on acr and amr, whatever the payload
	// says under that name.
	mfa := broker.AssertedMFA(&broker.Identity{Attributes: want}, broker.DefaultOIDCMFAValues)
	want[broker.AttrMFA] = []string{strconv.FormatBool(mfa)}
	if id.MFA != mfa {
		t.Fatalf("MFA %v, acr/amr of the payload say %v", id.MFA, mfa)
	}
	if sid, _ := claims["sid"].(string); id.SessionIndex != sid {
		t.Fatalf("SessionIndex %q, sid claim %v", id.SessionIndex, claims["sid"])
	}
	if !reflect.DeepEqual(id.Attributes, want) {
		t.Fatalf("attributes %v, payload flattens to %v", id.Attributes, want)
	}
}

// joseAlgorithms is DefaultSigningAlgorithms as go-jose types.
func joseAlgorithms() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(DefaultSigningAlgorithms))
	for i, a := range DefaultSigningAlgorithms {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// signJWS signs payload as a compact JWS with typ JWT and kid.
func signJWS(t *testing.T, alg jose.SignatureAlgorithm, key any, keyID string, payload []byte) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", keyID))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
