package oidc

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/broker-dev/broker"
)

func TestAuthURLSendsMaxAgeACRAndMFA(t *testing.T) {
	f := newFakeOP(t)
	for _, tc := range []struct {
		name       string
		mfaRequest []string
		req        AuthRequest
		want       map[string]string // "" = absent
	}{
		{"plain", nil, AuthRequest{State: "s", Nonce: "n", Verifier: "v"},
			map[string]string{"prompt": "", "max_age": "", "acr_values": ""}},
		{"max age rounded up to whole seconds", nil, AuthRequest{State: "s", Nonce: "n", Verifier: "v", MaxAge: 90*time.Second + time.Millisecond},
			map[string]string{"max_age": "91", "prompt": ""}},
		{"acr values in order", nil, AuthRequest{State: "s", Nonce: "n", Verifier: "v", ACRValues: []string{"gold", "silver"}},
			map[string]string{"acr_values": "gold silver"}},
		{"MFA with configured acr values", []string{"https://refeds.org/profile/mfa"},
			AuthRequest{State: "s", Nonce: "n", Verifier: "v", MFA: true, ACRValues: []string{"gold"}},
			map[string]string{"acr_values": "gold https://refeds.org/profile/mfa", "prompt": ""}},
		{"MFA without configured acr values forces a fresh sign-in", nil, AuthRequest{State: "s", Nonce: "n", Verifier: "v", MFA: true},
			map[string]string{"acr_values": "", "prompt": "login"}},
		{"MFA keeps an explicit prompt", nil, AuthRequest{State: "s", Nonce: "n", Verifier: "v", MFA: true, Prompt: "none"},
			map[string]string{"prompt": "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRP(t, f, func(c *Config) { c.MFARequest = tc.mfaRequest })
			u, err := p.AuthURL(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			pu, _ := url.Parse(u)
			q := pu.Query()
			if q.Get("state") != "s" || q.Get("nonce") != "n" || q.Get("code_challenge_method") != "S256" {
				t.Fatalf("auth URL %s", u)
			}
			for k, v := range tc.want {
				if got, ok := q[k]; v == "" && ok || v != "" && (len(got) != 1 || got[0] != v) {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// OIDC Core 3.1.2.1 and 3.1.3.7: with max_age sent, auth_time is
// required and must be recent enough.
func TestMaxAgeChecksAuthTime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		maxAge   time.Duration
		authTime any // nil = absent
		reason   string
	}{
		{"no max age, no auth_time", 0, nil, ""},
		{"no max age, old auth_time", 0, now.Add(-48 * time.Hour).Unix(), ""},
		{"recent enough", 5 * time.Minute, now.Add(-4 * time.Minute).Unix(), ""},
		{"older than max age, within skew", 5 * time.Minute, now.Add(-5*time.Minute - 50*time.Second).Unix(), ""},
		{"too old", 5 * time.Minute, now.Add(-6*time.Minute - time.Second).Unix(), ReasonAuthTimeTooOld},
		{"missing", 5 * time.Minute, nil, ReasonAuthTimeMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeOP(t)
			f.idToken = func(string) string {
				c := f.standardClaims("n-1")
				c["iat"], c["exp"] = now.Unix(), now.Add(time.Hour).Unix()
				if tc.authTime != nil {
					c["auth_time"] = tc.authTime
				}
				return sign(t, f.keys[0], c, false)
			}
			p := newRP(t, f, func(c *Config) { c.Now = func() time.Time { return now } })
			res, err := p.Exchange(context.Background(), "c", "v", "n-1", WithMaxAge(tc.maxAge))
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if broker.ErrorCode(err) != broker.EUNAUTHORIZED || broker.ErrorReason(err) != tc.reason || res != nil {
				t.Fatalf("err = %v, want %s", err, tc.reason)
			}
			if refusalOf(t, err).Subject != "bob" {
				t.Errorf("refusal names %q, want the verified bob", refusalOf(t, err).Subject)
			}
			if broker.ErrorMessage(err) == "" {
				t.Error("no message")
			}
		})
	}
}

func TestSIDAndMFAMapping(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mfaValues []string
		claims    map[string]any
		mfa       bool
	}{
		{"amr pwd only", nil, map[string]any{"amr": []string{"pwd"}, "acr": "https://refeds.org/profile/sfa"}, false},
		{"amr otp", nil, map[string]any{"amr": []string{"pwd", "otp"}}, true},
		{"amr mfa", nil, map[string]any{"amr": []string{"mfa"}}, true},
		{"acr REFEDS MFA", nil, map[string]any{"acr": "https://refeds.org/profile/mfa"}, true},
		{"a claim named mfa is not believed", nil, map[string]any{"mfa": "true", "amr": []string{"pwd"}}, false},
		{"configured values replace the defaults", []string{"urn:example:loa:3"}, map[string]any{"acr": "urn:example:loa:3"}, true},
		{"configured values: otp no longer counts", []string{"urn:example:loa:3"}, map[string]any{"amr": []string{"otp"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeOP(t)
			f.idToken = func(string) string {
				c := f.standardClaims("n-1")
				c["sid"] = "op-session-7"
				for k, v := range tc.claims {
					c[k] = v
				}
				return sign(t, f.keys[0], c, false)
			}
			p := newRP(t, f, func(c *Config) { c.MFAValues = tc.mfaValues })
			res, err := p.Exchange(context.Background(), "c", "v", "n-1")
			if err != nil {
				t.Fatal(err)
			}
			id := res.Identity
			if id.SessionIndex != "op-session-7" {
				t.Errorf("SessionIndex %q", id.SessionIndex)
			}
			want := "false"
			if tc.mfa {
				want = "true"
			}
			if id.MFA != tc.mfa || len(id.Attributes[broker.AttrMFA]) != 1 || id.First(broker.AttrMFA) != want {
				t.Errorf("MFA %v, attribute %v; want %v", id.MFA, id.Attributes[broker.AttrMFA], tc.mfa)
			}
		})
	}
}

func TestRefreshExpires(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		refresh string
		extra   map[string]any
		want    time.Time
	}{
		{"Keycloak's refresh_expires_in", "rt-1", map[string]any{"refresh_expires_in": 1800}, now.Add(30 * time.Minute)},
		{"as a string", "rt-1", map[string]any{"refresh_expires_in": "600"}, now.Add(10 * time.Minute)},
		{"absent", "rt-1", nil, time.Time{}},
		{"zero (offline token)", "rt-1", map[string]any{"refresh_expires_in": 0}, time.Time{}},
		{"negative", "rt-1", map[string]any{"refresh_expires_in": -5}, time.Time{}},
		{"no refresh token", "", map[string]any{"refresh_expires_in": 1800}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeOP(t)
			f.refresh, f.tokenResp = tc.refresh, tc.extra
			f.idToken = func(string) string {
				c := f.standardClaims("n-1")
				c["iat"], c["exp"] = now.Unix(), now.Add(time.Hour).Unix()
				return sign(t, f.keys[0], c, false)
			}
			p := newRP(t, f, func(c *Config) { c.Now = func() time.Time { return now } })
			res, err := p.Exchange(context.Background(), "c", "v", "n-1")
			if err != nil {
				t.Fatal(err)
			}
			if !res.RefreshExpires.Equal(tc.want) {
				t.Errorf("RefreshExpires %s, want %s", res.RefreshExpires, tc.want)
			}
		})
	}
}

func TestUnmetAuthenticationRequirements(t *testing.T) {
	err := AuthorizationError("op", "unmet_authentication_requirements", "no second factor")
	if broker.ErrorCode(err) != broker.EFORBIDDEN || broker.ErrorReason(err) != "unmet_authentication_requirements" {
		t.Fatalf("%v", err)
	}
	if d := refusalOf(t, err).AuditDetails(); d["error"] != "unmet_authentication_requirements" || d["error_description"] != "no second factor" {
		t.Errorf("audit details %v", d)
	}
}
