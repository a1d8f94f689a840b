package localaws

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/beevik/etree"
)

// typedValues gives every AttributeValue xsi:type="xs:string" (xsi
// declared on it, xs nowhere). Signed with exclusive c14n by goxmldsig,
// which canonicalizes the tree in place, a declaration of xs on the value
// would be dropped anyway: it is used only inside an attribute value.
func typedValues(a *etree.Element) {
	for _, av := range a.FindElements(".//AttributeValue") {
		av.CreateAttr("xmlns:xsi", nsXSI)
		av.CreateAttr("xsi:type", "xs:string")
	}
}

// declareXS declares xs on the elements at path after signing (exclusive
// c14n leaves the signature valid), as an IdP whose signer does not
// rewrite its document sends it.
func declareXS(path string) func(doc *etree.Document) {
	return func(doc *etree.Document) {
		for _, el := range doc.FindElements(path) {
			el.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
		}
	}
}

// The Response the broker used to mint: xsi:type="xs:string" with xs
// declared nowhere (exclusive c14n had dropped it). Its signature is
// valid; a schema-validating parser refuses it, and so does the local STS.
func TestAssumeRoleWithSAMLRejectsUndeclaredTypePrefix(t *testing.T) {
	t.Parallel()
	runRejections(t, []rejection{
		{name: "xsi:type xs:string, xs undeclared",
			spec: func(_ *fixture, s *samlSpec) { s.BeforeSign = typedValues },
			code: codeInvalidIdentity, status: 400, msg: `uses the namespace prefix "xs", which is not declared in scope`},
		{name: "undeclared prefix outside the signed Assertion",
			spec: func(_ *fixture, s *samlSpec) {
				s.AfterSign = func(doc *etree.Document) {
					sc := doc.FindElement("./Response/Status/StatusCode")
					sc.CreateAttr("xmlns:xsi", nsXSI)
					sc.CreateAttr("xsi:type", "ext:Code")
				}
			},
			code: codeInvalidIdentity, status: 400, msg: `uses the namespace prefix "ext"`},
	})
}

func TestAssumeRoleWithSAMLAcceptsDeclaredTypePrefix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		spec func(s *samlSpec)
	}{
		{"xs declared on each AttributeValue", func(s *samlSpec) {
			s.BeforeSign, s.AfterSign = typedValues, declareXS(".//AttributeValue")
		}},
		{"xs declared on the signed Assertion", func(s *samlSpec) {
			s.BeforeSign, s.AfterSign = typedValues, declareXS("./Response/Assertion")
		}},
		{"xs declared on the unsigned Response around it", func(s *samlSpec) {
			s.BeforeSign, s.AfterSign = typedValues, declareXS("./Response")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := f.spec()
			tc.spec(&s)
			out, err := f.assume(t, roleAdmin, testProvider, f.build(t, s))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !strings.HasSuffix(aws.ToString(out.AssumedRoleUser.Arn), "/alice@example.com") {
				t.Errorf("assumed %s", aws.ToString(out.AssumedRoleUser.Arn))
			}
		})
	}
}

// withValidUntil registers the test IdP's metadata with a validUntil.
func withValidUntil(validUntil string) func(*Config) {
	return func(c *Config) {
		for i, p := range c.Registry.SAMLProviders {
			if p.ARN == testProvider {
				c.Registry.SAMLProviders[i].MetadataXML = strings.Replace(p.MetadataXML, ` entityID="`, ` validUntil="`+validUntil+`" entityID="`, 1)
			}
		}
	}
}

// IAM records the metadata's validUntil as the provider's expiry: before
// it the provider federates, from it on the call is refused.
func TestAssumeRoleWithSAMLProviderValidUntil(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC) // the fixture's clock
	f := newFixtureWith(t, withValidUntil(start.Add(time.Hour).Format(time.RFC3339)))
	if _, err := f.assume(t, roleAdmin, testProvider, f.build(t, f.spec())); err != nil {
		t.Fatalf("refused before validUntil: %v", err)
	}
	f.clock.Advance(time.Hour)
	out, err := f.assume(t, roleAdmin, testProvider, f.build(t, f.spec()))
	if err == nil {
		t.Fatalf("accepted at validUntil: %s", aws.ToString(out.AssumedRoleUser.Arn))
	}
	wantAPIError(t, err, codeInvalidIdentity, 400, "expired on 2030-06-01T13:00:00Z (the validUntil of its metadata)")
}

func TestRegistryRefusesMalformedValidUntil(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t, testEntityID, 0, time.Now())
	r := &Registry{SAMLProviders: []SAMLProvider{{ARN: testProvider,
		MetadataXML: strings.Replace(idp.metadata(), ` entityID="`, ` validUntil="next year" entityID="`, 1)}}}
	err := r.Validate()
	if err == nil || !strings.Contains(err.Error(), "could not parse metadata") || !strings.Contains(err.Error(), `"next year"`) {
		t.Fatalf("Validate = %v, want the validUntil named", err)
	}
}
