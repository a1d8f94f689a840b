package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker"
)

// FuzzLogoutToken drives VerifyLogoutToken (go-oidc's signature, iss and
// aud checks against the fake OP's JWKS, then ours) with a fuzzed payload
// or raw token. Invariants: no panic; a refusal is a *broker.Error with a
// code, a reason and a message; only a token whose signature verifies
// under the OP's published key is accepted, never a foreign-key, alg-none
// or HMAC-confused one; an accepted token's payload has the OP's iss, our
// client id in aud, a jti, the back-channel logout event as an object,
// sub or sid, no nonce, and an exp (or iat) that the clock allows; the
// LogoutToken carries exactly its sub, sid and jti.
func FuzzLogoutToken(f *testing.F) {
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
	p, err := New(Config{ID: "op", Issuer: op.srv.URL, ClientID: "broker", ClientSecret: "s3cret",
		RedirectURL: "https://broker.example.com/oidc/op/callback", Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}

	iat, exp := fuzzNow.Unix(), fuzzNow.Add(2*time.Minute).Unix()
	base := map[string]any{"iss": "ISSUER", "aud": "broker", "iat": iat, "exp": exp, "jti": "j-1", "sub": "bob", "sid": "s-1",
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}}}
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
		seed(func(c map[string]any) { delete(c, "sub") }),
		seed(func(c map[string]any) { delete(c, "sid"); delete(c, "exp") }),
		seed(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") }),
		seed(func(c map[string]any) { c["nonce"] = "n" }),
		seed(func(c map[string]any) { c["nonce"] = nil }),
		seed(func(c map[string]any) { c["events"] = map[string]any{BackchannelLogoutEvent: []any{}} }),
		seed(func(c map[string]any) { c["events"] = "x" }),
		seed(func(c map[string]any) { delete(c, "jti") }),
		seed(func(c map[string]any) { c["exp"] = iat - 600 }),
		seed(func(c map[string]any) { c["iat"] = iat + 3600 }),
		seed(func(c map[string]any) { c["aud"] = []string{"x", "broker"} }),
		seed(func(c map[string]any) { c["iss"] = "https://evil.example.com" }),
		[]byte(`{"iss":"ISSUER","aud":"broker","iat":1e400,"jti":"j","sub":"b","events":{"` + BackchannelLogoutEvent + `":{}}}`),
		[]byte(`{"iss":"ISSUER","aud":"broker","iat":` + jsonInt(iat) + `,"exp":null,"jti":"j","sid":"s","events":{"` + BackchannelLogoutEvent + `":{"a":1}}}`),
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
			tok = signLogoutJWS(t, jose.RS256, opKey, kid(opKey), payload)
		case tokForeignKey:
			tok = signLogoutJWS(t, jose.RS256, otherKey, kid(opKey), payload)
		case tokAlgNone:
			tok = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"logout+jwt"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
		case tokHMACConfused:
			der, _ := x509.MarshalPKIXPublicKey(&opKey.PublicKey)
			tok = signLogoutJWS(t, jose.HS256, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), kid(opKey), payload)
		case tokRaw:
			tok = raw
		}
		lt, err := p.VerifyLogoutToken(context.Background(), tok)
		if err != nil {
			e, ok := err.(*broker.Error)
			if !ok || lt != nil || e.Code == "" || e.Code == broker.EINTERNAL || e.Reason == "" || e.Message == "" {
				t.Fatalf("refusal is %T %#v (token %v)", err, err, lt != nil)
			}
			return
		}
		if mode != tokSigned && mode != tokRaw {
			t.Fatalf("mode %d token accepted: %+v", mode, lt)
		}
		checkAcceptedLogout(t, tok, lt, &opKey.PublicKey, op.srv.URL)
	})
}

// checkAcceptedLogout verifies the accepted token again with go-jose
// alone and checks its payload against the spec.
func checkAcceptedLogout(t *testing.T, tok string, lt *LogoutToken, pub *rsa.PublicKey, issuer string) {
	t.Helper()
	jws, err := jose.ParseSigned(tok, joseAlgorithms())
	if err != nil {
		t.Fatalf("accepted a token that does not parse as a JWS: %v", err)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("accepted a token whose signature does not verify under the OP's key: %v", err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("accepted payload %q: %v", payload, err)
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(c[k], &s)
		return s
	}
	var auds []string
	if json.Unmarshal(c["aud"], &auds) != nil {
		auds = []string{str("aud")}
	}
	var events map[string]json.RawMessage
	_ = json.Unmarshal(c["events"], &events)
	_, hasNonce := c["nonce"]
	switch {
	case str("iss") != issuer:
		t.Fatalf("issuer %s accepted", c["iss"])
	case !contains(auds, "broker"):
		t.Fatalf("audience %s accepted", c["aud"])
	case hasNonce:
		t.Fatalf("a token with a nonce accepted: %s", payload)
	case !isJSONObject(events[BackchannelLogoutEvent]):
		t.Fatalf("events %s accepted", c["events"])
	case lt.JTI == "" || lt.JTI != str("jti"):
		t.Fatalf("jti %q, payload %s", lt.JTI, c["jti"])
	case lt.Subject != str("sub") || lt.SID != str("sid") || lt.Subject == "" && lt.SID == "":
		t.Fatalf("sub/sid %q/%q, payload %s/%s", lt.Subject, lt.SID, c["sub"], c["sid"])
	case !fuzzNow.Before(lt.Expires.Add(time.Minute)) || lt.IssuedAt.After(fuzzNow.Add(time.Minute)):
		t.Fatalf("token outside its time accepted: iat %s exp %s", lt.IssuedAt, lt.Expires)
	}
}

// signLogoutJWS signs payload as a compact JWS with typ logout+jwt and kid.
func signLogoutJWS(t *testing.T, alg jose.SignatureAlgorithm, key any, keyID string, payload []byte) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("logout+jwt").WithHeader("kid", keyID))
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
