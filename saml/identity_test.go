package saml

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/broker-dev/broker"
)

// assertionOf unmarshals the first Assertion of a fixture (signatures in
// these fixtures were edited upstream, so this only tests attribute mapping).
func assertionOf(tb testing.TB, name string) *saml.Assertion {
	tb.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(readFixture(tb, name)); err != nil {
		tb.Fatal(err)
	}
	el := doc.FindElement("//Assertion")
	if el == nil {
		tb.Fatalf("%s has no Assertion", name)
	}
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		tb.Fatal(err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		tb.Fatal(err)
	}
	if detached.Space == "" && detached.SelectAttr("xmlns") == nil {
		// The sanitised PingFederate fixture lost its namespace prefixes.
		detached.CreateAttr("xmlns", "urn:oasis:names:tc:SAML:2.0:assertion")
	}
	d := etree.NewDocument()
	d.SetRoot(detached)
	b, _ := d.WriteToBytes()
	var a saml.Assertion
	if err := unmarshalAssertion(b, &a); err != nil {
		tb.Fatal(err)
	}
	return &a
}

func TestRoleAttributesFromRealIdPs(t *testing.T) {
	tests := []struct {
		file        string
		roles       int
		firstRole   string
		sessionName string
		duration    time.Duration
		reason      string
	}{
		{"saml2aws/assertion.xml", 2, "arn:aws:iam::123123123123:role/AWS-Admin-CloudOPSBuild", "", 0, ""},
		{"saml2aws/assertion_pingfed.xml", 5, "", "", 0, ""},
		{"saml2aws/SAMLResponse.xml", 2, "", "", 0, ""},
		{"saml2aws/ecp_soap_response_success.xml", 1, "", "", 0, ""},
		{"aws-google-auth/valid-response.xml", 3, "", "", 8 * time.Hour, ""},
		{"aws-google-auth/too-many-commas.xml", 0, "", "", 0, "role_attribute_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			id, err := identityFromAssertion(assertionOf(t, tt.file))
			if tt.reason != "" {
				if reasonOf(err) != tt.reason {
					t.Fatalf("err %v, want %s", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(id.Roles) != tt.roles {
				t.Fatalf("%d roles, want %d: %+v", len(id.Roles), tt.roles, id.Roles)
			}
			for _, r := range id.Roles {
				if !strings.Contains(r.RoleARN, ":role/") || !strings.Contains(r.ProviderARN, ":saml-provider/") {
					t.Errorf("role pair not normalised (role first): %+v", r)
				}
			}
			if tt.firstRole != "" && id.Roles[0].RoleARN != tt.firstRole {
				t.Errorf("first role %q", id.Roles[0].RoleARN)
			}
			if tt.duration != 0 && id.SessionDuration != tt.duration {
				t.Errorf("SessionDuration %v", id.SessionDuration)
			}
			if v := id.Attributes[broker.SAMLAttrRoleSessionName]; len(v) > 0 && id.RoleSessionName != v[0] {
				t.Errorf("RoleSessionName %q", id.RoleSessionName)
			}
		})
	}
}

// TestMalformedAWSAttributesMatterOnlyInPassThrough: AWS reads the Role,
// RoleSessionName and SessionDuration of a pass-through provider's
// assertion, so a malformed one refuses the sign-in there; a broker-issued
// provider mints its own, so it signs the person in without them (the
// well-formed Role values kept, the attributes still there for the rules).
func TestMalformedAWSAttributesMatterOnlyInPassThrough(t *testing.T) {
	p := newTestIdP(t, t0)
	good := "arn:aws:iam::111122223333:role/Dev,arn:aws:iam::111122223333:saml-provider/Okta"
	bad := "arn:aws:iam::111122223333:role/A,arn:aws:iam::111122223333:saml-provider/P,"
	attrs := map[string][]string{broker.SAMLAttrRole: {bad, good}, broker.SAMLAttrRoleSessionName: {"has space"}, broker.SAMLAttrSessionDuration: {"60"}, "groups": {"eng"}}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			sp, _ := newSP(t, p, m.cfg)
			r := m.resp
			r.attrs = attrs
			res, err := parse(t, sp, p.build(t, r), "req-1")
			if m.name == "pass-through" {
				if broker.ErrorReason(err) != "role_attribute_invalid" || refusalOf(t, err).Subject != "alice@example.com" {
					t.Fatalf("pass-through: %v, want role_attribute_invalid naming alice", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("broker-issued refused a malformed Role it never uses: %v", err)
			}
			id := res.Identity
			if len(id.Roles) != 1 || id.Roles[0].RoleARN != "arn:aws:iam::111122223333:role/Dev" || id.RoleSessionName != "" || id.SessionDuration != 0 {
				t.Errorf("AWS attributes %+v / %q / %s", id.Roles, id.RoleSessionName, id.SessionDuration)
			}
			if len(id.Attributes[broker.SAMLAttrRole]) != 2 || id.First("groups") != "eng" {
				t.Errorf("attributes %v", id.Attributes)
			}
		})
	}
}
