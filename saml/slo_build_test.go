package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

const (
	spSLO       = "https://broker.example.com/saml/okta/slo"
	idpSLO      = "https://idp.example.com/slo"
	idpSLOReply = "https://idp.example.com/slo/reply"
)

// sloMetadata is p's metadata with SingleLogoutServices for bindings.
func (p *testIdP) sloMetadata(bindings ...string) []byte {
	var eps string
	for _, b := range bindings {
		eps += `<SingleLogoutService Binding="` + b + `" Location="` + idpSLO + `" ResponseLocation="` + idpSLOReply + `"/>`
	}
	return []byte(strings.Replace(string(p.metadata()), "<SingleSignOnService", eps+"<SingleSignOnService", 1))
}

// logoutMsg describes a logout message from the IdP; the zero value is a
// valid signed LogoutRequest for alice.
type logoutMsg struct {
	response     bool   // a LogoutResponse
	inResponseTo string // for a response
	status       string // for a response; default Success
	issuer       string
	destination  string // "-" for none
	issued       time.Time
	notOnOrAfter time.Time
	unsigned     bool
	signer       *testIdP // default the IdP itself
	edit         func(*etree.Element)
	tamper       func(string) string // on the serialized XML, after signing
}

func (p *testIdP) logoutXML(tb testing.TB, m logoutMsg) (string, *etree.Element) {
	tb.Helper()
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	if m.issuer == "" {
		m.issuer = idpEntity
	}
	if m.destination == "" {
		m.destination = spSLO
	}
	if m.issued.IsZero() {
		m.issued = p.now
	}
	name := "samlp:LogoutRequest"
	if m.response {
		name = "samlp:LogoutResponse"
	}
	el := etree.NewElement(name)
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", "_lo"+m.issued.Format("150405.000000000"))
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", ts(m.issued))
	if m.destination != "-" {
		el.CreateAttr("Destination", m.destination)
	}
	if !m.notOnOrAfter.IsZero() {
		el.CreateAttr("NotOnOrAfter", ts(m.notOnOrAfter))
	}
	if m.response {
		el.CreateAttr("InResponseTo", m.inResponseTo)
	}
	el.CreateElement("saml:Issuer").SetText(m.issuer)
	if m.response {
		if m.status == "" {
			m.status = statusSuccess
		}
		el.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", m.status)
	} else {
		n := el.CreateElement("saml:NameID")
		n.CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
		n.SetText("alice@example.com")
		el.CreateElement("samlp:SessionIndex").SetText("_s1")
	}
	if m.edit != nil {
		m.edit(el)
	}
	out := el
	if !m.unsigned {
		s := m.signer
		if s == nil {
			s = p
		}
		var err error
		if out, err = s.signer.Sign(el); err != nil {
			tb.Fatal(err)
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(out)
	x, err := doc.WriteToString()
	if err != nil {
		tb.Fatal(err)
	}
	if m.tamper != nil {
		x = m.tamper(x)
	}
	return x, el
}

// postLogout is the HTTP-POST request carrying m.
func (p *testIdP) postLogout(tb testing.TB, m logoutMsg, relay string) *http.Request {
	tb.Helper()
	x, _ := p.logoutXML(tb, m)
	param := "SAMLRequest"
	if m.response {
		param = "SAMLResponse"
	}
	form := url.Values{param: {base64.StdEncoding.EncodeToString([]byte(x))}}
	if relay != "" {
		form.Set("RelayState", relay)
	}
	r := httptest.NewRequest(http.MethodPost, spSLO, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// redirectLogout is the HTTP-Redirect request carrying m: the XML
// deflated (with no enveloped signature unless m.unsigned is false and
// envelope is set), the query signed with the IdP's key unless m.unsigned.
func (p *testIdP) redirectLogout(tb testing.TB, m logoutMsg, relay string, envelope bool) *http.Request {
	tb.Helper()
	sign := !m.unsigned
	if !envelope {
		m.unsigned = true
	}
	x, _ := p.logoutXML(tb, m)
	param := "SAMLRequest"
	if m.response {
		param = "SAMLResponse"
	}
	q := param + "=" + url.QueryEscape(deflate(tb, []byte(x)))
	if relay != "" {
		q += "&RelayState=" + url.QueryEscape(relay)
	}
	if sign {
		s := m.signer
		if s == nil {
			s = p
		}
		q += "&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
		sum := sha256.Sum256([]byte(q))
		sig, err := rsa.SignPKCS1v15(rand.Reader, s.kp.Key, crypto.SHA256, sum[:])
		if err != nil {
			tb.Fatal(err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	return httptest.NewRequest(http.MethodGet, spSLO+"?"+q, nil)
}

func deflate(tb testing.TB, b []byte) string {
	tb.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func inflate(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
