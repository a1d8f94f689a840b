package issuer

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

var (
	testRole = broker.RolePair{RoleARN: "arn:aws:iam::111122223333:role/Admin", ProviderARN: "arn:aws:iam::111122223333:saml-provider/broker"}
	fixedNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
)

func newIssuer(t testing.TB, prev ...KeyPair) (*SAML, KeyPair) {
	t.Helper()
	kp, err := GenerateKeyPair("broker test", 24*time.Hour, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSAML(SAMLConfig{EntityID: "https://broker.example.com/idp/saml/metadata", Signing: kp, Previous: prev, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return s, kp
}

// verify checks the Assertion's signature against the certificates in the
// issuer's metadata and returns the Response and the verified Assertion.
func verify(t *testing.T, s *SAML, b64 string) (*etree.Element, *etree.Element) {
	t.Helper()
	md, err := s.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(md, &ed); err != nil {
		t.Fatal(err)
	}
	var certs []*x509.Certificate
	for _, kd := range ed.IDPSSODescriptors[0].KeyDescriptors {
		der, _ := base64.StdEncoding.DecodeString(kd.KeyInfo.X509Data.X509Certificates[0].Data)
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	vc.Clock = dsig.NewFakeClockAt(fixedNow)
	resp := doc.Root()
	as, err := vc.Validate(resp.FindElement("./Assertion"))
	if err != nil {
		t.Fatalf("Assertion signature: %v", err)
	}
	return resp, as
}

func TestIssueShape(t *testing.T) {
	s, _ := newIssuer(t)
	out, err := s.Issue(context.Background(), SAMLRequest{
		Subject: "alice", Role: testRole, RoleSessionName: "alice@example.com", SessionDuration: 2 * time.Hour,
		PrincipalTags: map[string]string{"team": "platform", "cost-center": "42"}, TransitiveTagKeys: []string{"team"},
		SourceIdentity: "alice@example.com", AuthnInstant: fixedNow.Add(-time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, as := verify(t, s, out.Base64)
	if got := resp.SelectAttrValue("Destination", ""); got != "https://signin.aws.amazon.com/saml" {
		t.Errorf("Destination %q", got)
	}
	if resp.FindElement("./Status/StatusCode").SelectAttrValue("Value", "") != statusSuccess {
		t.Error("status is not Success")
	}
	var order []string
	for _, c := range resp.FindElement("./Assertion").ChildElements() {
		order = append(order, c.Tag)
	}
	if strings.Join(order, ",") != "Issuer,Signature,Subject,Conditions,AuthnStatement,AttributeStatement" {
		t.Errorf("assertion children %v are not in schema order", order)
	}
	if as.SelectAttrValue("ID", "") != out.AssertionID || !out.NotOnOrAfter.Equal(fixedNow.Add(5*time.Minute)) {
		t.Errorf("IssuedSAML %+v", out)
	}
	scs := as.FindElements("./Subject/SubjectConfirmation")
	if len(scs) != 1 || scs[0].SelectAttrValue("Method", "") != bearer {
		t.Fatalf("want exactly one bearer SubjectConfirmation, got %d", len(scs))
	}
	scd := scs[0].FindElement("./SubjectConfirmationData")
	if scd.SelectAttrValue("Recipient", "") != "https://signin.aws.amazon.com/saml" || scd.SelectAttrValue("NotOnOrAfter", "") != "2026-11-22T10:05:00.000Z" || scd.SelectAttr("InResponseTo") != nil {
		t.Errorf("SubjectConfirmationData %v", scd.Attr)
	}
	if got := as.FindElement("./Conditions/AudienceRestriction/Audience").Text(); got != "urn:amazon:webservices" {
		t.Errorf("Audience %q", got)
	}
	attrs := map[string][]string{}
	for _, a := range as.FindElements("./AttributeStatement/Attribute") {
		for _, v := range a.FindElements("./AttributeValue") {
			attrs[a.SelectAttrValue("Name", "")] = append(attrs[a.SelectAttrValue("Name", "")], v.Text())
		}
	}
	want := map[string][]string{
		broker.SAMLAttrRole:                         {testRole.RoleARN + "," + testRole.ProviderARN},
		broker.SAMLAttrRoleSessionName:              {"alice@example.com"},
		broker.SAMLAttrSessionDuration:              {"7200"},
		broker.SAMLAttrPrincipalTag + "team":        {"platform"},
		broker.SAMLAttrPrincipalTag + "cost-center": {"42"},
		broker.SAMLAttrTransitiveTagKeys:            {"team"},
		broker.SAMLAttrSourceIdentity:               {"alice@example.com"},
	}
	for k, v := range want {
		if strings.Join(attrs[k], "|") != strings.Join(v, "|") {
			t.Errorf("attribute %s = %v, want %v", k, attrs[k], v)
		}
	}
	if len(attrs) != len(want) {
		t.Errorf("unexpected attributes: %v", attrs)
	}
	if got := as.FindElement("./AuthnStatement").SelectAttrValue("AuthnInstant", ""); got != "2026-11-22T09:59:00.000Z" {
		t.Errorf("AuthnInstant %q", got)
	}
}

func TestIssueTamperDetected(t *testing.T) {
	s, _ := newIssuer(t)
	out, err := s.Issue(context.Background(), SAMLRequest{Subject: "alice", Role: testRole, RoleSessionName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(out.Base64)
	evil := strings.Replace(string(raw), "role/Admin", "role/Root", 1)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(evil); err != nil {
		t.Fatal(err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{s.cfg.Signing.Certificate}})
	vc.Clock = dsig.NewFakeClockAt(fixedNow)
	if _, err := vc.Validate(doc.Root().FindElement("./Assertion")); err == nil {
		t.Fatal("a changed role still verifies")
	}
}

func TestIssueRejects(t *testing.T) {
	s, _ := newIssuer(t)
	many := map[string]string{}
	for i := 0; i < 51; i++ {
		many["k"+strings.Repeat("x", i)] = "v"
	}
	base := SAMLRequest{Subject: "alice", Role: testRole, RoleSessionName: "alice"}
	tests := []struct {
		name   string
		edit   func(*SAMLRequest)
		reason string
	}{
		{"no subject", func(r *SAMLRequest) { r.Subject = "" }, "subject_invalid"},
		{"provider as role", func(r *SAMLRequest) { r.Role.RoleARN = testRole.ProviderARN }, "role_invalid"},
		{"cross account", func(r *SAMLRequest) { r.Role.ProviderARN = "arn:aws:iam::444455556666:saml-provider/broker" }, "role_invalid"},
		{"session name space", func(r *SAMLRequest) { r.RoleSessionName = "alice smith" }, "session_name_invalid"},
		{"session name short", func(r *SAMLRequest) { r.RoleSessionName = "a" }, "session_name_invalid"},
		{"duration short", func(r *SAMLRequest) { r.SessionDuration = 10 * time.Minute }, "session_duration_invalid"},
		{"duration long", func(r *SAMLRequest) { r.SessionDuration = 13 * time.Hour }, "session_duration_invalid"},
		{"51 tags", func(r *SAMLRequest) { r.PrincipalTags = many }, "tag_limit"},
		{"long tag key", func(r *SAMLRequest) { r.PrincipalTags = map[string]string{strings.Repeat("k", 129): "v"} }, "tag_limit"},
		{"long tag value", func(r *SAMLRequest) { r.PrincipalTags = map[string]string{"k": strings.Repeat("v", 257)} }, "tag_limit"},
		{"bad tag char", func(r *SAMLRequest) { r.PrincipalTags = map[string]string{"k": "a<b"} }, "tag_limit"},
		{"duplicate key case", func(r *SAMLRequest) { r.PrincipalTags = map[string]string{"Team": "a", "team": "b"} }, "tag_limit"},
		{"transitive not a tag", func(r *SAMLRequest) { r.TransitiveTagKeys = []string{"x"} }, "tag_limit"},
		{"source identity", func(r *SAMLRequest) { r.SourceIdentity = "has space" }, "source_identity_invalid"},
		{"recipient", func(r *SAMLRequest) { r.Recipient = "https://evil.example.com/saml" }, "recipient_invalid"},
		{"recipient lookalike", func(r *SAMLRequest) { r.Recipient = "https://signin.aws.amazon.com.evil.com/saml" }, "recipient_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			_, err := s.Issue(context.Background(), r)
			if broker.ErrorCode(err) != broker.EINVALID || broker.ErrorReason(err) != tt.reason {
				t.Fatalf("err %v, want invalid/%s", err, tt.reason)
			}
		})
	}
	for _, rcpt := range []string{"https://eu-west-1.signin.aws.amazon.com/saml", "https://signin.amazonaws-us-gov.com/saml", "https://signin.amazonaws.cn/saml"} {
		r := base
		r.Recipient = rcpt
		if _, err := s.Issue(context.Background(), r); err != nil {
			t.Errorf("recipient %s refused: %v", rcpt, err)
		}
	}
}

func TestMetadataListsPreviousCertificates(t *testing.T) {
	old, err := GenerateKeyPair("old", time.Hour, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	s, cur := newIssuer(t, KeyPair{Certificate: old.Certificate})
	md, err := s.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*x509.Certificate{cur.Certificate, old.Certificate} {
		if !strings.Contains(string(md), base64.StdEncoding.EncodeToString(c.Raw)) {
			t.Errorf("metadata lacks certificate %s", c.Subject.CommonName)
		}
	}
	if len(md) < 1000 {
		t.Errorf("metadata is %d bytes; IAM wants at least 1000", len(md))
	}
	// A response signed by the old key verifies against this metadata, one
	// by an unlisted key does not.
	oldIssuer, err := NewSAML(SAMLConfig{EntityID: s.cfg.EntityID, Signing: old, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	out, err := oldIssuer.Issue(context.Background(), SAMLRequest{Subject: "a", Role: testRole, RoleSessionName: "ab"})
	if err != nil {
		t.Fatal(err)
	}
	verify(t, s, out.Base64)
	stranger, _ := newIssuer(t)
	out, _ = stranger.Issue(context.Background(), SAMLRequest{Subject: "a", Role: testRole, RoleSessionName: "ab"})
	raw, _ := base64.StdEncoding.DecodeString(out.Base64)
	doc := etree.NewDocument()
	_ = doc.ReadFromBytes(raw)
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cur.Certificate, old.Certificate}})
	vc.Clock = dsig.NewFakeClockAt(fixedNow)
	if _, err := vc.Validate(doc.Root().FindElement("./Assertion")); err == nil {
		t.Error("a response signed by an unlisted key verified")
	}
}

func TestParseKeyPair(t *testing.T) {
	a, _ := GenerateKeyPair("a", time.Hour, fixedNow)
	b, _ := GenerateKeyPair("b", time.Hour, fixedNow)
	if _, err := ParseKeyPair(a.KeyPEM(), a.CertificatePEM()); err != nil {
		t.Fatalf("good pair: %v", err)
	}
	for name, tc := range map[string]struct {
		key, cert []byte
		want      string
	}{
		"mismatch":     {a.KeyPEM(), b.CertificatePEM(), "does not match"},
		"garbage key":  {[]byte("nope"), a.CertificatePEM(), "not PEM"},
		"cert as key":  {a.CertificatePEM(), a.CertificatePEM(), "not a private key"},
		"garbage cert": {a.KeyPEM(), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "parse certificate"},
		"short key":    {shortKeyPEM(t), a.CertificatePEM(), "at least 2048"},
	} {
		_, err := ParseKeyPair(tc.key, tc.cert)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: error echoes key material", name)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	s, _ := newIssuer(b)
	req := SAMLRequest{Subject: "alice", Role: testRole, RoleSessionName: "alice", SessionDuration: time.Hour, PrincipalTags: map[string]string{"team": "x"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Issue(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
