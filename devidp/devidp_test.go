package devidp

import (
	"encoding/base64"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

const (
	spEntity  = "https://sp.example.com/metadata"
	spACS     = "https://sp.example.com/acs"
	awsEntity = "https://sp.example.com/aws/metadata"
	awsACS    = "https://sp.example.com/aws/acs"
)

var alice = User{Username: "alice", Password: "correct horse", Email: "alice@example.com", DisplayName: "Alice",
	Groups: []string{"eng", "admins"}, Attributes: map[string][]string{"department": {"platform"}},
	AWSRoles: []broker.RolePair{{RoleARN: "arn:aws:iam::111122223333:role/Admin", ProviderARN: "arn:aws:iam::111122223333:saml-provider/Demo"}}}

func newIdP(t *testing.T) (*IdP, *httptest.Server) {
	t.Helper()
	var p *IdP
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	var err error
	p, err = New(Config{BaseURL: srv.URL, Users: []User{alice}, ServiceProviders: []ServiceProvider{
		{EntityID: spEntity, ACSURL: spACS},
		{EntityID: awsEntity, ACSURL: awsACS, AWS: true, SessionDuration: 2 * time.Hour},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return p, srv
}

// sp is a crewjam service provider trusting the IdP's metadata: it does
// the real verification (signature, audience, recipient, InResponseTo).
func sp(t *testing.T, p *IdP, entity, acs string) *saml.ServiceProvider {
	t.Helper()
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(p.Metadata(), &md); err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(acs)
	mu, _ := url.Parse(entity)
	return &saml.ServiceProvider{EntityID: entity, AcsURL: *au, MetadataURL: *mu, IDPMetadata: &md}
}

var (
	formAction = regexp.MustCompile(`<form id="saml-post" method="post" action="([^"]+)"`)
	samlResp   = regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`)
	reqField   = regexp.MustCompile(`name="req" value="([^"]*)"`)
)

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestSPInitiatedLoginAndSSOSession(t *testing.T) {
	p, srv := newIdP(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	crewSP := sp(t, p, spEntity, spACS)
	req, err := crewSP.MakeAuthenticationRequest(crewSP.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	redirect, _ := req.Redirect("relay-1", crewSP)
	if !strings.HasPrefix(redirect.String(), srv.URL+"/saml/sso") {
		t.Fatalf("SSO location %s", redirect)
	}
	resp, body := get(t, c, redirect.String())
	if resp.StatusCode != 200 || !strings.Contains(body, `id="login"`) {
		t.Fatalf("login form: %d %s", resp.StatusCode, body)
	}
	key := reqField.FindStringSubmatch(body)[1]
	resp, body = post(t, c, srv.URL+"/login", url.Values{"req": {key}, "username": {"alice"}, "password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp, body = post(t, c, srv.URL+"/login", url.Values{"req": {key}, "username": {"alice"}, "password": {"correct horse"}})
	if resp.StatusCode != 200 || formAction.FindStringSubmatch(body)[1] != spACS || !strings.Contains(body, `value="relay-1"`) {
		t.Fatalf("auto-post page: %d %s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action https://sp.example.com") || !strings.Contains(csp, "'nonce-") {
		t.Errorf("CSP %q", csp)
	}
	raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(samlResp.FindStringSubmatch(body)[1]))
	a, err := crewSP.ParseXMLResponse(raw, []string{req.ID}, crewSP.AcsURL)
	if err != nil {
		t.Fatalf("crewjam refused the response: %v", err.(*saml.InvalidResponseError).PrivateErr)
	}
	if a.Subject.NameID.Value != "alice" || a.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo != req.ID {
		t.Errorf("assertion %+v", a.Subject)
	}
	attrs := map[string][]string{}
	for _, at := range a.AttributeStatements[0].Attributes {
		for _, v := range at.Values {
			attrs[at.Name] = append(attrs[at.Name], v.Value)
		}
	}
	if strings.Join(attrs["groups"], ",") != "eng,admins" || attrs["email"][0] != "alice@example.com" || attrs["department"][0] != "platform" {
		t.Errorf("attributes %v", attrs)
	}
	// Second sign-in: the SSO session answers without the form.
	req2, _ := crewSP.MakeAuthenticationRequest(crewSP.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	redirect2, _ := req2.Redirect("", crewSP)
	_, body = get(t, c, redirect2.String())
	if strings.Contains(body, `id="login"`) || !samlResp.MatchString(body) {
		t.Fatalf("SSO session not used:\n%s", body)
	}
	// The pending request was consumed.
	if resp, _ := post(t, c, srv.URL+"/login", url.Values{"req": {key}, "username": {"alice"}, "password": {"correct horse"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a used pending request was accepted again: %d", resp.StatusCode)
	}
}

func TestIdPInitiatedAWSApp(t *testing.T) {
	p, srv := newIdP(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	_, body := get(t, c, srv.URL+"/saml/idp-initiated?sp="+url.QueryEscape(awsEntity))
	key := reqField.FindStringSubmatch(body)[1]
	_, body = post(t, c, srv.URL+"/login", url.Values{"req": {key}, "username": {"alice"}, "password": {"correct horse"}})
	if formAction.FindStringSubmatch(body)[1] != awsACS {
		t.Fatalf("posts to %v", formAction.FindStringSubmatch(body))
	}
	raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(samlResp.FindStringSubmatch(body)[1]))
	// An AWS-shaped assertion: verify as AWS would see it.
	aws := sp(t, p, "urn:amazon:webservices", "https://signin.aws.amazon.com/saml")
	aws.AllowIDPInitiated = true
	a, err := aws.ParseXMLResponse(raw, nil, url.URL{Scheme: "https", Host: "sp.example.com", Path: "/aws/acs"})
	if err != nil {
		t.Fatalf("AWS-shaped response refused: %v", err.(*saml.InvalidResponseError).PrivateErr)
	}
	attrs := map[string][]string{}
	for _, at := range a.AttributeStatements[0].Attributes {
		for _, v := range at.Values {
			attrs[at.Name] = append(attrs[at.Name], v.Value)
		}
	}
	if _, err := broker.ParseRolePair(attrs[broker.SAMLAttrRole][0]); err != nil {
		t.Errorf("Role attribute: %v", err)
	}
	if attrs[broker.SAMLAttrRoleSessionName][0] != "alice@example.com" || attrs[broker.SAMLAttrSessionDuration][0] != "7200" {
		t.Errorf("attributes %v", attrs)
	}
	// The apps page lists both applications now that alice is signed in.
	_, body = get(t, c, srv.URL+"/")
	if !strings.Contains(body, `id="idp-user">Alice`) || strings.Count(body, "/saml/idp-initiated?sp=") != 2 {
		t.Errorf("apps page:\n%s", body)
	}
}

func TestRejectsBadRequests(t *testing.T) {
	p, srv := newIdP(t)
	c := &http.Client{}
	other := sp(t, p, "https://unknown.example.com/metadata", "https://unknown.example.com/acs")
	req, _ := other.MakeAuthenticationRequest(other.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	u, _ := req.Redirect("", other)
	for name, target := range map[string]string{
		"unknown SP":   u.String(),
		"garbage":      srv.URL + "/saml/sso?SAMLRequest=%%%",
		"unknown tile": srv.URL + "/saml/idp-initiated?sp=nope",
	} {
		resp, _ := get(t, c, target)
		if resp.StatusCode < 400 {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	// An ACS URL other than the registered one.
	known := sp(t, p, spEntity, "https://evil.example.com/acs")
	req, _ = known.MakeAuthenticationRequest(known.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	u, _ = req.Redirect("", known)
	if resp, _ := get(t, c, u.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("foreign ACS URL: %d", resp.StatusCode)
	}
}

func TestIssueResponseOverrides(t *testing.T) {
	p, _ := newIdP(t)
	past := time.Now().Add(-2 * time.Hour)
	b64, err := p.IssueResponse(IssueOptions{SPEntityID: spEntity, Username: "alice", Now: past, Audience: "https://other.example.com", InResponseTo: "id-1"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(b64)
	s := string(raw)
	for _, want := range []string{"<saml:Audience>https://other.example.com</saml:Audience>", `InResponseTo="id-1"`, past.UTC().Format("2006-01-02T15:04")} {
		if !strings.Contains(s, want) {
			t.Errorf("response lacks %q", want)
		}
	}
	if _, err := p.IssueResponse(IssueOptions{SPEntityID: "nope", Username: "alice"}); err == nil {
		t.Error("unknown SP accepted")
	}
	if _, err := p.IssueResponse(IssueOptions{SPEntityID: spEntity, Username: "mallory"}); err == nil {
		t.Error("unknown user accepted")
	}
}

// Config.EntityID replaces the default entity ID in the metadata and as
// the Issuer of both the Response and the Assertion.
func TestEntityIDOverride(t *testing.T) {
	const entity = "https://idp.example.org/shibboleth"
	p, err := New(Config{BaseURL: "https://idp.example.net", EntityID: entity, Users: []User{alice},
		ServiceProviders: []ServiceProvider{{EntityID: spEntity, ACSURL: spACS}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.EntityID() != entity || !strings.Contains(string(p.Metadata()), `entityID="`+entity+`"`) {
		t.Fatalf("entity ID %q, metadata:\n%s", p.EntityID(), p.Metadata())
	}
	b64, err := p.IssueResponse(IssueOptions{SPEntityID: spEntity, Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(b64)
	if n := strings.Count(string(raw), ">"+entity+"</saml:Issuer>"); n != 2 {
		t.Fatalf("%d Issuers name %s, want 2 (Response and Assertion):\n%s", n, entity, raw)
	}
}
