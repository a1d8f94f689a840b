package oidc

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker"
)

func TestEndSessionURL(t *testing.T) {
	f := newFakeOP(t)
	p := newRP(t, f, nil)
	if u, err := p.EndSessionURL(context.Background(), "idt", "https://broker.example.com/", "st"); u != "" || err != nil {
		t.Fatalf("an OP without end_session_endpoint: %q %v", u, err)
	}

	f = newFakeOP(t)
	f.discovery = map[string]any{"end_session_endpoint": f.srv.URL + "/logout?tenant=a", "backchannel_logout_supported": true,
		"backchannel_logout_session_supported": true}
	p = newRP(t, f, nil)
	u, err := p.EndSessionURL(context.Background(), "id.token.hint", "https://broker.example.com/signed-out", "st-1")
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	q := pu.Query()
	if pu.Scheme+"://"+pu.Host+pu.Path != f.srv.URL+"/logout" || q.Get("tenant") != "a" || q.Get("client_id") != "broker" ||
		q.Get("id_token_hint") != "id.token.hint" || q.Get("post_logout_redirect_uri") != "https://broker.example.com/signed-out" || q.Get("state") != "st-1" {
		t.Fatalf("end session URL %s", u)
	}
	if ls, err := p.Logout(context.Background()); err != nil || !ls.Backchannel || !ls.BackchannelSession || ls.EndSessionEndpoint != f.srv.URL+"/logout?tenant=a" {
		t.Errorf("Logout() = %+v, %v", ls, err)
	}
	// No hint, no redirect: client_id alone; state only goes with a redirect.
	u, _ = p.EndSessionURL(context.Background(), "", "", "st-1")
	if q := mustQuery(t, u); q.Get("client_id") != "broker" || q.Has("id_token_hint") || q.Has("post_logout_redirect_uri") || q.Has("state") {
		t.Errorf("bare end session URL %s", u)
	}

	// An end_session_endpoint the broker could not send a browser to fails discovery.
	f = newFakeOP(t)
	f.discovery = map[string]any{"end_session_endpoint": "javascript:alert(1)"}
	p = newRP(t, f, nil)
	if _, err := p.EndSessionURL(context.Background(), "", "", ""); broker.ErrorCode(err) != broker.EUNAVAILABLE {
		t.Errorf("bad end_session_endpoint: %v", err)
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Query()
}

// logoutClaimsFor are the claims of a valid logout token from f.
func logoutClaimsFor(f *fakeOP, now time.Time) map[string]any {
	return map[string]any{"iss": f.srv.URL, "aud": "broker", "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": "jti-1", "sub": "bob", "sid": "op-session-7", "events": map[string]any{BackchannelLogoutEvent: map[string]any{}}}
}

// signTyp signs claims with typ (omitted when "") and the key's kid.
func signTyp(t *testing.T, k *rsa.PrivateKey, typ string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader("kid", kid(k))
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, opts)
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

// OpenID Connect Back-Channel Logout 1.0, 2.6: every check, each refusal
// with its reason, and what a valid token gives.
func TestVerifyLogoutToken(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := newFakeOP(t)
	p := newRP(t, f, func(c *Config) { c.Now = func() time.Time { return now } })
	edit := func(e func(map[string]any)) map[string]any {
		c := logoutClaimsFor(f, now)
		e(c)
		return c
	}
	signed := func(c map[string]any) func() string {
		return func() string { return signTyp(t, f.keys[0], "logout+jwt", c) }
	}
	for _, tc := range []struct {
		name   string
		raw    func() string
		code   string
		reason string
	}{
		{"empty", func() string { return "" }, broker.EUNAUTHORIZED, ReasonLogoutTokenMissing},
		{"too large", func() string { return strings.Repeat("a", MaxLogoutTokenSize+1) }, broker.EUNAUTHORIZED, ReasonLogoutTokenTooLarge},
		{"garbage", func() string { return "not.a.jwt" }, broker.EUNAUTHORIZED, "signature_invalid"},
		{"bad signature", func() string {
			s := signTyp(t, f.keys[0], "logout+jwt", logoutClaimsFor(f, now))
			return s[:len(s)-6] + "AAAAAA"
		}, broker.EUNAUTHORIZED, "signature_invalid"},
		{"signed by a key the OP does not publish", func() string { return signTyp(t, genKey(t), "logout+jwt", logoutClaimsFor(f, now)) },
			broker.EUNAUTHORIZED, "signature_invalid"},
		{"alg none", func() string { return unsigned(logoutClaimsFor(f, now)) }, broker.EUNAUTHORIZED, "algorithm_not_allowed"},
		{"HS256 keyed with the public key", func() string { return hmacWithPublicKey(t, f.keys[0], logoutClaimsFor(f, now)) },
			broker.EUNAUTHORIZED, "algorithm_not_allowed"},
		{"another issuer", signed(edit(func(c map[string]any) { c["iss"] = "https://evil.example.com" })), broker.EUNAUTHORIZED, "issuer_mismatch"},
		{"another audience", signed(edit(func(c map[string]any) { c["aud"] = "other" })), broker.EUNAUTHORIZED, "audience_mismatch"},
		{"no audience", signed(edit(func(c map[string]any) { delete(c, "aud") })), broker.EUNAUTHORIZED, "audience_mismatch"},
		{"typ of an access token", func() string { return signTyp(t, f.keys[0], "at+jwt", logoutClaimsFor(f, now)) },
			broker.EUNAUTHORIZED, ReasonLogoutTypInvalid},
		{"no iat", signed(edit(func(c map[string]any) { delete(c, "iat") })), broker.EUNAUTHORIZED, ReasonLogoutIATMissing},
		{"iat as a string", signed(edit(func(c map[string]any) { c["iat"] = "1772366400" })), broker.EUNAUTHORIZED, ReasonLogoutIATMissing},
		{"iat in the future", signed(edit(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() })), broker.EUNAUTHORIZED, ReasonLogoutIssuedFuture},
		{"expired", signed(edit(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-10*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
		})), broker.EUNAUTHORIZED, ReasonLogoutExpired},
		{"no exp, too old", signed(edit(func(c map[string]any) { delete(c, "exp"); c["iat"] = now.Add(-7 * time.Minute).Unix() })),
			broker.EUNAUTHORIZED, ReasonLogoutExpired},
		{"no jti", signed(edit(func(c map[string]any) { delete(c, "jti") })), broker.EUNAUTHORIZED, ReasonLogoutJTIMissing},
		{"empty jti", signed(edit(func(c map[string]any) { c["jti"] = "" })), broker.EUNAUTHORIZED, ReasonLogoutJTIMissing},
		{"no events", signed(edit(func(c map[string]any) { delete(c, "events") })), broker.EUNAUTHORIZED, ReasonLogoutEventMissing},
		{"events without the logout member", signed(edit(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		})), broker.EUNAUTHORIZED, ReasonLogoutEventMissing},
		{"logout event not an object", signed(edit(func(c map[string]any) { c["events"] = map[string]any{BackchannelLogoutEvent: "yes"} })),
			broker.EUNAUTHORIZED, ReasonLogoutEventMissing},
		{"logout event null", signed(edit(func(c map[string]any) { c["events"] = map[string]any{BackchannelLogoutEvent: nil} })),
			broker.EUNAUTHORIZED, ReasonLogoutEventMissing},
		{"events an array", signed(edit(func(c map[string]any) { c["events"] = []string{BackchannelLogoutEvent} })),
			broker.EUNAUTHORIZED, ReasonLogoutTokenInvalid},
		{"neither sub nor sid", signed(edit(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") })),
			broker.EUNAUTHORIZED, ReasonLogoutSubjectless},
		{"a nonce: an ID token replayed", signed(edit(func(c map[string]any) { c["nonce"] = "n-1" })), broker.EUNAUTHORIZED, ReasonLogoutNonce},
		{"an empty nonce", signed(edit(func(c map[string]any) { c["nonce"] = "" })), broker.EUNAUTHORIZED, ReasonLogoutNonce},
		{"an ID token", func() string { return sign(t, f.keys[0], f.standardClaims("n-1"), false) }, broker.EUNAUTHORIZED, ReasonLogoutNonce},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt, err := p.VerifyLogoutToken(context.Background(), tc.raw())
			if lt != nil || broker.ErrorCode(err) != tc.code || broker.ErrorReason(err) != tc.reason {
				t.Fatalf("got %+v, %v; want %s/%s", lt, err, tc.code, tc.reason)
			}
			if m := broker.ErrorMessage(err); m == "" || strings.Contains(m, "jti-1") {
				t.Errorf("message %q", m)
			}
		})
	}

	for _, tc := range []struct {
		name   string
		raw    func() string
		want   LogoutToken
		expect time.Time
	}{
		{"typ logout+jwt, sub and sid", signed(logoutClaimsFor(f, now)),
			LogoutToken{Subject: "bob", SID: "op-session-7", JTI: "jti-1"}, now.Add(2 * time.Minute)},
		{"typ JWT", func() string { return signTyp(t, f.keys[0], "JWT", logoutClaimsFor(f, now)) },
			LogoutToken{Subject: "bob", SID: "op-session-7", JTI: "jti-1"}, now.Add(2 * time.Minute)},
		{"typ application/logout+jwt", func() string { return signTyp(t, f.keys[0], "application/logout+jwt", logoutClaimsFor(f, now)) },
			LogoutToken{Subject: "bob", SID: "op-session-7", JTI: "jti-1"}, now.Add(2 * time.Minute)},
		{"no typ", func() string { return signTyp(t, f.keys[0], "", logoutClaimsFor(f, now)) },
			LogoutToken{Subject: "bob", SID: "op-session-7", JTI: "jti-1"}, now.Add(2 * time.Minute)},
		{"sid only, several audiences", signed(edit(func(c map[string]any) { delete(c, "sub"); c["aud"] = []string{"other", "broker"} })),
			LogoutToken{SID: "op-session-7", JTI: "jti-1"}, now.Add(2 * time.Minute)},
		{"sub only, no exp", signed(edit(func(c map[string]any) { delete(c, "sid"); delete(c, "exp"); c["iat"] = now.Add(-time.Minute).Unix() })),
			LogoutToken{Subject: "bob", JTI: "jti-1"}, now.Add(4 * time.Minute)},
		{"iat a little ahead, within skew", signed(edit(func(c map[string]any) { c["iat"] = now.Add(30 * time.Second).Unix() })),
			LogoutToken{Subject: "bob", SID: "op-session-7", JTI: "jti-1"}, now.Add(2 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt, err := p.VerifyLogoutToken(context.Background(), tc.raw())
			if err != nil {
				t.Fatal(err)
			}
			if lt.Subject != tc.want.Subject || lt.SID != tc.want.SID || lt.JTI != tc.want.JTI || !lt.Expires.Equal(tc.expect) || lt.IssuedAt.IsZero() {
				t.Errorf("got %+v, want %+v expiring %s", lt, tc.want, tc.expect)
			}
		})
	}
}

func TestVerifyLogoutTokenBeforeDiscovery(t *testing.T) {
	f := newFakeOP(t)
	f.srv.Close()
	p := newRP(t, f, nil)
	if _, err := p.VerifyLogoutToken(context.Background(), "a.b.c"); broker.ErrorCode(err) != broker.EUNAVAILABLE {
		t.Fatalf("%v", err)
	}
}

// checkLogoutTyp reads the header the signature covers.
func TestCheckLogoutTyp(t *testing.T) {
	for typ, ok := range map[string]bool{`"logout+jwt"`: true, `"Logout+JWT"`: true, `"jwt"`: true, `"application/jwt"`: true,
		`"at+jwt"`: false, `"secevent+jwt"`: false, `""`: false, `7`: false} {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":` + typ + `}`))
		if err := checkLogoutTyp(h + ".e30.sig"); (err == nil) != ok {
			t.Errorf("typ %s: %v", typ, err)
		}
	}
}
