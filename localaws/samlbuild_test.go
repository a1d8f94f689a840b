package localaws

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// signMode says which elements of a test Response are signed.
type signMode int

const (
	signAssertion signMode = iota
	signResponse
	signBoth
	signNone
)

type samlAttr struct {
	Name   string
	Values []string
}

// samlSpec describes a test SAML Response. spec() returns a valid one;
// tests change one thing.
type samlSpec struct {
	Signer          *testIdP
	Sign            signMode
	SigMethod       string
	ResponseID      string
	AssertionID     string
	Issuer          string
	ResponseIssuer  string // "" = Issuer; "-" = none
	Status          string
	NameID          string
	NameIDFormat    string
	IssueInstant    time.Time
	Confirmations   int    // SubjectConfirmation elements; default 1
	SCMethod        string // default bearer
	Recipient       string
	SCNotOnOrAfter  time.Time // zero: attribute omitted
	NotBefore       time.Time
	NotOnOrAfter    time.Time
	Audiences       []string // one AudienceRestriction; nil: no restriction
	SessionNotAfter time.Time
	Attrs           []samlAttr
	// BeforeSign edits the Assertion before it is signed (or placed).
	BeforeSign func(assertion *etree.Element)
	// AfterSign edits the finished document, after every signature.
	AfterSign func(doc *etree.Document)
}

func (f *fixture) spec() samlSpec {
	now := f.clock.Now()
	return samlSpec{
		Signer:          f.idp,
		SigMethod:       dsig.RSASHA256SignatureMethod,
		ResponseID:      "_resp" + now.Format("150405.000000000"),
		AssertionID:     "_a" + randomHexNoTB(),
		Issuer:          testEntityID,
		Status:          statusSuccess,
		NameID:          "alice@example.com",
		NameIDFormat:    nameIDPersistent,
		IssueInstant:    now,
		Confirmations:   1,
		SCMethod:        cmBearer,
		Recipient:       awsSAMLURL,
		SCNotOnOrAfter:  now.Add(5 * time.Minute),
		NotBefore:       now.Add(-time.Minute),
		NotOnOrAfter:    now.Add(5 * time.Minute),
		Audiences:       []string{awsSAMLURL},
		SessionNotAfter: now.Add(8 * time.Hour),
		Attrs: []samlAttr{
			{Name: "https://aws.amazon.com/SAML/Attributes/Role", Values: []string{
				pairValue(roleAdmin, testProvider), pairValue(roleLong, testProvider), pairValue(roleDeny, testProvider),
				pairValue(roleCond, testProvider), pairValue(roleOther, testProvider), pairValue(roleNoTags, testProvider),
				testProvider + "," + roleLike,
			}},
			{Name: "https://aws.amazon.com/SAML/Attributes/RoleSessionName", Values: []string{"alice@example.com"}},
			{Name: "urn:oid:1.3.6.1.4.1.5923.1.1.1.1", Values: []string{"member", "staff"}},
		},
	}
}

