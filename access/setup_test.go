package access

import (
	"strings"
	"testing"

	"github.com/broker-dev/broker"
)

// TestSetupAdviceWebIdentity: for a web-identity role the advice names
// the OIDC provider as IAM does (issuer host/path), the broker's issuer
// for broker-issued tokens and the upstream issuer for pass-through, and
// a trust statement with the issuer's aud condition.
func TestSetupAdviceWebIdentity(t *testing.T) {
	role := "arn:aws:iam::111122223333:role/Dev"
	for _, tc := range []struct {
		name     string
		r        SetupRefusal
		issuer   string
		provider string
		aud      string
	}{
		{"broker-issued", SetupRefusal{RoleARN: role, Mode: broker.ModeBrokerIssued, Downstream: broker.DownstreamWebIdentity, Audience: "sts.amazonaws.com"},
			"https://broker.example.com", "arn:aws:iam::111122223333:oidc-provider/broker.example.com", "sts.amazonaws.com"},
		{"pass-through", SetupRefusal{RoleARN: role, Mode: broker.ModePassThrough, Downstream: broker.DownstreamWebIdentity, Issuer: "https://op.example.com/realms/x/", Audience: "client-1"},
			"https://op.example.com/realms/x/", "arn:aws:iam::111122223333:oidc-provider/op.example.com/realms/x", "client-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.r.Advice("https://broker.example.com")
			if a.ProviderKind != "OpenID Connect" || a.IssuerURL != tc.issuer || a.ProviderARN != tc.provider || a.Audience != tc.aud || a.MetadataURL != "" {
				t.Errorf("advice %+v", a)
			}
			host := strings.TrimPrefix(strings.TrimSuffix(tc.issuer, "/"), "https://")
			for _, want := range []string{`"Federated": "` + tc.provider + `"`, `"sts:AssumeRoleWithWebIdentity"`, `"` + host + `:aud": "` + tc.aud + `"`} {
				if !strings.Contains(a.TrustStatement, want) {
					t.Errorf("statement lacks %s:\n%s", want, a.TrustStatement)
				}
			}
		})
	}
}
