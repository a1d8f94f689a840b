package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"

	"github.com/broker-dev/broker/issuer"
)

const (
	idpEntity = "https://idp.example.com/metadata"
	spMD      = "https://broker.example.com/saml/okta/metadata"
	spACS     = "https://broker.example.com/saml/okta/acs"
)

// testIdP signs responses with a real key; its metadata is what the SP trusts.
type testIdP struct {
	kp     issuer.KeyPair
	signer *issuer.Signer
	now    time.Time
}

func newTestIdP(tb testing.TB, now time.Time) *testIdP {
	tb.Helper()
	kp, err := issuer.GenerateKeyPair("test idp", 48*time.Hour, now)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := issuer.NewSigner(kp)
	if err != nil {
		tb.Fatal(err)
	}
	return &testIdP{kp: kp, signer: s, now: now}
}

func (p *testIdP) metadata() []byte {
	return []byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + idpEntity + `">
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
		base64.StdEncoding.EncodeToString(p.kp.Certificate.Raw) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
</IDPSSODescriptor></EntityDescriptor>`)
}

// resp describes a response to build; the zero value is a valid
// SP-initiated response to request "req-1", both Response and Assertion signed.
type resp struct {
	inResponseTo   string // default req-1; "-" for none
	audiences      []string
	recipient      string
	destination    string
	issuer         string
	nameID         string
	attrs          map[string][]string
	issued         time.Time
	lifetime       time.Duration
	status         string
	unsignedResp   bool
	unsignedAssert bool
	extraAssertion bool
	noBearer       bool
	twoConfirms    bool
	noAuthn        bool
	assertionID    string
	tamper         func(string) string

	// prefix spells the assertion's elements: "" is saml:, "-" a default
	// namespace declaration on the Assertion, anything else that prefix.
	prefix string
	// editAssertion and editResponse change the tree before it is signed
	// (the signature stays valid); afterSign changes the signed Response.
	editAssertion func(a *etree.Element)
	editResponse  func(r *etree.Element)
	afterSign     func(r *etree.Element)
	// encryptTo encrypts the (signed) assertion to this SP certificate.
	encryptTo *x509.Certificate
}

