package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dsig "github.com/russellhaering/goxmldsig"
)

var issuerClose = regexp.MustCompile(`</(?:[A-Za-z0-9]+:)?Issuer>`)

// xmlsecTemplate is an enveloped-signature template for xmlsec1 to fill:
// exclusive c14n with an InclusiveNamespaces PrefixList (as Shibboleth IdP
// and ADFS send it), RSA-SHA256, the certificate in KeyInfo.
func xmlsecTemplate(id, prefixList, cert string) string {
	incl := ""
	if prefixList != "" {
		incl = `<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="` + prefixList + `"/>`
	}
	return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
		`<ds:Reference URI="#` + id + `"><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">` + incl + `</ds:Transform>` +
		`</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
		`</ds:SignedInfo><ds:SignatureValue/>` +
		"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n" + cert + "\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
}

// TestInTreeVerifiesXMLSec1Signatures: responses signed by xmlsec1 (libxmlsec,
// an XML signature implementation this project did not write), Assertion
// then Response, in namespace layouts the generated responses do not use
// (the assertion namespace declared on the Response only, a default
// namespace, xsi:type values with their prefixes in a PrefixList), verify
// in the tree, are accepted by ParseResponse (and with goxmldsig alone),
// and an edit after signing is refused.
func TestInTreeVerifiesXMLSec1Signatures(t *testing.T) {
	xmlsec1, err := exec.LookPath("xmlsec1")
	if err != nil {
		msg := "xmlsec1 is not installed (Debian: apt-get install xmlsec1; .ci/system does it)"
		if os.Getenv("BROKER_REQUIRE_INTEROP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	idp := newTestIdP(t, now)
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(idp.kp.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := base64.StdEncoding.EncodeToString(idp.kp.Certificate.Raw)
	sign := func(t *testing.T, doc, idAttrNode, nodeXPath string) string {
		t.Helper()
		in, out := filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.xml")
		if err := os.WriteFile(in, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(xmlsec1, "--sign", "--privkey-pem", keyFile, "--id-attr:ID", idAttrNode,
			"--node-xpath", nodeXPath, "--output", out, in)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xmlsec1: %v\n%s\n%s", err, b, doc)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	attrs := map[string][]string{"email": {"alice@example.com"}, "groups": {"a", "b"}}
	for _, c := range []struct {
		name       string
		r          resp
		edit       func(string) string
		prefixList string
	}{
		{name: "as generated, PrefixList xs", prefixList: "xs"},
		{name: "no PrefixList"},
		{name: "assertion namespace declared on the Response only", prefixList: "xs", edit: func(s string) string {
			s = strings.Replace(s, `<samlp:Response `, `<samlp:Response xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" `, 1)
			return strings.Replace(s, `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" `, `<saml:Assertion `, 1)
		}},
		{name: "xsi:type values, xs and xsi declared on the Response", prefixList: "xs xsi", edit: func(s string) string {
			s = strings.Replace(s, `<samlp:Response `, `<samlp:Response xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" `, 1)
			return strings.ReplaceAll(s, `<saml:AttributeValue>`, `<saml:AttributeValue xsi:type="xs:string">`)
		}},
		{name: "default namespace", r: resp{prefix: "-"}, prefixList: "xs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.r
			r.unsignedResp, r.unsignedAssert, r.attrs = true, true, attrs
			raw, err := base64.StdEncoding.DecodeString(idp.build(t, r))
			if err != nil {
				t.Fatal(err)
			}
			doc := string(raw)
			if c.edit != nil {
				doc = c.edit(doc)
			}
			tr, err := scan([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			respID := attrOr(tr.root, "ID")
			var assertID string
			for _, ch := range tr.root.ChildElements() {
				if ch.Tag == "Assertion" {
					assertID = attrOr(ch, "ID")
				}
			}
			// The templates go after each Issuer, where the schema puts
			// them: the Assertion's (the second Issuer) signed first.
			issuerEnd := func(doc string, n int) int {
				t.Helper()
				m := issuerClose.FindAllStringIndex(doc, -1)
				if len(m) < 2 {
					t.Fatalf("%d Issuers in\n%s", len(m), doc)
				}
				return m[n][1]
			}
			at := issuerEnd(doc, 1)
			doc = doc[:at] + xmlsecTemplate(assertID, c.prefixList, cert) + doc[at:]
			doc = sign(t, doc, "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "//*[local-name()='Assertion']/*[local-name()='Signature']")
			at = issuerEnd(doc, 0)
			doc = doc[:at] + xmlsecTemplate(respID, c.prefixList, cert) + doc[at:]
			doc = sign(t, doc, "urn:oasis:names:tc:SAML:2.0:protocol:Response", "/*/*[local-name()='Signature']")

			tr, err = scan([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			ts := treeSig{certs: []*x509.Certificate{idp.kp.Certificate}, sig: map[string]bool{dsig.RSASHA256SignatureMethod: true},
				dig: map[string]bool{"http://www.w3.org/2001/04/xmlenc#sha256": true}, now: now}
			a := tr.root.FindElement("./Assertion")
			if a == nil || !verifyInTree(tr, a, ts) {
				t.Fatalf("the Assertion xmlsec1 signed does not verify in the tree:\n%s", doc)
			}
			if !verifyInTree(tr, tr.root, ts) {
				t.Fatalf("the Response xmlsec1 signed does not verify in the tree:\n%s", doc)
			}
			sp, _ := newSP(t, idp, nil)
			in := ACSInput{SAMLResponse: base64.StdEncoding.EncodeToString([]byte(doc)), RequestIDs: []string{"req-1"}, CurrentURL: spACS}
			if _, err := sp.ParseResponse(context.Background(), in); err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if n := sp.inTree.Load(); n != 2 {
				t.Errorf("ParseResponse verified %d signatures in the tree, want 2", n)
			}
			// goxmldsig alone accepts it too.
			sp2, _ := newSP(t, idp, nil)
			sp2.goxmldsigOnly = true
			if _, err := sp2.ParseResponse(context.Background(), in); err != nil {
				t.Fatalf("ParseResponse with goxmldsig alone: %v", err)
			}
			tampered := strings.Replace(doc, ">a</", ">A</", 1)
			if tampered == doc {
				t.Fatal("nothing to tamper with")
			}
			tr, err = scan([]byte(tampered))
			if err != nil {
				t.Fatal(err)
			}
			if verifyInTree(tr, tr.root, ts) || verifyInTree(tr, tr.root.FindElement("./Assertion"), ts) {
				t.Error("an attribute value changed after signing still verifies")
			}
		})
	}
}
