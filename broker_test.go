package broker

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseRolePair(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/Admin"
	const prov = "arn:aws:iam::123456789012:saml-provider/Okta"
	tests := []struct {
		name    string
		in      string
		want    RolePair
		wantErr string
	}{
		{"role first", role + "," + prov, RolePair{role, prov}, ""},
		{"provider first", prov + "," + role, RolePair{role, prov}, ""},
		{"whitespace around ARNs", "\n\t\t" + role + " ,\n " + prov + "\n", RolePair{role, prov}, ""},
		{"role with path", "arn:aws:iam::123456789012:role/team/ops/Admin," + prov, RolePair{"arn:aws:iam::123456789012:role/team/ops/Admin", prov}, ""},
		{"gov partition", "arn:aws-us-gov:iam::123456789012:role/A,arn:aws-us-gov:iam::123456789012:saml-provider/P", RolePair{"arn:aws-us-gov:iam::123456789012:role/A", "arn:aws-us-gov:iam::123456789012:saml-provider/P"}, ""},
		{"trailing comma", role + "," + prov + ",", RolePair{}, "exactly two"},
		{"one ARN", role, RolePair{}, "exactly two"},
		{"two roles", role + "," + role, RolePair{}, "two role"},
		{"two providers", prov + "," + prov, RolePair{}, "two saml-provider"},
		{"oidc provider", role + ",arn:aws:iam::123456789012:oidc-provider/example.com", RolePair{}, "only hold"},
		{"other service", role + ",arn:aws:s3:::bucket", RolePair{}, "service must be iam"},
		{"unknown partition", "arn:aws-xx:iam::123456789012:role/A," + prov, RolePair{}, "unknown partition"},
		{"short account", "arn:aws:iam::12345:role/A," + prov, RolePair{}, "12 digits"},
		{"cross account", "arn:aws:iam::210987654321:role/A," + prov, RolePair{}, "different accounts"},
		{"empty role name", "arn:aws:iam::123456789012:role/," + prov, RolePair{}, "malformed role"},
		{"space inside", "arn:aws:iam::123456789012:role/Ad min," + prov, RolePair{}, "malformed role"},
		{"empty", "", RolePair{}, "exactly two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRolePair(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRolePair(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRolePair(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRolePair(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestARNName(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::123456789012:role/team/Admin":                   "Admin",
		"arn:aws:iam::123456789012:saml-provider/Okta":                "Okta",
		"arn:aws:iam::123456789012:oidc-provider/login.example.com/x": "login.example.com/x",
	} {
		a, err := ParseARN(in)
		if err != nil {
			t.Fatal(err)
		}
		if a.Name() != want || a.String() != in {
			t.Errorf("ParseARN(%q): Name()=%q String()=%q", in, a.Name(), a.String())
		}
	}
}

func TestSanitizeRoleSessionName(t *testing.T) {
	tests := map[string]string{
		"alice@example.com":     "alice@example.com",
		"Alice Smith":           "Alice-Smith",
		"x":                     "x-",
		"":                      "",
		"é":                     "--",
		strings.Repeat("a", 70): strings.Repeat("a", 64),
	}
	for in, want := range tests {
		got := SanitizeRoleSessionName(in)
		if got != want {
			t.Errorf("SanitizeRoleSessionName(%q) = %q, want %q", in, got, want)
		}
		if got != "" && !RoleSessionNameRe.MatchString(got) {
			t.Errorf("SanitizeRoleSessionName(%q) = %q is not a valid session name", in, got)
		}
	}
}

func TestErrorHelpers(t *testing.T) {
	cause := errors.New("digest mismatch in <Assertion ID=...>")
	err := fmt.Errorf("acs: %w", Wrap(cause, EUNAUTHORIZED, "signature_invalid", "Sign-in failed: the identity provider's response could not be verified."))
	if got := ErrorCode(err); got != EUNAUTHORIZED {
		t.Errorf("ErrorCode = %q", got)
	}
	if got := ErrorReason(err); got != "signature_invalid" {
		t.Errorf("ErrorReason = %q", got)
	}
	if got := ErrorMessage(err); strings.Contains(got, "digest") {
		t.Errorf("ErrorMessage leaks the private cause: %q", got)
	}
	if !errors.Is(err, cause) {
		t.Error("cause not reachable through errors.Is")
	}
	plain := errors.New("boom")
	if ErrorCode(plain) != EINTERNAL || strings.Contains(ErrorMessage(plain), "boom") {
		t.Error("non-domain errors must be internal and must not leak their text")
	}
	if ErrorCode(nil) != "" {
		t.Error("nil error has a code")
	}
}

func TestCredentialsRedacted(t *testing.T) {
	c := Credentials{AccessKeyID: "ASIAEXAMPLEKEYID1234", SecretAccessKey: "topsecret", SessionToken: "tok3n", Expiration: time.Unix(0, 0)}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.LogValue().String()} {
		if strings.Contains(s, "topsecret") || strings.Contains(s, "tok3n") || strings.Contains(s, "EXAMPLEKEYID1234") {
			t.Errorf("credentials leak in %q", s)
		}
	}
}
