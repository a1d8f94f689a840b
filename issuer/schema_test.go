package issuer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/saml"
)

// The SAML 2.0 schemas (protocol, assertion, metadata, with the XML-DSig,
// XML-Enc and xml: schemas they import) as Debian packages ship them:
// SimpleSAMLphp's copy imports its neighbours by file name, pysaml2's by
// their w3.org URLs (resolved by the catalog schemaValidator writes).
var schemaDirs = []string{
	"/usr/share/simplesamlphp/schemas",
	"/usr/lib/python3/dist-packages/saml2/data/schemas",
}

// w3Schemas are the imports pysaml2's copy names by URL, and the local
// file each one is.
var w3Schemas = map[string]string{
	"http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd": "xmldsig-core-schema.xsd",
	"http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/xenc-schema.xsd":          "xenc-schema.xsd",
	"http://www.w3.org/2001/xml.xsd":                                              "xml.xsd",
}

// requireTool skips the test when a tool of the interop checks is missing,
// and fails it with BROKER_REQUIRE_INTEROP=1 (CI, where .ci/system
// installs them).
func requireTool(tb testing.TB, what string) {
	tb.Helper()
	msg := what + " is not installed (Debian: apt-get install libxml2-utils python3-pysaml2 xmlsec1; .ci/system does it)"
	if os.Getenv("BROKER_REQUIRE_INTEROP") == "1" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// xsdValidator validates documents with `xmllint --schema` against the SAML
// 2.0 protocol and metadata schemas, offline (--nonet).
type xsdValidator struct {
	xmllint, wrapper, catalog, dir string
}

func newXSDValidator(tb testing.TB) *xsdValidator {
	tb.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		requireTool(tb, "xmllint")
	}
	var schemas string
	for _, d := range schemaDirs {
		if _, err := os.Stat(filepath.Join(d, "saml-schema-protocol-2.0.xsd")); err == nil {
			schemas = d
			break
		}
	}
	if schemas == "" {
		requireTool(tb, "the SAML 2.0 schemas (python3-pysaml2 or simplesamlphp)")
	}
	dir := tb.TempDir()
	// One schema that imports both roots, so one xmllint run checks a
	// Response or an EntityDescriptor.
	wrapper := `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="urn:oasis:names:tc:SAML:2.0:protocol" schemaLocation="` + fileURL(schemas, "saml-schema-protocol-2.0.xsd") + `"/>
  <xs:import namespace="urn:oasis:names:tc:SAML:2.0:metadata" schemaLocation="` + fileURL(schemas, "saml-schema-metadata-2.0.xsd") + `"/>
</xs:schema>
`
	var cat strings.Builder
	cat.WriteString(`<?xml version="1.0"?>` + "\n" + `<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">` + "\n")
	for remote, local := range w3Schemas {
		cat.WriteString(`  <system systemId="` + remote + `" uri="` + fileURL(schemas, local) + `"/>` + "\n")
		cat.WriteString(`  <uri name="` + remote + `" uri="` + fileURL(schemas, local) + `"/>` + "\n")
	}
	cat.WriteString("</catalog>\n")
	v := &xsdValidator{xmllint: xmllint, wrapper: filepath.Join(dir, "saml.xsd"), catalog: filepath.Join(dir, "catalog.xml"), dir: dir}
	writeFile(tb, v.wrapper, []byte(wrapper))
	writeFile(tb, v.catalog, []byte(cat.String()))
	return v
}

func fileURL(dir, name string) string { return "file://" + filepath.Join(dir, name) }

func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// validate returns xmllint's complaint, or "" when doc is schema-valid.
func (v *xsdValidator) validate(tb testing.TB, name string, doc []byte) string {
	tb.Helper()
	f := filepath.Join(v.dir, name)
	writeFile(tb, f, doc)
	cmd := exec.Command(v.xmllint, "--nonet", "--noout", "--schema", v.wrapper, f)
	cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+v.catalog)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return strings.TrimSpace(string(out)) + " (" + err.Error() + ")"
	}
	return ""
}

