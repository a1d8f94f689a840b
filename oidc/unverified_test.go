package oidc

import (
	"strings"
	"testing"

	"github.com/broker-dev/broker"
)

func TestParseUnverifiedClaims(t *testing.T) {
	id, err := ParseUnverifiedClaims("kc", `{"sub":"u-1","iss":"https://op.example.com","groups":["dev","ops"],"realm_access":{"roles":["admin"]},"n":12}`)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "u-1" || id.Issuer != "https://op.example.com" || id.Protocol != broker.ProtocolOIDC || id.Provider != "kc" {
		t.Errorf("identity %+v", id)
	}
	for attr, want := range map[string]string{"groups": "dev,ops", "realm_access.roles": "admin", "n": "12", broker.AttrProvider: "kc"} {
		if got := strings.Join(id.Attributes[attr], ","); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
	for _, tc := range []struct{ in, reason string }{
		{`[1,2]`, "claims_invalid"},
		{`{"sub":`, "claims_invalid"},
		{`not json`, "claims_invalid"},
		{`{"x":"` + strings.Repeat("a", maxClaimsJSON) + `"}`, "claims_too_large"},
	} {
		if _, err := ParseUnverifiedClaims("kc", tc.in); broker.ErrorReason(err) != tc.reason {
			t.Errorf("ParseUnverifiedClaims(%.20q) = %v, want %s", tc.in, err, tc.reason)
		}
	}
}