func (p *testIdP) build(tb testing.TB, r resp) string {
	tb.Helper()
	if r.inResponseTo == "" {
		r.inResponseTo = "req-1"
	}
	if r.inResponseTo == "-" {
		r.inResponseTo = ""
	}
	if r.audiences == nil {
		r.audiences = []string{spMD}
	}
	if r.recipient == "" {
		r.recipient = spACS
	}
	if r.destination == "" {
		r.destination = spACS
	}
	if r.issuer == "" {
		r.issuer = idpEntity
	}
	if r.nameID == "" {
		r.nameID = "alice@example.com"
	}
	if r.issued.IsZero() {
		r.issued = p.now
	}
	if r.lifetime == 0 {
		r.lifetime = 5 * time.Minute
	}
	if r.status == "" {
		r.status = "urn:oasis:names:tc:SAML:2.0:status:Success"
	}
	if r.assertionID == "" {
		r.assertionID = "_a" + r.issued.Format("150405.000000000")
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

	q := func(local string) string { return "saml:" + local }
	switch r.prefix {
	case "":
	case "-":
		q = func(local string) string { return local }
	default:
		q = func(local string) string { return r.prefix + ":" + local }
	}
	assertion := func(id string) *etree.Element {
		a := etree.NewElement(q("Assertion"))
		if a.Space == "" {
			a.CreateAttr("xmlns", "urn:oasis:names:tc:SAML:2.0:assertion")
		} else {
			a.CreateAttr("xmlns:"+a.Space, "urn:oasis:names:tc:SAML:2.0:assertion")
		}
		a.CreateAttr("ID", id)
		a.CreateAttr("Version", "2.0")
		a.CreateAttr("IssueInstant", ts(r.issued))
		a.CreateElement(q("Issuer")).SetText(r.issuer)
		sub := a.CreateElement(q("Subject"))
		n := sub.CreateElement(q("NameID"))
		n.CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
		n.SetText(r.nameID)
		confirms := 1
		if r.twoConfirms {
			confirms = 2
		}
		for i := 0; i < confirms; i++ {
			sc := sub.CreateElement(q("SubjectConfirmation"))
			method := "urn:oasis:names:tc:SAML:2.0:cm:bearer"
			if r.noBearer {
				method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
			}
			sc.CreateAttr("Method", method)
			scd := sc.CreateElement(q("SubjectConfirmationData"))
			scd.CreateAttr("NotOnOrAfter", ts(r.issued.Add(r.lifetime)))
			scd.CreateAttr("Recipient", r.recipient)
			if r.inResponseTo != "" {
				scd.CreateAttr("InResponseTo", r.inResponseTo)
			}
		}
		c := a.CreateElement(q("Conditions"))
		c.CreateAttr("NotBefore", ts(r.issued.Add(-time.Minute)))
		c.CreateAttr("NotOnOrAfter", ts(r.issued.Add(r.lifetime)))
		for _, aud := range r.audiences {
			c.CreateElement(q("AudienceRestriction")).CreateElement(q("Audience")).SetText(aud)
		}
		if !r.noAuthn {
			as := a.CreateElement(q("AuthnStatement"))
			as.CreateAttr("AuthnInstant", ts(r.issued))
			as.CreateAttr("SessionIndex", "_s1")
			as.CreateElement(q("AuthnContext")).CreateElement(q("AuthnContextClassRef")).SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
		}
		if len(r.attrs) > 0 {
			st := a.CreateElement(q("AttributeStatement"))
			for name, vals := range r.attrs {
				at := st.CreateElement(q("Attribute"))
				at.CreateAttr("Name", name)
				for _, v := range vals {
					at.CreateElement(q("AttributeValue")).SetText(v)
				}
			}
		}
		if r.editAssertion != nil {
			r.editAssertion(a)
		}
		if r.unsignedAssert {
			return a
		}
		signed, err := p.signer.Sign(a)
		if err != nil {
			tb.Fatal(err)
		}
		return signed
	}

	root := etree.NewElement("samlp:Response")
	root.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	root.CreateAttr("ID", "_r"+r.assertionID)
	root.CreateAttr("Version", "2.0")
	root.CreateAttr("IssueInstant", ts(r.issued))
	root.CreateAttr("Destination", r.destination)
	if r.inResponseTo != "" {
		root.CreateAttr("InResponseTo", r.inResponseTo)
	}
	iss := root.CreateElement("saml:Issuer")
	iss.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	iss.SetText(r.issuer)
	root.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", r.status)
	if a := assertion(r.assertionID); r.encryptTo != nil {
		root.AddChild(encrypt(tb, a, r.encryptTo))
	} else {
		root.AddChild(a)
	}
	if r.extraAssertion {
		root.AddChild(assertion(r.assertionID + "x"))
	}
	if r.editResponse != nil {
		r.editResponse(root)
	}
	if !r.unsignedResp {
		var err error
		if root, err = p.signer.Sign(root); err != nil {
			tb.Fatal(err)
		}
	}
	if r.afterSign != nil {
		r.afterSign(root)
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	s, err := doc.WriteToString()
	if err != nil {
		tb.Fatal(err)
	}
	if r.tamper != nil {
		s = r.tamper(s)
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// encrypt wraps a in a saml:EncryptedAssertion for cert (RSA-OAEP,
// AES-256-GCM).
func encrypt(tb testing.TB, a *etree.Element, cert *x509.Certificate) *etree.Element {
	tb.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(a)
	plain, err := doc.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	enc := xmlenc.OAEP()
	enc.BlockCipher = xmlenc.AES256GCM
	data, err := enc.Encrypt(cert, plain, nil)
	if err != nil {
		tb.Fatal(err)
	}
	data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ea := etree.NewElement("saml:EncryptedAssertion")
	ea.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	ea.AddChild(data)
	return ea
}

// newSP builds an SP that trusts p, with our clock at p.now.
func newSP(tb testing.TB, p *testIdP, edit func(*Config)) (*ServiceProvider, *memReplay) {
	tb.Helper()
	now := fixedNow(p.now)
	rp := newMemReplay(now)
	cfg := Config{ID: "okta", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: p.metadata(), Replay: rp, Now: now}
	if edit != nil {
		edit(&cfg)
	}
	sp, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return sp, rp
}

// toggleServer serves metadata until it is switched off.
func toggleServer(tb testing.TB, body []byte) (*httptest.Server, *atomic.Bool) {
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv, &down
}