func mintResponse(tb testing.TB, is *issuer.SAML, req issuer.SAMLRequest) []byte {
	tb.Helper()
	out, err := is.Issue(context.Background(), req)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(out.Base64)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func schemaIssuer(tb testing.TB) (*issuer.SAML, issuer.KeyPair) {
	tb.Helper()
	kp, err := issuer.GenerateKeyPair("broker", 24*time.Hour, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	is, err := issuer.NewSAML(issuer.SAMLConfig{EntityID: "https://broker.example.com/idp/saml/metadata", Signing: kp})
	if err != nil {
		tb.Fatal(err)
	}
	return is, kp
}

var schemaPair = broker.RolePair{RoleARN: "arn:aws:iam::111122223333:role/Dev", ProviderARN: "arn:aws:iam::111122223333:saml-provider/broker"}

// TestIssuedResponsesAreSchemaValid: every Response the issuer mints, with
// each optional attribute, validates against the SAML 2.0 protocol and
// assertion schemas as a strict toolkit would, and its signature still
// verifies with xmlsec1.
func TestIssuedResponsesAreSchemaValid(t *testing.T) {
	v := newXSDValidator(t)
	is, kp := schemaIssuer(t)
	cases := []struct {
		name string
		req  issuer.SAMLRequest
	}{
		{"minimal", issuer.SAMLRequest{Subject: "alice", Role: schemaPair, RoleSessionName: "alice"}},
		{"every attribute", issuer.SAMLRequest{
			Subject: "alice", SubjectFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:transient", Role: schemaPair,
			RoleSessionName: "alice@example.com", SessionDuration: 2 * time.Hour,
			PrincipalTags: map[string]string{"team": "platform", "cost-center": "42"}, TransitiveTagKeys: []string{"team"},
			SourceIdentity: "alice", Recipient: "https://us-east-1.signin.aws.amazon.com/saml",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := mintResponse(t, is, tc.req)
			if complaint := v.validate(t, "response.xml", raw); complaint != "" {
				t.Fatalf("the minted Response is not schema-valid:\n%s\n%s", complaint, raw)
			}
			verifyWithXMLSec1(t, raw, kp)
		})
	}
}

// TestSchemaValidatorCatchesUndeclaredTypePrefix: the validator above
// refuses the Response the issuer used to mint (xsi:type="xs:string" with
// xs declared nowhere), so its passing means something.
func TestSchemaValidatorCatchesUndeclaredTypePrefix(t *testing.T) {
	v := newXSDValidator(t)
	is, _ := schemaIssuer(t)
	raw := mintResponse(t, is, issuer.SAMLRequest{Subject: "alice", Role: schemaPair, RoleSessionName: "alice"})
	bad := bytes.Replace(raw, []byte("<saml:AttributeValue>"),
		[]byte(`<saml:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">`), 1)
	if bytes.Equal(bad, raw) {
		t.Fatal("no AttributeValue to alter")
	}
	complaint := v.validate(t, "bad.xml", bad)
	if complaint == "" {
		t.Fatal("xmllint accepted an xsi:type with an undeclared prefix")
	}
	if !strings.Contains(complaint, "xs:string") {
		t.Errorf("xmllint refused it for another reason: %s", complaint)
	}
}

// TestMetadataIsSchemaValid: the broker's IdP metadata (registered in IAM)
// and its SP metadata (read by upstream IdPs, with SLO and an encryption
// key) validate against the SAML 2.0 metadata schema.
func TestMetadataIsSchemaValid(t *testing.T) {
	v := newXSDValidator(t)
	is, _ := schemaIssuer(t)
	idpMD, err := is.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if complaint := v.validate(t, "idp.xml", idpMD); complaint != "" {
		t.Errorf("the IdP metadata is not schema-valid:\n%s\n%s", complaint, idpMD)
	}
	spKey, err := issuer.GenerateKeyPair("sp", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  saml.Config
	}{
		{"plain", saml.Config{}},
		{"key, signed requests and SLO", saml.Config{Key: spKey.Key, Certificate: spKey.Certificate, SignRequests: true,
			SLOURL: "https://broker.example.com/saml/okta/slo"}},
	} {
		t.Run("SP "+tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.ID, cfg.MetadataURL, cfg.ACSURL = "okta", "https://broker.example.com/saml/okta/metadata", "https://broker.example.com/saml/okta/acs"
			cfg.IDPMetadataXML, cfg.Replay = idpMD, noReplay{}
			sp, err := saml.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			md, err := sp.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			if complaint := v.validate(t, "sp.xml", md); complaint != "" {
				t.Errorf("the SP metadata is not schema-valid:\n%s\n%s", complaint, md)
			}
		})
	}
}

// noReplay is a ReplayCache that remembers nothing (no Response is read here).
type noReplay struct{}

func (noReplay) Remember(context.Context, string, string, time.Time) error { return nil }

// verifyWithXMLSec1 checks the Assertion's signature with xmlsec1 (an XML
// signature implementation this project did not write) against the
// signing certificate.
func verifyWithXMLSec1(tb testing.TB, raw []byte, kp issuer.KeyPair) {
	tb.Helper()
	xmlsec1, err := exec.LookPath("xmlsec1")
	if err != nil {
		requireTool(tb, "xmlsec1")
	}
	dir := tb.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	writeFile(tb, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.Certificate.Raw}))
	doc := filepath.Join(dir, "response.xml")
	writeFile(tb, doc, raw)
	out, err := exec.Command(xmlsec1, "--verify", "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
		"--pubkey-cert-pem", cert, doc).CombinedOutput()
	if err != nil {
		tb.Fatalf("xmlsec1 does not verify the Assertion's signature: %v\n%s", err, out)
	}
}
