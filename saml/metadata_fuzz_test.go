package saml

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
)

// FuzzMetadata loads fuzzed IdP metadata as New does for inline XML, then
// uses the SP: the SAML-facing calls must not panic whatever the metadata
// holds. Invariants: an SP built from it has an IdP entity ID and is ready;
// its login redirect points at an absolute URL or fails with a
// *broker.Error; a response posted to it is verified or refused with a
// *broker.Error that has a reason.
func FuzzMetadata(f *testing.F) {
	p := newTestIdP(f, t0)
	f.Add(p.metadata())
	for _, name := range []string{
		"crewjam-saml/SP_IDPMetadata", "crewjam-saml/TestSPCanHandleOktaSignedResponseEncryptedAssertion_IDPMetadata",
		"crewjam-saml/TestSPCanHandleOneloginResponse_IDPMetadata", "crewjam-saml/TestSPCanHandlePlaintextResponse_IDPMetadata",
		"crewjam-saml/TestServiceProviderCanHandleSignedAssertionsResponse_IDPMetadata",
	} {
		f.Add(readFixture(f, name))
	}
	f.Add(certMetadata(f, "http://idp.example.com/", readFixture(f, "python3-saml/idp.crt")))
	// Federation metadata: the first entity with an IdP role is used.
	f.Add([]byte(`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntityDescriptor entityID="sp"><SPSSODescriptor/></EntityDescriptor>` +
		strings.TrimPrefix(string(p.metadata()), `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"`) + `</EntitiesDescriptor>`))
	f.Add([]byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><IDPSSODescriptor><KeyDescriptor><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>AAAA</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="::"/></IDPSSODescriptor></EntityDescriptor>`))
	f.Add([]byte(`<!DOCTYPE x><EntityDescriptor/>`))
	f.Add([]byte(`<x/>`))

	response := p.build(f, resp{})
	nowFn := fixedNow(t0)
	f.Fuzz(func(t *testing.T, md []byte) {
		sp, err := New(context.Background(), Config{ID: "fz", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: md, Replay: noReplay{}, Now: nowFn})
		if err != nil {
			if sp != nil {
				t.Fatalf("an SP and an error: %v", err)
			}
			return
		}
		if sp.Ready() != nil || sp.IDPEntityID() == "" {
			t.Fatalf("loaded but not ready (%v) or without an entity ID", sp.Ready())
		}
		if loc, id, err := sp.LoginRedirect("relay", LoginOptions{}); err == nil {
			if u, perr := url.Parse(loc); perr != nil || id == "" || u.Query().Get("SAMLRequest") == "" {
				t.Fatalf("login redirect %q (request %q)", loc, id)
			}
		} else if e, ok := err.(*broker.Error); ok && e.Reason == "" {
			t.Fatalf("login redirect refusal without a reason: %#v", e)
		}
		if _, err := sp.Metadata(); err != nil {
			t.Fatalf("SP metadata: %v", err)
		}
		res, err := sp.ParseResponse(context.Background(), ACSInput{SAMLResponse: response, RequestIDs: []string{"req-1"}, CurrentURL: spACS})
		if err != nil {
			checkRefusal(t, "fz", res, err)
			return
		}
		// Accepted: then the metadata must name the test IdP's certificate
		// as a signing certificate.
		for _, c := range idpSigningCerts(sp.state.Load().md) {
			if c.Equal(p.kp.Certificate) {
				return
			}
		}
		t.Fatalf("a response accepted with metadata whose signing certificates are not its signer's")
	})
}
