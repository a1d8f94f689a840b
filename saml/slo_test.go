package saml

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

// newSLOSP is an SP with SLOURL and an SP key, trusting p, whose metadata
// offers SLO with bindings.
func newSLOSP(t *testing.T, p *testIdP, bindings ...string) (*ServiceProvider, *memReplay, *testIdP) {
	t.Helper()
	spKeys := newTestIdP(t, t0)
	sp, rp := newSP(t, p, func(c *Config) {
		c.SLOURL, c.IDPMetadataXML = spSLO, p.sloMetadata(bindings...)
		c.Key, c.Certificate = spKeys.kp.Key, spKeys.kp.Certificate
	})
	return sp, rp, spKeys
}

var alice = &broker.Identity{Subject: "alice@example.com", SubjectFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", SessionIndex: "_s1"}

// TestLogoutRequestRedirectRoundTrip: the SP-initiated LogoutRequest goes
// by HTTP-Redirect, its query signature verifies over the exact octets
// with the SP's certificate (checked here with crypto/rsa, not the
// library), it names the session; the IdP's signed LogoutResponse to it
// is accepted, one to another request is not.
func TestLogoutRequestRedirectRoundTrip(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _, spKeys := newSLOSP(t, p, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if !sp.SingleLogoutSupported() {
		t.Fatal("SingleLogoutSupported is false with an SLO endpoint")
	}
	out, reqID, err := sp.LogoutRequest(alice, "relay-9")
	if err != nil {
		t.Fatal(err)
	}
	if out.PostURL != "" || out.Fields != nil || !strings.HasPrefix(out.RedirectURL, idpSLO+"?") {
		t.Fatalf("outbound %+v, want a redirect to %s", out, idpSLO)
	}
	rawQuery := out.RedirectURL[len(idpSLO)+1:]
	i := strings.Index(rawQuery, "&Signature=")
	if i < 0 || !strings.HasPrefix(rawQuery, "SAMLRequest=") {
		t.Fatalf("query %s", rawQuery)
	}
	signedOctets := rawQuery[:i]
	q, _ := url.ParseQuery(rawQuery)
	if q.Get("SigAlg") != dsig.RSASHA256SignatureMethod || q.Get("RelayState") != "relay-9" {
		t.Fatalf("query %v", q)
	}
	sig, _ := base64.StdEncoding.DecodeString(q.Get("Signature"))
	sum := sha256.Sum256([]byte(signedOctets))
	if err := rsa.VerifyPKCS1v15(spKeys.kp.Certificate.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("query signature does not verify over %q: %v", signedOctets, err)
	}
	x := inflate(t, q.Get("SAMLRequest"))
	var req saml.LogoutRequest
	if err := xml.Unmarshal(x, &req); err != nil {
		t.Fatal(err)
	}
	if req.ID != reqID || req.Destination != idpSLO || req.Issuer == nil || req.Issuer.Value != spMD || !req.IssueInstant.Equal(t0) ||
		req.NotOnOrAfter == nil || !req.NotOnOrAfter.Equal(t0.Add(logoutLifetime)) || req.Signature != nil {
		t.Errorf("LogoutRequest %s", x)
	}
	if req.NameID == nil || req.NameID.Value != alice.Subject || req.NameID.Format != alice.SubjectFormat ||
		req.SessionIndex == nil || req.SessionIndex.Value != "_s1" {
		t.Errorf("LogoutRequest names %s", x)
	}

	// The IdP answers.
	for _, envelope := range []bool{false, true} {
		ok := p.redirectLogout(t, logoutMsg{response: true, inResponseTo: reqID}, "relay-9", envelope)
		msg, err := sp.ParseLogout(ok, []string{"other", reqID})
		if err != nil {
			t.Fatalf("envelope %v: %v", envelope, err)
		}
		if msg.Request != nil || msg.Response == nil || !msg.Response.Success || msg.Response.InResponseTo != reqID ||
			msg.RelayState != "relay-9" || msg.Binding != BindingRedirect {
			t.Errorf("message %+v %+v", msg, msg.Response)
		}
	}
	_, err = sp.ParseLogout(p.redirectLogout(t, logoutMsg{response: true, inResponseTo: reqID}, "", false), []string{"other"})
	if broker.ErrorReason(err) != "in_response_to_mismatch" || broker.ErrorCode(err) != broker.EUNAUTHORIZED {
		t.Errorf("a response to no pending request: %v", err)
	}
	// A refusal is still a verified answer, not an error.
	msg, err := sp.ParseLogout(p.postLogout(t, logoutMsg{response: true, inResponseTo: reqID, status: "urn:oasis:names:tc:SAML:2.0:status:Responder"}, ""), []string{reqID})
	if err != nil || msg.Response.Success || msg.Response.StatusCode != "urn:oasis:names:tc:SAML:2.0:status:Responder" || msg.Binding != BindingPOST {
		t.Errorf("Responder answer: %+v, %v", msg, err)
	}
}

// TestLogoutRequestPost: an IdP offering only HTTP-POST gets a form whose
// LogoutRequest carries an enveloped signature by the SP's key; an SP
// without a key sends it unsigned.
func TestLogoutRequestPost(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _, spKeys := newSLOSP(t, p, saml.HTTPPostBinding)
	out, reqID, err := sp.LogoutRequest(alice, "")
	if err != nil {
		t.Fatal(err)
	}
	if out.RedirectURL != "" || out.PostURL != idpSLO || len(out.Fields) != 1 {
		t.Fatalf("outbound %+v", out)
	}
	x, _ := base64.StdEncoding.DecodeString(out.Fields["SAMLRequest"])
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(x); err != nil {
		t.Fatal(err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{spKeys.kp.Certificate}})
	vc.Clock = dsig.NewFakeClockAt(t0)
	signed, err := vc.Validate(doc.Root())
	if err != nil {
		t.Fatalf("enveloped signature: %v\n%s", err, x)
	}
	if signed.SelectAttrValue("ID", "") != reqID || !strings.Contains(string(x), "alice@example.com") {
		t.Errorf("signed request %s", x)
	}

	unsignedSP, _ := newSP(t, p, func(c *Config) { c.SLOURL, c.IDPMetadataXML = spSLO, p.sloMetadata(saml.HTTPRedirectBinding) })
	out, _, err = unsignedSP.LogoutRequest(alice, "r")
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(out.RedirectURL); u.Query().Get("Signature") != "" || u.Query().Get("SigAlg") != "" || u.Query().Get("SAMLRequest") == "" {
		t.Errorf("keyless SP signed: %s", out.RedirectURL)
	}
}

func TestLogoutUnavailable(t *testing.T) {
	p := newTestIdP(t, t0)
	noSLO, _, _ := newSLOSP(t, p)
	if noSLO.SingleLogoutSupported() {
		t.Error("SingleLogoutSupported without an IdP SLO endpoint")
	}
	if _, _, err := noSLO.LogoutRequest(alice, ""); broker.ErrorReason(err) != "no_slo_endpoint" {
		t.Errorf("no endpoint: %v", err)
	}
	notConfigured, _ := newSP(t, p, func(c *Config) { c.IDPMetadataXML = p.sloMetadata(saml.HTTPRedirectBinding) })
	if notConfigured.SingleLogoutSupported() {
		t.Error("SingleLogoutSupported without SLOURL")
	}
	if _, _, err := notConfigured.LogoutRequest(alice, ""); broker.ErrorReason(err) != "slo_not_configured" {
		t.Errorf("no SLOURL: %v", err)
	}
	full, _, _ := newSLOSP(t, p, saml.HTTPRedirectBinding)
	if _, _, err := full.LogoutRequest(&broker.Identity{}, ""); broker.ErrorCode(err) != broker.EINVALID {
		t.Errorf("no subject: %v", err)
	}
}

// TestParseLogoutRequest: IdP-initiated LogoutRequests over both bindings,
// accepted when signed by the IdP and refused otherwise, each refusal with
// its reason.
func TestParseLogoutRequest(t *testing.T) {
	p := newTestIdP(t, t0)
	other := newTestIdP(t, t0)
	sp, _, _ := newSLOSP(t, p, saml.HTTPRedirectBinding)
	tests := []struct {
		name     string
		m        logoutMsg
		redirect bool // else POST
		envelope bool // Redirect: enveloped signature instead of the query's
		reason   string
		code     string
	}{
		{name: "post", m: logoutMsg{}},
		{name: "redirect", m: logoutMsg{}, redirect: true},
		{name: "redirect enveloped", m: logoutMsg{}, redirect: true, envelope: true},
		{name: "post unsigned", m: logoutMsg{unsigned: true}, reason: "logout_unsigned", code: broker.EUNAUTHORIZED},
		{name: "redirect unsigned", m: logoutMsg{unsigned: true}, redirect: true, reason: "logout_unsigned", code: broker.EUNAUTHORIZED},
		{name: "post other key", m: logoutMsg{signer: other}, reason: "signature_invalid", code: broker.EUNAUTHORIZED},
		{name: "redirect other key", m: logoutMsg{signer: other}, redirect: true, reason: "signature_invalid", code: broker.EUNAUTHORIZED},
		{name: "post tampered", m: logoutMsg{tamper: func(s string) string { return strings.Replace(s, "alice@", "bob@", 1) }},
			reason: "signature_invalid", code: broker.EUNAUTHORIZED},
		{name: "wrong issuer", m: logoutMsg{issuer: "https://evil.example.com"}, reason: "issuer_mismatch", code: broker.EUNAUTHORIZED},
		{name: "wrong destination", m: logoutMsg{destination: "https://other.example.com/slo"}, redirect: true, reason: "destination_mismatch", code: broker.EUNAUTHORIZED},
		{name: "no destination", m: logoutMsg{destination: "-"}, reason: "destination_mismatch", code: broker.EUNAUTHORIZED},
		{name: "expired", m: logoutMsg{notOnOrAfter: t0.Add(-2 * time.Minute)}, reason: "logout_expired", code: broker.EEXPIRED},
		{name: "too old", m: logoutMsg{issued: t0.Add(-10 * time.Minute)}, redirect: true, reason: "logout_too_old", code: broker.EEXPIRED},
		{name: "future", m: logoutMsg{issued: t0.Add(10 * time.Minute)}, reason: "clock_skew", code: broker.EUNAUTHORIZED},
		{name: "comment", m: logoutMsg{tamper: func(s string) string { return strings.Replace(s, "alice@", "alice<!---->@", 1) }},
			reason: "xml_unsupported", code: broker.EINVALID},
		{name: "dtd", m: logoutMsg{tamper: func(s string) string { return `<!DOCTYPE x [<!ENTITY e "x">]>` + s }}, reason: "dtd_forbidden", code: broker.EINVALID},
		{name: "not xml", m: logoutMsg{tamper: func(string) string { return "<samlp:LogoutRequest" }}, reason: "malformed_logout", code: broker.EINVALID},
		{name: "deep", m: logoutMsg{edit: func(el *etree.Element) {
			e := el.CreateElement("samlp:Extensions")
			for range 40 {
				e = e.CreateElement("x:deep")
				e.CreateAttr("xmlns:x", "urn:x")
			}
		}}, reason: "malformed_logout", code: broker.EINVALID},
		{name: "two signatures", m: logoutMsg{edit: func(el *etree.Element) {
			el.CreateElement("samlp:Extensions").CreateElement("ds:Signature").CreateAttr("xmlns:ds", nsDSig)
		}}, reason: "signature_structure", code: broker.EUNAUTHORIZED},
		{name: "encrypted id", m: logoutMsg{edit: func(el *etree.Element) {
			n := el.SelectElement("NameID")
			el.RemoveChild(n)
			el.InsertChildAt(1, etree.NewElement("saml:EncryptedID"))
		}}, reason: "logout_no_name_id", code: broker.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *http.Request
			if tt.redirect {
				r = p.redirectLogout(t, tt.m, "rs", tt.envelope)
			} else {
				r = p.postLogout(t, tt.m, "rs")
			}
			msg, err := sp.ParseLogout(r, nil)
			if tt.reason != "" {
				e, ok := err.(*broker.Error)
				if !ok || e.Reason != tt.reason || e.Code != tt.code || e.Message == "" || msg != nil {
					t.Fatalf("got %+v, %v; want %s %s", msg, err, tt.code, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req := msg.Request
			if msg.Response != nil || req == nil || req.NameID != "alice@example.com" || req.NameIDFormat != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" ||
				len(req.SessionIndexes) != 1 || req.SessionIndexes[0] != "_s1" || req.ID == "" || msg.RelayState != "rs" ||
				!req.ReplayExpires.Equal(t0.Add(sp.cfg.ClockSkew+logoutReplayExtra)) {
				t.Errorf("message %+v, request %+v", msg, req)
			}
			want := BindingPOST
			if tt.redirect {
				want = BindingRedirect
			}
			if msg.Binding != want {
				t.Errorf("binding %s, want %s", msg.Binding, want)
			}
		})
	}
}

// TestParseLogoutInput: what is not a logout message by either binding.
func TestParseLogoutInput(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _, _ := newSLOSP(t, p, saml.HTTPRedirectBinding)
	big := base64.StdEncoding.EncodeToString(make([]byte, sp.cfg.MaxResponseBytes+10))
	bomb := deflate(t, []byte("<samlp:LogoutRequest xmlns:samlp=\""+nsProtocol+"\">"+strings.Repeat(" ", sp.cfg.MaxResponseBytes)+"</samlp:LogoutRequest>"))
	x, _ := p.logoutXML(t, logoutMsg{})
	resp, _ := p.logoutXML(t, logoutMsg{response: true, inResponseTo: "id-1"})
	b64 := base64.StdEncoding.EncodeToString
	for _, tt := range []struct {
		name, method, query, body, reason string
	}{
		{"nothing", http.MethodGet, "", "", "malformed_logout"},
		{"both", http.MethodGet, "SAMLRequest=" + url.QueryEscape(deflate(t, []byte(x))) + "&SAMLResponse=x", "", "malformed_logout"},
		{"twice", http.MethodGet, "SAMLRequest=a&SAMLRequest=b", "", "malformed_logout"},
		{"sigalg alone", http.MethodGet, "SAMLRequest=" + url.QueryEscape(deflate(t, []byte(x))) + "&SigAlg=x", "", "malformed_logout"},
		{"not deflated", http.MethodGet, "SAMLRequest=" + url.QueryEscape(b64([]byte(x))), "", "malformed_logout"},
		{"not base64", http.MethodPost, "", "SAMLRequest=%25%25%25", "malformed_logout"},
		{"oversized", http.MethodPost, "", "SAMLRequest=" + url.QueryEscape(big), "too_large"},
		{"inflates too far", http.MethodGet, "SAMLRequest=" + url.QueryEscape(bomb), "", "too_large"},
		{"response as request", http.MethodPost, "", "SAMLRequest=" + url.QueryEscape(b64([]byte(resp))), "malformed_logout"},
		{"a Response", http.MethodPost, "", "SAMLResponse=" + url.QueryEscape(p.build(t, resp0)), "malformed_logout"},
		{"PUT", http.MethodPut, "", "", "binding_unsupported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, spSLO+"?"+tt.query, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			_, err := sp.ParseLogout(r, []string{"id-1"})
			if broker.ErrorReason(err) != tt.reason || broker.ErrorMessage(err) == "" {
				t.Errorf("got %v, want %s", err, tt.reason)
			}
		})
	}
}

var resp0 = resp{}

// TestLogoutResponse: the answer to an IdP's LogoutRequest goes to its
// ResponseLocation, by Redirect when offered, with the status asked for.
func TestLogoutResponse(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, rp, spKeys := newSLOSP(t, p, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	msg, err := sp.ParseLogout(p.postLogout(t, logoutMsg{}, "rs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.RememberLogoutRequest(context.Background(), msg.Request); err != nil {
		t.Fatal(err)
	}
	if err := sp.RememberLogoutRequest(context.Background(), msg.Request); broker.ErrorCode(err) != broker.EREPLAY {
		t.Errorf("the same LogoutRequest burnt twice: %v", err)
	}
	if len(rp.m) != 1 {
		t.Errorf("replay cache %v", rp.m)
	}
	for _, success := range []bool{true, false} {
		out, err := sp.LogoutResponse(msg.Request, success, msg.RelayState)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(out.RedirectURL)
		if err != nil || !strings.HasPrefix(out.RedirectURL, idpSLOReply+"?") || u.Query().Get("RelayState") != "rs" {
			t.Fatalf("outbound %+v", out)
		}
		rawQuery := u.RawQuery
		signed := rawQuery[:strings.Index(rawQuery, "&Signature=")]
		sig, _ := base64.StdEncoding.DecodeString(u.Query().Get("Signature"))
		if err := spKeys.kp.Certificate.CheckSignature(x509.SHA256WithRSA, []byte(signed), sig); err != nil {
			t.Errorf("LogoutResponse query signature: %v", err)
		}
		var resp saml.LogoutResponse
		if err := xml.Unmarshal(inflate(t, u.Query().Get("SAMLResponse")), &resp); err != nil {
			t.Fatal(err)
		}
		want := saml.StatusSuccess
		if !success {
			want = saml.StatusResponder
		}
		if resp.InResponseTo != msg.Request.ID || resp.Destination != idpSLOReply || resp.Issuer.Value != spMD || resp.Status.StatusCode.Value != want {
			t.Errorf("LogoutResponse %+v", resp)
		}
	}
	postOnly, _, _ := newSLOSP(t, p, saml.HTTPPostBinding)
	out, err := postOnly.LogoutResponse(msg.Request, true, "")
	if err != nil || out.PostURL != idpSLOReply || out.Fields["SAMLResponse"] == "" || out.RedirectURL != "" {
		t.Errorf("POST response %+v, %v", out, err)
	}
}

// TestSPMetadataSLO: the SP metadata names SLOURL with both bindings and,
// as logout messages are signed, the signing certificate.
func TestSPMetadataSLO(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _, spKeys := newSLOSP(t, p, saml.HTTPRedirectBinding)
	b, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	d := md.SPSSODescriptors[0]
	got := map[string]string{}
	for _, e := range d.SingleLogoutServices {
		got[e.Binding] = e.Location
	}
	if len(got) != 2 || got[saml.HTTPRedirectBinding] != spSLO || got[saml.HTTPPostBinding] != spSLO {
		t.Errorf("SingleLogoutServices %+v", d.SingleLogoutServices)
	}
	signing := false
	for _, kd := range d.KeyDescriptors {
		if kd.Use == "signing" && kd.KeyInfo.X509Data.X509Certificates[0].Data == base64.StdEncoding.EncodeToString(spKeys.kp.Certificate.Raw) {
			signing = true
		}
	}
	if !signing {
		t.Error("no signing certificate for logout messages")
	}
	plain, _ := newSP(t, p, nil)
	b, _ = plain.Metadata()
	if strings.Contains(string(b), "SingleLogoutService") {
		t.Error("SingleLogoutService advertised without SLOURL")
	}
}
