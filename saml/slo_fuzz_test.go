package saml

import (
	"bytes"
	"compress/flate"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

// FuzzParseLogout posts fuzzed logout XML by HTTP-POST, as SAMLRequest
// or SAMLResponse, to an SP trusting a test IdP whose signed messages
// are among the seeds. Invariants: no panic; every refusal is a
// *broker.Error with a code, a reason and a safe message; an accepted
// LogoutRequest is one a signature by the trusted IdP covers (checked
// with goxmldsig directly), naming the NameID that signature covers.
func FuzzParseLogout(f *testing.F) {
	p := newTestIdP(f, t0)
	for _, m := range []logoutMsg{{}, {unsigned: true}, {response: true, inResponseTo: "id-1"},
		{response: true, inResponseTo: "id-1", unsigned: true}, {issuer: "x"}, {notOnOrAfter: t0}} {
		x, _ := p.logoutXML(f, m)
		f.Add([]byte(x), m.response)
	}
	sp := newFuzzSLOSP(f, p)
	f.Fuzz(func(t *testing.T, raw []byte, response bool) {
		param := "SAMLRequest"
		if response {
			param = "SAMLResponse"
		}
		form := url.Values{param: {base64.StdEncoding.EncodeToString(raw)}}
		r := httptest.NewRequest(http.MethodPost, spSLO, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		msg, err := sp.ParseLogout(r, []string{"id-1"})
		if err != nil {
			checkLogoutRefusal(t, msg, err)
			return
		}
		if msg.Request != nil {
			checkLogoutSigned(t, p.kp.Certificate, raw, msg.Request)
		}
	})
}

// FuzzParseLogoutQuery sends a fuzzed raw query by HTTP-Redirect; the
// seeds are signed messages of the test IdP. Invariants as FuzzParseLogout:
// an accepted LogoutRequest's query signature verifies over the octets of
// the query with the IdP's key.
func FuzzParseLogoutQuery(f *testing.F) {
	p := newTestIdP(f, t0)
	for _, m := range []logoutMsg{{}, {unsigned: true}, {response: true, inResponseTo: "id-1"}} {
		f.Add(p.redirectLogout(f, m, "relay", false).URL.RawQuery)
	}
	f.Add(p.redirectLogout(f, logoutMsg{}, "", true).URL.RawQuery)
	f.Add("SAMLRequest=&SAMLRequest=&SigAlg=%zz")
	sp := newFuzzSLOSP(f, p)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, spSLO, nil)
		r.URL.RawQuery = rawQuery
		msg, err := sp.ParseLogout(r, []string{"id-1"})
		if err != nil {
			checkLogoutRefusal(t, msg, err)
			return
		}
		if msg.Request == nil {
			return
		}
		in, err := readRedirectQuery(rawQuery)
		if err != nil {
			t.Fatalf("accepted a query readRedirectQuery refuses: %v", err)
		}
		if in.signedContent == nil { // then an enveloped signature
			checkLogoutSigned(t, p.kp.Certificate, inflateQuiet(in.message), msg.Request)
			return
		}
		sig, _ := base64.StdEncoding.DecodeString(in.signature)
		if p.kp.Certificate.CheckSignature(x509.SHA256WithRSA, in.signedContent, sig) != nil {
			t.Fatalf("accepted a LogoutRequest the IdP did not sign: %q", rawQuery)
		}
	})
}

func newFuzzSLOSP(f *testing.F, p *testIdP) *ServiceProvider {
	f.Helper()
	sp, _ := newSP(f, p, func(c *Config) { c.SLOURL, c.IDPMetadataXML = spSLO, p.sloMetadata(saml.HTTPRedirectBinding) })
	return sp
}

func checkLogoutRefusal(t *testing.T, msg *LogoutMessage, err error) {
	t.Helper()
	e, ok := err.(*broker.Error)
	if !ok || msg != nil {
		t.Fatalf("refusal is %T (message %v): %v", err, msg != nil, err)
	}
	if e.Code == "" || e.Code == broker.EINTERNAL || e.Reason == "" || e.Message == "" || strings.Contains(e.Message, "<") {
		t.Fatalf("refusal without a code, reason or safe message: %#v", e)
	}
}

// checkLogoutSigned fails unless raw carries a signature by cert covering
// a LogoutRequest with req's ID and NameID.
func checkLogoutSigned(t *testing.T, cert *x509.Certificate, raw []byte, req *LogoutRequestInfo) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		t.Fatalf("accepted what goxmldsig cannot read: %v", err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vc.Clock = dsig.NewFakeClockAt(t0)
	signed, err := vc.Validate(doc.Root())
	if err != nil {
		t.Fatalf("accepted a LogoutRequest no trusted signature covers: %v", err)
	}
	n := signed.FindElement("./NameID")
	if signed.SelectAttrValue("ID", "") != req.ID || n == nil || strings.TrimSpace(n.Text()) != req.NameID {
		t.Fatalf("accepted %+v, but the signature covers another request", req)
	}
}

// inflateQuiet is s base64-decoded and inflated, nil when it is not.
func inflateQuiet(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	out, _ := io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	return out
}
