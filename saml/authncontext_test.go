package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

const mobileTwoFactor = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"

// TestLoginOptions: ForceAuthn and RequestedAuthnContext (exact, the
// class refs) are in the AuthnRequest when asked for, and only then.
func TestLoginOptions(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _ := newSP(t, p, func(c *Config) { c.MFARequest = []string{mobileTwoFactor, "https://refeds.org/profile/mfa"} })
	authnRequest := func(opts LoginOptions) (string, saml.AuthnRequest) {
		t.Helper()
		loc, _, err := sp.LoginRedirect("r", opts)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(loc)
		raw, _ := base64.StdEncoding.DecodeString(u.Query().Get("SAMLRequest"))
		x, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		var req saml.AuthnRequest
		if err := xml.Unmarshal(x, &req); err != nil {
			t.Fatal(err)
		}
		return string(x), req
	}
	x, req := authnRequest(LoginOptions{})
	if req.ForceAuthn != nil || req.RequestedAuthnContext != nil || strings.Contains(x, "ForceAuthn") || strings.Contains(x, "RequestedAuthnContext") {
		t.Errorf("plain AuthnRequest asks for more: %s", x)
	}
	if got := sp.MFARequest(); len(got) != 2 || got[0] != mobileTwoFactor {
		t.Fatalf("MFARequest %v", got)
	}
	x, req = authnRequest(LoginOptions{ForceAuthn: true, AuthnContexts: sp.MFARequest()})
	if req.ForceAuthn == nil || !*req.ForceAuthn || !strings.Contains(x, `ForceAuthn="true"`) {
		t.Errorf("no ForceAuthn: %s", x)
	}
	rac := req.RequestedAuthnContext
	if rac == nil || rac.Comparison != "exact" || strings.Join(rac.AuthnContextClassRefs, " ") != mobileTwoFactor+" https://refeds.org/profile/mfa" {
		t.Errorf("RequestedAuthnContext %+v in %s", rac, x)
	}
}

// TestMFAFromAuthnContext: the AuthnContextClassRef is the attribute
// authn_context, and Identity.MFA says whether it is one of MFAValues.
func TestMFAFromAuthnContext(t *testing.T) {
	p := newTestIdP(t, t0)
	classRef := func(v string) func(*etree.Element) {
		return func(a *etree.Element) {
			for _, el := range a.FindElements(".//AuthnContextClassRef") {
				el.SetText(v)
			}
		}
	}
	for _, tt := range []struct {
		name, ref string
		values    []string
		attrs     map[string][]string
		mfa       bool
	}{
		{name: "password", ref: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
		{name: "two factor", ref: mobileTwoFactor, mfa: true},
		{name: "refeds", ref: "https://refeds.org/profile/mfa", mfa: true},
		{name: "configured values", ref: "urn:example:strong", values: []string{"urn:example:strong"}, mfa: true},
		{name: "configured values replace defaults", ref: mobileTwoFactor, values: []string{"urn:example:strong"}},
		{name: "an attribute cannot claim the context", ref: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
			attrs: map[string][]string{broker.AttrAuthnContext: {mobileTwoFactor}, broker.AttrMFA: {"true"}}},
		{name: "Entra authentication methods attribute", ref: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
			attrs: map[string][]string{"http://schemas.microsoft.com/claims/authnmethodsreferences": {"http://schemas.microsoft.com/claims/multipleauthn"}}, mfa: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp, _ := newSP(t, p, func(c *Config) { c.MFAValues = tt.values })
			res, err := parse(t, sp, p.build(t, resp{editAssertion: classRef(tt.ref), attrs: tt.attrs}), "req-1")
			if err != nil {
				t.Fatal(err)
			}
			id := res.Identity
			if got := id.Values(broker.AttrAuthnContext); len(got) != 1 || got[0] != tt.ref {
				t.Errorf("authn_context %v, want %s", got, tt.ref)
			}
			want := "false"
			if tt.mfa {
				want = "true"
			}
			if id.MFA != tt.mfa || strings.Join(id.Values(broker.AttrMFA), ",") != want || id.SessionIndex != "_s1" {
				t.Errorf("MFA %v (attribute %v, session %q), want %v", id.MFA, id.Values(broker.AttrMFA), id.SessionIndex, tt.mfa)
			}
		})
	}
}
