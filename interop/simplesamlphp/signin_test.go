package simplesamlphp

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/store"
)

func (s *stack) person(t *testing.T, username string) person {
	t.Helper()
	for _, p := range s.IdP.People {
		if p.Username == username {
			return p
		}
	}
	t.Fatalf("no SimpleSAMLphp user %s", username)
	return person{}
}

// isSSP reports whether u is on SimpleSAMLphp.
func (s *stack) isSSP(u *url.URL) bool { return strings.HasPrefix(u.String(), s.IdP.BaseURL) }

// isBroker reports whether u is on the broker.
func (s *stack) isBroker(u *url.URL) bool { return strings.HasPrefix(u.String(), s.BrokerURL+"/") }

// loginForm asserts p is SimpleSAMLphp's login form and returns it.
func (s *stack) loginForm(t *testing.T, b *browser, p *page) (string, url.Values) {
	t.Helper()
	if p.Status != http.StatusOK || !s.isSSP(p.URL) {
		t.Fatalf("expected SimpleSAMLphp's login form, got %d at %s:%s\n%s", p.Status, p.URL, b.trace(), clip(p.Body, 3000))
	}
	return formWith(t, p, "password")
}

// signIn signs username in at the broker through SimpleSAMLphp, like a
// browser: the broker's login route, SimpleSAMLphp's login form, the
// auto-posted SAMLResponse to the ACS. It returns the portal page and the
// Response SimpleSAMLphp sent.
func (s *stack) signIn(t *testing.T, b *browser, username string) (*page, samlMessage) {
	t.Helper()
	p := b.get(s.BrokerURL + "/saml/" + providerID + "/login")
	action, form := s.loginForm(t, b, p)
	form.Set("username", username)
	form.Set("password", s.person(t, username).Password)
	p = b.post(action, form)
	_, resp, ok := b.sent(s.acsURL(), "SAMLResponse")
	if !ok {
		t.Fatalf("no SAMLResponse posted to the broker's ACS:%s", b.trace())
	}
	if p.Status != http.StatusOK || p.URL.String() != s.BrokerURL+"/" || !signedIn(p) {
		t.Fatalf("expected the portal after the login form, got %d at %s:%s\n%s", p.Status, p.URL, b.trace(), clip(p.Body, 3000))
	}
	return p, resp
}

func (s *stack) acsURL() string { return s.BrokerURL + "/saml/" + providerID + "/acs" }

func (s *stack) sloURL() string { return s.BrokerURL + "/saml/" + providerID + "/slo" }

// signedIn reports whether p is the portal of someone signed in (the
// header's sign-out form), not the sign-in page.
func signedIn(p *page) bool {
	return strings.Contains(p.Body, `action="/logout"`)
}

// signInPage asserts p is the broker's sign-in page offering SimpleSAMLphp.
func (s *stack) signInPage(t *testing.T, b *browser, p *page) {
	t.Helper()
	if p.Status != http.StatusOK || !s.isBroker(p.URL) || signedIn(p) || !strings.Contains(p.Body, `data-provider="`+providerID+`"`) {
		t.Fatalf("expected the broker's sign-in page, got %d at %s (signed in: %v):%s\n%s", p.Status, p.URL, signedIn(p), b.trace(), clip(p.Body, 3000))
	}
}

// audit returns the audit events of event for subject at SimpleSAMLphp.
func (s *stack) audit(t *testing.T, event, subject string) []store.AuditEvent {
	t.Helper()
	evs, err := s.App.Store.ListAudit(context.Background(), store.AuditFilter{Event: event, Provider: providerID, Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// SP-initiated sign-in against SimpleSAMLphp: the broker's signed
// AuthnRequest is accepted by a SimpleSAMLphp that validates AuthnRequest
// signatures, SimpleSAMLphp's signed Response (persistent NameID from uid,
// its attributes) is accepted by the broker, the portal shows the person
// and the role the rule grants from the attributes, and the sign-in is
// audited under SimpleSAMLphp's subject.
func TestSignInThroughSimpleSAMLphp(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t)

	p := b.get(s.BrokerURL + "/saml/" + providerID + "/login")
	action, form := s.loginForm(t, b, p)
	if len(b.hops) < 2 || !strings.HasPrefix(b.hops[1].URL.String(), s.IdP.SSOURL()) {
		t.Fatalf("the broker's login route did not send the browser to SimpleSAMLphp's SSO service:%s", b.trace())
	}
	sso := b.hops[1]
	if q := sso.URL.Query(); q.Get("SAMLRequest") == "" || q.Get("Signature") == "" || q.Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" {
		t.Errorf("AuthnRequest not signed with RSA-SHA256 in the Redirect binding: SigAlg=%q, signature present: %v", q.Get("SigAlg"), q.Get("Signature") != "")
	}

	// A wrong password keeps the browser at SimpleSAMLphp.
	form.Set("username", "alice")
	form.Set("password", "not-"+s.person(t, "alice").Password)
	p = b.post(action, form)
	action, form = s.loginForm(t, b, p)

	form.Set("username", "alice")
	form.Set("password", s.person(t, "alice").Password)
	p = b.post(action, form)
	acs, resp, ok := b.sent(s.acsURL(), "SAMLResponse")
	if !ok || acs.Method != http.MethodPost {
		t.Fatalf("no SAMLResponse posted to the broker's ACS:%s", b.trace())
	}
	if resp.Status.Code.Value != statusSuccess || !resp.Signed || resp.Issuer != s.IdP.EntityID ||
		resp.Assertion.Subject.NameID.Value != "alice" || resp.Assertion.Subject.NameID.Format != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" ||
		resp.Assertion.AuthnStatement.SessionIndex == "" {
		t.Errorf("SimpleSAMLphp's Response: %+v", resp)
	}
	if p.Status != http.StatusOK || p.URL.String() != s.BrokerURL+"/" || !signedIn(p) {
		t.Fatalf("expected the portal, got %d at %s:%s\n%s", p.Status, p.URL, b.trace(), clip(p.Body, 3000))
	}
	if who := byID(p, "user"); who != "Alice Interop" {
		t.Errorf("portal shows %q, want SimpleSAMLphp's displayName Alice Interop", who)
	}
	if arn := "arn:aws:iam::" + account + ":role/" + role; !strings.Contains(p.Body, `name="grant" value="`+arn+`|`) {
		t.Errorf("portal does not offer %s (granted by eduPersonAffiliation=member):\n%s", arn, clip(p.Body, 3000))
	}

	evs := s.audit(t, "signin", "alice")
	if len(evs) != 1 || evs[0].Result != store.ResultSuccess || evs[0].Details["roles"] != "1" {
		t.Fatalf("audit signin for alice at %s: %+v", providerID, evs)
	}

	// Bob, an affiliate, signs in too (another browser) and is granted nothing.
	p, _ = s.signIn(t, newBrowser(t), "bob")
	if byID(p, "user") != "Bob Interop" || byID(p, "no-roles") == "" {
		t.Errorf("bob's portal: user %q, no-roles notice %q", byID(p, "user"), byID(p, "no-roles"))
	}
	if evs := s.audit(t, "signin", "bob"); len(evs) != 1 || evs[0].Result != store.ResultSuccess || evs[0].Details["roles"] != "0" {
		t.Errorf("audit signin for bob: %+v", evs)
	}
}
