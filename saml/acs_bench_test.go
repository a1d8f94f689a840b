package saml

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"
)

// nopReplay accepts every assertion ID: a benchmark parses the same
// response again and again.
type nopReplay struct{}

func (nopReplay) Remember(context.Context, string, string, time.Time) error { return nil }

// benchSP builds the SP a fixture case describes, with a replay cache that
// never refuses, and returns it with the ACSInput to parse.
func (fc fixtureCase) benchSP(tb testing.TB) (*ServiceProvider, ACSInput) {
	tb.Helper()
	return fc.build(tb, nopReplay{})
}

// acceptedFixtures are the third-party responses that verify.
func acceptedFixtures(tb testing.TB) []fixtureCase {
	py := fixtureCase{spBase: "https://pitbulk.no-ip.org/newonelogin/demo1/", clock: "2007-07-01T00:00:00Z", allowSHA1: true}
	return []fixtureCase{
		with(oneLogin, func(c *fixtureCase) { c.name, c.allowSHA1 = "OneLogin", true }),
		with(google, func(c *fixtureCase) { c.name = "Google" }),
		with(okta, func(c *fixtureCase) {
			c.name, c.response, c.now, c.requestID = "OktaEncrypted",
				"crewjam-saml/TestSPCanHandleOktaSignedResponseEncryptedAssertion_response", "2020-03-03T19:24:28Z", "id-a7364d1e4432aa9085a7a8bd824ea2fa8fa8f684"
			c.allowCBC = true
		}),
		with(signedAssertions, func(c *fixtureCase) {
			c.name, c.response, c.allowSHA1 = "OneLoginToolkit", "crewjam-saml/TestServiceProviderCanHandleSignedAssertionsResponse_response", true
		}),
		with(py, func(c *fixtureCase) {
			c.name, c.response, c.metadataXML, c.now, c.requestID, c.spMD, c.acs = "python3-saml", "python3-saml/valid_response.xml.base64",
				certMetadata(tb, "http://idp.example.com/", readFixture(tb, "python3-saml/idp.crt")),
				"2014-02-19T01:37:30Z", "ONELOGIN_5fe9d6e499b2f0913206aab3f7191729049bb807", "http://stuff.com/endpoints/metadata.php", "https://pitbulk.no-ip.org/newonelogin/demo1/index.php?acs"
		}),
	}
}

// BenchmarkACSFixtures is ParseResponse on each real third-party response
// that verifies.
func BenchmarkACSFixtures(b *testing.B) {
	for _, fc := range acceptedFixtures(b) {
		b.Run(fc.name, func(b *testing.B) {
			sp, in := fc.benchSP(b)
			if _, err := sp.ParseResponse(context.Background(), in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := sp.ParseResponse(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bench12KB builds the load test's response: IdP-initiated, Response and
// Assertion signed RSA-SHA256, 10 attributes, about 12 KB decoded.
func bench12KB(tb testing.TB) (*ServiceProvider, ACSInput) {
	tb.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	idp := newTestIdP(tb, now)
	sp, _ := newSP(tb, idp, func(c *Config) { c.AllowIDPInitiated = true; c.Replay = nopReplay{} })
	attrs := map[string][]string{
		"https://aws.amazon.com/SAML/Attributes/Role":            {"arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:saml-provider/Okta"},
		"https://aws.amazon.com/SAML/Attributes/RoleSessionName": {"alice@example.com"},
		"email":       {"alice@example.com"},
		"givenName":   {"Alice"},
		"surname":     {"Example"},
		"displayName": {"Alice Example"},
		"department":  {"Engineering"},
		"employeeID":  {"E-000123"},
		"title":       {"Staff Engineer"},
	}
	var groups []string
	for i := range 75 {
		groups = append(groups, fmt.Sprintf("cn=group-%03d,ou=groups,dc=example,dc=com", i))
	}
	attrs["groups"] = groups
	s := idp.build(tb, resp{inResponseTo: "-", attrs: attrs})
	if n := base64.StdEncoding.DecodedLen(len(s)); n < 11<<10 || n > 13<<10 {
		tb.Fatalf("response is %d bytes, want about 12 KB", n)
	}
	return sp, ACSInput{SAMLResponse: s, CurrentURL: spACS}
}

// BenchmarkACS12KB is ParseResponse on a generated 12 KB response with both
// the Response and the Assertion signed (RSA-SHA256) and 10 attributes.
func BenchmarkACS12KB(b *testing.B) {
	sp, in := bench12KB(b)
	if _, err := sp.ParseResponse(context.Background(), in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := sp.ParseResponse(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkACS12KBCrewjam is BenchmarkACS12KB on the path before issue 15
// (crewjam's ParseXMLResponse), for a before/after in one run.
func BenchmarkACS12KBCrewjam(b *testing.B) {
	sp, in := bench12KB(b)
	sp.crewjamOnly = true
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := sp.ParseResponse(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