func randomHexNoTB() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// randomName returns n random URL-safe characters (incompressible).
func randomName(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// withAttr returns attrs with name's values replaced (or added); no values
// removes the attribute.
func withAttr(attrs []samlAttr, name string, values ...string) []samlAttr {
	var out []samlAttr
	done := false
	for _, a := range attrs {
		if a.Name == name {
			done = true
			if len(values) > 0 {
				out = append(out, samlAttr{Name: name, Values: values})
			}
			continue
		}
		out = append(out, a)
	}
	if !done && len(values) > 0 {
		out = append(out, samlAttr{Name: name, Values: values})
	}
	return out
}

const xmlTime = "2006-01-02T15:04:05Z"

// build returns the base64 SAML Response described by s.
func (f *fixture) build(tb testing.TB, s samlSpec) string {
	tb.Helper()
	a := buildAssertion(s)
	if s.BeforeSign != nil {
		s.BeforeSign(a)
	}
	if s.Sign == signAssertion || s.Sign == signBoth {
		a = sign(tb, a, s.Signer, s.SigMethod)
	}
	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsSAMLP)
	resp.CreateAttr("xmlns:saml", nsSAML)
	resp.CreateAttr("ID", s.ResponseID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", s.IssueInstant.Format(xmlTime))
	resp.CreateAttr("Destination", awsSAMLURL)
	switch s.ResponseIssuer {
	case "":
		resp.CreateElement("saml:Issuer").SetText(s.Issuer)
	case "-":
	default:
		resp.CreateElement("saml:Issuer").SetText(s.ResponseIssuer)
	}
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", s.Status)
	resp.AddChild(a)
	if s.Sign == signResponse || s.Sign == signBoth {
		resp = sign(tb, resp, s.Signer, s.SigMethod)
	}
	doc := etree.NewDocument()
	doc.SetRoot(resp)
	if s.AfterSign != nil {
		s.AfterSign(doc)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		tb.Fatalf("serialize response: %v", err)
	}
	return base64.StdEncoding.EncodeToString(out)
}

func buildAssertion(s samlSpec) *etree.Element {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsSAML)
	a.CreateAttr("ID", s.AssertionID)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", s.IssueInstant.Format(xmlTime))
	a.CreateElement("saml:Issuer").SetText(s.Issuer)
	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", s.NameIDFormat)
	nid.SetText(s.NameID)
	for range s.Confirmations {
		sc := subj.CreateElement("saml:SubjectConfirmation")
		sc.CreateAttr("Method", s.SCMethod)
		scd := sc.CreateElement("saml:SubjectConfirmationData")
		if !s.SCNotOnOrAfter.IsZero() {
			scd.CreateAttr("NotOnOrAfter", s.SCNotOnOrAfter.Format(xmlTime))
		}
		if s.Recipient != "" {
			scd.CreateAttr("Recipient", s.Recipient)
		}
	}
	cond := a.CreateElement("saml:Conditions")
	if !s.NotBefore.IsZero() {
		cond.CreateAttr("NotBefore", s.NotBefore.Format(xmlTime))
	}
	if !s.NotOnOrAfter.IsZero() {
		cond.CreateAttr("NotOnOrAfter", s.NotOnOrAfter.Format(xmlTime))
	}
	if s.Audiences != nil {
		ar := cond.CreateElement("saml:AudienceRestriction")
		for _, aud := range s.Audiences {
			ar.CreateElement("saml:Audience").SetText(aud)
		}
	}
	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", s.IssueInstant.Format(xmlTime))
	if !s.SessionNotAfter.IsZero() {
		as.CreateAttr("SessionNotOnOrAfter", s.SessionNotAfter.Format(xmlTime))
	}
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").
		SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	if len(s.Attrs) > 0 {
		st := a.CreateElement("saml:AttributeStatement")
		for _, at := range s.Attrs {
			el := st.CreateElement("saml:Attribute")
			el.CreateAttr("Name", at.Name)
			for _, v := range at.Values {
				el.CreateElement("saml:AttributeValue").SetText(v)
			}
		}
	}
	return a
}

// sign returns a copy of el with an enveloped, exclusive-c14n signature
// inserted right after its Issuer, as SAML's schema orders it.
func sign(tb testing.TB, el *etree.Element, idp *testIdP, method string) *etree.Element {
	tb.Helper()
	ctx, err := dsig.NewSigningContext(idp.key, [][]byte{idp.certDER})
	if err != nil {
		tb.Fatalf("signing context: %v", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(method); err != nil {
		tb.Fatalf("signature method: %v", err)
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		tb.Fatalf("sign %s: %v", el.Tag, err)
	}
	out := el.Copy()
	at := 0
	for i, c := range out.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			at = i + 1
		}
	}
	out.InsertChildAt(at, sig)
	return out
}

// findEl returns the first element matching an etree path or fails.
func findEl(tb testing.TB, doc *etree.Document, path string) *etree.Element {
	tb.Helper()
	el := doc.FindElement(path)
	if el == nil {
		tb.Fatalf("no element %s", path)
	}
	return el
}
