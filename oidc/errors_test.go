package oidc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
)

func refusalOf(tb testing.TB, err error) *RefusedError {
	tb.Helper()
	var re *RefusedError
	if !errors.As(err, &re) {
		tb.Fatalf("%v: no RefusedError in the chain", err)
	}
	return re
}

// TestRefusalsNameTheVerifiedSubject: a refusal of an ID token whose
// signature verified names its sub; one whose signature did not verify,
// or that names another issuer, names nobody.
func TestRefusalsNameTheVerifiedSubject(t *testing.T) {
	edit := func(f *fakeOP, e func(map[string]any)) map[string]any {
		c := f.standardClaims("n-1")
		e(c)
		return c
	}
	cases := []struct {
		name    string
		token   func(f *fakeOP) string
		reason  string
		subject string
		say     string
	}{
		{"expired", func(f *fakeOP) string {
			return sign(t, f.keys[0], edit(f, func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			}), false)
		}, "token_expired", "bob", "off by about 2 h"},
		{"issued in the future", func(f *fakeOP) string {
			return sign(t, f.keys[0], edit(f, func(c map[string]any) { c["iat"] = time.Now().Add(10 * time.Minute).Unix() }), false)
		}, "issued_in_future", "bob", "off by about 10 min"},
		{"another client's token", func(f *fakeOP) string {
			return sign(t, f.keys[0], edit(f, func(c map[string]any) { c["aud"] = "someone-else" }), false)
		}, "audience_mismatch", "bob", "administrator"},
		{"azp of another client", func(f *fakeOP) string {
			return sign(t, f.keys[0], edit(f, func(c map[string]any) { c["aud"], c["azp"] = []string{"broker", "other"}, "other" }), false)
		}, "azp_mismatch", "bob", "administrator"},
		{"nonce of another sign-in", func(f *fakeOP) string { return sign(t, f.keys[0], f.standardClaims("n-other"), false) },
			"nonce_mismatch", "bob", "Start again"},
		{"another issuer", func(f *fakeOP) string {
			return sign(t, f.keys[0], edit(f, func(c map[string]any) { c["iss"] = "https://evil.example.com" }), false)
		}, "issuer_mismatch", "", "administrator"},
		{"signed by an unknown key, another client", func(f *fakeOP) string {
			return sign(t, genKey(t), edit(f, func(c map[string]any) { c["aud"] = "someone-else" }), false)
		}, "signature_invalid", "", "Sign in again"},
		{"signed by an unknown key, expired", func(f *fakeOP) string {
			return sign(t, genKey(t), edit(f, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), false)
		}, "signature_invalid", "", "Sign in again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeOP(t)
			p, err := New(Config{ID: "op", Issuer: f.srv.URL, ClientID: "broker", ClientSecret: "s3cret", RedirectURL: "https://broker.example.com/cb"})
			if err != nil {
				t.Fatal(err)
			}
			f.idToken = func(string) string { return c.token(f) }
			_, err = p.Exchange(context.Background(), "code", "verifier", "n-1")
			if broker.ErrorReason(err) != c.reason {
				t.Fatalf("err = %v, want %s", err, c.reason)
			}
			if got := refusalOf(t, err).VerifiedSubject(); got != c.subject {
				t.Errorf("subject %q, want %q", got, c.subject)
			}
			if msg := broker.ErrorMessage(err); !strings.Contains(msg, c.say) || strings.Contains(msg, c.reason) {
				t.Errorf("message %q: want %q and no reason code", msg, c.say)
			}
		})
	}
}

// TestAuthorizationError: the OP's ?error= is audited as what the OP
// answered, and the person is told that the OP refused and who acts.
func TestAuthorizationError(t *testing.T) {
	cases := []struct {
		code, desc   string
		status       string
		reason, name string
		say          string
	}{
		{"access_denied", "User is not assigned to the app", broker.EFORBIDDEN, "access_denied", "access_denied", "ask whoever runs your identity provider"},
		{"login_required", "", broker.EUNAUTHORIZED, "op_error", "login_required", "Sign in again"},
		{"temporarily_unavailable", "", broker.EUPSTREAM, "op_error", "temporarily_unavailable", "Try again in a few minutes"},
		{"invalid_scope", "", broker.EUPSTREAM, "op_error", "invalid_scope", "administrator"},
		{"<script>alert(1)</script>", "\x00line\nbreak", broker.EUPSTREAM, "op_error", "scriptalertscript", "administrator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := AuthorizationError("op", c.code, c.desc)
			if broker.ErrorCode(err) != c.status || broker.ErrorReason(err) != c.reason {
				t.Fatalf("err = %v, want %s/%s", err, c.status, c.reason)
			}
			msg := broker.ErrorMessage(err)
			if !strings.Contains(msg, c.say) || !strings.Contains(msg, c.name) || strings.Contains(msg, "<") {
				t.Errorf("message %q", msg)
			}
			d := refusalOf(t, err).AuditDetails()
			if d["error"] != c.name || strings.ContainsAny(d["error_description"], "\x00\n") || (c.desc != "" && d["error_description"] == "") {
				t.Errorf("details %v", d)
			}
		})
	}
}
