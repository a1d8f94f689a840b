package devidp

import (
	"errors"

	"encoding/base64"
	"encoding/xml"
	"github.com/beevik/etree"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker/issuer"
)

const spSLO = "https://sp.example.com/slo"

var (
	bob        = User{Username: "bob", Password: "battery staple", Email: "bob@example.com", OTP: "424242"}
	samlReqRe  = regexp.MustCompile(`name="SAMLRequest" value="([^"]+)"`)
	relayRe    = regexp.MustCompile(`name="RelayState" value="([^"]+)"`)
	classRefRe = regexp.MustCompile(`AuthnContextClassRef>([^<]+)<`)
	indexRe    = regexp.MustCompile(`SessionIndex="([^"]+)"`)
)

// newSLOIdP is an IdP whose first SP has an SLOURL and a certificate; it
// returns the crewjam SP playing that SP, with the key it signs with.
func newSLOIdP(t *testing.T) (*IdP, *httptest.Server, *saml.ServiceProvider) {
	t.Helper()
	kp, err := issuer.GenerateKeyPair("sp", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var p *IdP
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	p, err = New(Config{BaseURL: srv.URL, Users: []User{alice, bob}, ServiceProviders: []ServiceProvider{
		{EntityID: spEntity, ACSURL: spACS, SLOURL: spSLO, Certificate: kp.Certificate},
		{EntityID: awsEntity, ACSURL: awsACS, AWS: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	crewSP := sp(t, p, spEntity, spACS)
	slo, _ := url.Parse(spSLO)
	crewSP.SloURL, crewSP.Key, crewSP.Certificate = *slo, kp.Key, kp.Certificate
	crewSP.LogoutSignatureMethod = dsig.RSASHA256SignatureMethod
	return p, srv, crewSP
}

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// signIn runs an SP-initiated sign-in of user (with otp when set) and
// returns the Response's XML.
func signIn(t *testing.T, c *http.Client, srv *httptest.Server, crewSP *saml.ServiceProvider, user User, otp string) string {
	t.Helper()
	req, err := crewSP.MakeAuthenticationRequest(crewSP.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := req.Redirect("", crewSP)
	_, body := get(t, c, u.String())
	if m := reqField.FindStringSubmatch(body); m != nil {
		_, body = post(t, c, srv.URL+"/login", url.Values{"req": {m[1]}, "username": {user.Username}, "password": {user.Password}, "otp": {otp}})
	}
	m := samlResp.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no Response: %s", body)
	}
	raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	return string(raw)
}

func TestMetadataAdvertisesSLO(t *testing.T) {
	p, srv := newIdP(t)
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(p.Metadata(), &md); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range md.IDPSSODescriptors[0].SingleLogoutServices {
		got[e.Binding] = e.Location
	}
	if len(got) != 2 || got[saml.HTTPRedirectBinding] != srv.URL+"/saml/slo" || got[saml.HTTPPostBinding] != srv.URL+"/saml/slo" {
		t.Errorf("SingleLogoutServices %v", got)
	}
}

// TestAuthnContextAndSessionIndex: password sign-ins are asserted as
// PasswordProtectedTransport, with the OTP as MobileTwoFactorContract;
// every Response of one SSO session has its SessionIndex, another
// session another one.
func TestAuthnContextAndSessionIndex(t *testing.T) {
	_, srv, crewSP := newSLOIdP(t)
	c := newClient()
	first := signIn(t, c, srv, crewSP, alice, "")
	second := signIn(t, c, srv, crewSP, alice, "")
	if classRefRe.FindStringSubmatch(first)[1] != ClassPassword {
		t.Errorf("password sign-in asserted as %s", classRefRe.FindStringSubmatch(first)[1])
	}
	i1, i2 := indexRe.FindStringSubmatch(first)[1], indexRe.FindStringSubmatch(second)[1]
	if i1 != i2 {
		t.Errorf("one SSO session, two SessionIndexes %s %s", i1, i2)
	}
	other := signIn(t, newClient(), srv, crewSP, bob, "424242")
	if classRefRe.FindStringSubmatch(other)[1] != ClassTwoFactor || indexRe.FindStringSubmatch(other)[1] == i1 {
		t.Errorf("OTP sign-in: %s, index %s", classRefRe.FindStringSubmatch(other)[1], indexRe.FindStringSubmatch(other)[1])
	}
	if _, body := post(t, newClient(), srv.URL+"/login", url.Values{"username": {"bob"}, "password": {"battery staple"}, "otp": {"000000"}}); !strings.Contains(body, "Wrong one-time code") {
		t.Errorf("a wrong OTP accepted: %s", body)
	}
}

// TestRequestedMFAAndForceAuthn: an AuthnRequest naming an MFA class
// makes the OTP required; a person without one gets NoAuthnContext;
// ForceAuthn asks for the password despite the session.
func TestRequestedMFAAndForceAuthn(t *testing.T) {
	_, srv, crewSP := newSLOIdP(t)
	mfaSP := *crewSP
	mfaSP.RequestedAuthnContext = &saml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRefs: []string{ClassTwoFactor}}
	req, _ := mfaSP.MakeAuthenticationRequest(mfaSP.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	u, _ := req.Redirect("", &mfaSP)
	c := newClient()
	_, body := get(t, c, u.String())
	if !strings.Contains(body, `id="otp-required"`) || !strings.Contains(body, `autocomplete="one-time-code" required`) {
		t.Fatalf("the form does not require the OTP: %s", body)
	}
	key := reqField.FindStringSubmatch(body)[1]
	resp, body := post(t, c, srv.URL+"/login", url.Values{"req": {key}, "username": {"bob"}, "password": {"battery staple"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "one-time code too") {
		t.Fatalf("no OTP accepted: %d %s", resp.StatusCode, body)
	}
	_, body = post(t, c, srv.URL+"/login", url.Values{"req": {key}, "username": {"bob"}, "password": {"battery staple"}, "otp": {"424242"}})
	raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(samlResp.FindStringSubmatch(body)[1]))
	a, err := crewSP.ParseXMLResponse(raw, []string{req.ID}, crewSP.AcsURL)
	if err != nil || a.AuthnStatements[0].AuthnContext.AuthnContextClassRef.Value != ClassTwoFactor {
		t.Fatalf("MFA sign-in: %v %s", err, raw)
	}

	// alice has no second factor: NoAuthnContext, from the form or the session.
	for _, withSession := range []bool{false, true} {
		ac := newClient()
		if withSession {
			signIn(t, ac, srv, crewSP, alice, "")
		}
		req, _ := mfaSP.MakeAuthenticationRequest(mfaSP.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
		u, _ := req.Redirect("", &mfaSP)
		_, body := get(t, ac, u.String())
		if m := reqField.FindStringSubmatch(body); m != nil {
			_, body = post(t, ac, srv.URL+"/login", url.Values{"req": {m[1]}, "username": {"alice"}, "password": {"correct horse"}})
		}
		m := samlResp.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("session %v: no Response: %s", withSession, body)
		}
		raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		_, err := crewSP.ParseXMLResponse(raw, []string{req.ID}, crewSP.AcsURL)
		var bad saml.ErrBadStatus
		if ire, ok := err.(*saml.InvalidResponseError); !ok || !errorsAs(ire.PrivateErr, &bad) ||
			!strings.Contains(string(raw), "status:Responder") || !strings.Contains(string(raw), "status:NoAuthnContext") || strings.Contains(string(raw), "Assertion") {
			t.Errorf("session %v: want a signed Responder/NoAuthnContext Response, got %v: %s", withSession, err, raw)
		}
	}

	// ForceAuthn: the form again, although the session would do.
	force := true
	forceSP := *crewSP
	forceSP.ForceAuthn = &force
	req, _ = forceSP.MakeAuthenticationRequest(forceSP.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	u, _ = req.Redirect("", &forceSP)
	if _, body := get(t, c, u.String()); !strings.Contains(body, `id="login"`) {
		t.Errorf("ForceAuthn answered from the session: %s", body)
	}
}

// TestSPInitiatedLogout: the SP's signed LogoutRequest ends the SSO
// session and gets a signed LogoutResponse at the SP's SLOURL (verified
// by crewjam); an unsigned one, from an SP whose certificate the IdP
// knows, is refused.
func TestSPInitiatedLogout(t *testing.T) {
	_, srv, crewSP := newSLOIdP(t)
	c := newClient()
	index := indexRe.FindStringSubmatch(signIn(t, c, srv, crewSP, alice, ""))[1]

	unsigned := *crewSP
	unsigned.LogoutSignatureMethod = ""
	lr, _ := unsigned.MakeLogoutRequest(unsigned.GetSLOBindingLocation(saml.HTTPRedirectBinding), "alice", saml.WithSessionIndex(index))
	u, _ := unsigned.RedirectLogoutRequestURL(lr, "rs")
	if resp, _ := get(t, c, u.String()); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unsigned LogoutRequest: %d", resp.StatusCode)
	}

	lr, err := crewSP.MakeLogoutRequest(crewSP.GetSLOBindingLocation(saml.HTTPRedirectBinding), "alice", saml.WithSessionIndex(index))
	if err != nil {
		t.Fatal(err)
	}
	lr.Signature = nil
	u, err = crewSP.RedirectLogoutRequestURL(lr, "rs")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, c, u.String())
	if resp.StatusCode != 200 || formAction.FindStringSubmatch(body)[1] != spSLO || relayRe.FindStringSubmatch(body)[1] != "rs" {
		t.Fatalf("LogoutResponse page: %d %s", resp.StatusCode, body)
	}
	form := url.Values{"SAMLResponse": {html.UnescapeString(samlResp.FindStringSubmatch(body)[1])}, "RelayState": {"rs"}}
	r := httptest.NewRequest(http.MethodPost, spSLO, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := crewSP.ParseLogoutResponse(r, []string{lr.ID}); err != nil {
		t.Fatalf("crewjam refused the LogoutResponse: %v", err.(*saml.InvalidResponseError).PrivateErr)
	}
	if _, body := get(t, c, srv.URL+"/"); !strings.Contains(body, `id="login"`) {
		t.Error("the SSO session outlived the logout")
	}
}

// TestIdPInitiatedLogout: "sign out" sends a signed LogoutRequest to the
// SP that received an assertion and has an SLOURL (not to the AWS app,
// which has none), takes its LogoutResponse and shows "signed out".
func TestIdPInitiatedLogout(t *testing.T) {
	_, srv, crewSP := newSLOIdP(t)
	c := newClient()
	index := indexRe.FindStringSubmatch(signIn(t, c, srv, crewSP, alice, ""))[1]
	get(t, c, srv.URL+"/saml/idp-initiated?sp="+url.QueryEscape(awsEntity))

	resp, body := post(t, c, srv.URL+"/logout", nil)
	m := samlReqRe.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil || formAction.FindStringSubmatch(body)[1] != spSLO {
		t.Fatalf("logout page: %d %s", resp.StatusCode, body)
	}
	relay := relayRe.FindStringSubmatch(body)[1]
	form := url.Values{"SAMLRequest": {html.UnescapeString(m[1])}, "RelayState": {relay}}
	r := httptest.NewRequest(http.MethodPost, spSLO, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	lr, err := crewSP.ValidateLogoutRequest(r)
	if err != nil {
		t.Fatalf("crewjam refused the LogoutRequest: %v", err.(*saml.InvalidResponseError).PrivateErr)
	}
	if lr.NameID.Value != "alice" || lr.SessionIndex == nil || lr.SessionIndex.Value != index {
		t.Errorf("LogoutRequest names %+v", lr)
	}
	if _, body := get(t, c, srv.URL+"/"); !strings.Contains(body, `id="login"`) {
		t.Error("the SSO session outlived the logout")
	}
	answer := func(inResponseTo string) (*http.Response, string) {
		lresp, err := crewSP.MakeLogoutResponse(srv.URL+"/saml/slo", inResponseTo)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := elementBytes(lresp.Element())
		return post(t, c, srv.URL+"/saml/slo", url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(b)}, "RelayState": {relay}})
	}
	if resp, _ := answer("not-the-request"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a LogoutResponse to another request: %d", resp.StatusCode)
	}
	resp, body = answer(lr.ID)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="signed-out"`) || !strings.Contains(body, spEntity+": signed out") || strings.Contains(body, awsEntity) {
		t.Errorf("signed-out page: %d %s", resp.StatusCode, body)
	}
}

// TestLogoutRequestFor: the Go seam for an IdP-initiated logout is a
// signed HTTP-Redirect LogoutRequest crewjam accepts.
func TestLogoutRequestFor(t *testing.T) {
	p, srv, crewSP := newSLOIdP(t)
	index := indexRe.FindStringSubmatch(signIn(t, newClient(), srv, crewSP, alice, ""))[1]
	u, err := p.LogoutRequestFor(spEntity, "alice")
	if err != nil {
		t.Fatal(err)
	}
	lr, err := crewSP.ValidateLogoutRequest(httptest.NewRequest(http.MethodGet, u, nil))
	if err != nil {
		t.Fatalf("crewjam refused %s: %v", u, err.(*saml.InvalidResponseError).PrivateErr)
	}
	if lr.NameID.Value != "alice" || lr.SessionIndex == nil || lr.SessionIndex.Value != index {
		t.Errorf("LogoutRequest %+v", lr)
	}
	if _, err := p.LogoutRequestFor(awsEntity, "alice"); err == nil {
		t.Error("a LogoutRequest for an SP without SLOURL")
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func elementBytes(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	return doc.WriteToBytes()
}
