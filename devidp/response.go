package devidp

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/beevik/etree"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

// IssueOptions make a response without a browser: the seam the end-to-end
// tests use for negative cases, signed with the IdP's real key.
type IssueOptions struct {
	SPEntityID   string
	Username     string
	InResponseTo string
	Now          time.Time     // zero = now
	Audience     string        // override
	Recipient    string        // override
	Lifetime     time.Duration // override
	// SessionIndex and AuthnContextClassRef of the AuthnStatement: default
	// a fresh index and PasswordProtectedTransport.
	SessionIndex         string
	AuthnContextClassRef string
	// SessionNotOnOrAfter, when set, is the AuthnStatement's
	// SessionNotOnOrAfter: the SP must end its session by then.
	SessionNotOnOrAfter time.Time
}

// Authentication context classes the IdP asserts.
const (
	ClassPassword  = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	ClassTwoFactor = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
)

// authn is what the AuthnStatement says of the sign-in.
type authn struct {
	index    string    // SessionIndex
	instant  time.Time // AuthnInstant; zero = the response's time
	class    string    // AuthnContextClassRef
	notAfter time.Time // SessionNotOnOrAfter; zero = none
}

// IssueResponse signs a Response for a user and SP.
func (p *IdP) IssueResponse(o IssueOptions) (string, error) {
	sp, ok := p.sps[o.SPEntityID]
	if !ok {
		return "", fmt.Errorf("devidp: unknown service provider %q", o.SPEntityID)
	}
	u, ok := p.users.get(o.Username)
	if !ok {
		return "", fmt.Errorf("devidp: unknown user %q", o.Username)
	}
	now := o.Now
	if now.IsZero() {
		now = p.now()
	}
	a := authn{index: o.SessionIndex, class: o.AuthnContextClassRef, notAfter: o.SessionNotOnOrAfter}
	if a.index == "" {
		a.index = "_" + randomID(10)
	}
	if a.class == "" {
		a.class = ClassPassword
	}
	return p.response(sp, u, o.InResponseTo, now, o.Audience, o.Recipient, o.Lifetime, a)
}

const (
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
)

func samlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// response builds and signs (Assertion, then Response) a Response for u.
func (p *IdP) response(sp ServiceProvider, u User, inResponseTo string, now time.Time, audience, recipient string, lifetime time.Duration, au authn) (string, error) {
	if lifetime == 0 {
		lifetime = p.cfg.AssertionLifetime
	}
	if audience == "" {
		audience = sp.EntityID
		if sp.AWS {
			audience = broker.AWSSAMLAudienceURN
		}
	}
	if recipient == "" {
		recipient = sp.ACSURL
		if sp.AWS {
			recipient = partition.Default().SAMLEndpoint()
		}
	}
	assertionID := "_" + randomID(20)
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsAssertion)
	a.CreateAttr("ID", assertionID)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", samlTime(now))
	a.CreateElement("saml:Issuer").SetText(p.entityID)
	subj := a.CreateElement("saml:Subject")
	nameID := subj.CreateElement("saml:NameID")
	nameID.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
	nameID.SetText(u.Username)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("NotOnOrAfter", samlTime(now.Add(lifetime)))
	scd.CreateAttr("Recipient", recipient)
	if inResponseTo != "" {
		scd.CreateAttr("InResponseTo", inResponseTo)
	}
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", samlTime(now.Add(-30*time.Second)))
	cond.CreateAttr("NotOnOrAfter", samlTime(now.Add(lifetime)))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(audience)
	as := a.CreateElement("saml:AuthnStatement")
	if au.instant.IsZero() {
		au.instant = now
	}
	as.CreateAttr("AuthnInstant", samlTime(au.instant))
	as.CreateAttr("SessionIndex", au.index)
	if !au.notAfter.IsZero() {
		as.CreateAttr("SessionNotOnOrAfter", samlTime(au.notAfter))
	}
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(au.class)

	st := a.CreateElement("saml:AttributeStatement")
	for _, at := range attributes(sp, u) {
		el := st.CreateElement("saml:Attribute")
		el.CreateAttr("Name", at.name)
		el.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
		for _, v := range at.values {
			el.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	signed, err := p.signer.Sign(a)
	if err != nil {
		return "", err
	}

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("ID", "_"+randomID(20))
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", samlTime(now))
	resp.CreateAttr("Destination", sp.ACSURL)
	if inResponseTo != "" {
		resp.CreateAttr("InResponseTo", inResponseTo)
	}
	iss := resp.CreateElement("saml:Issuer")
	iss.CreateAttr("xmlns:saml", nsAssertion)
	iss.SetText(p.entityID)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	resp.AddChild(signed)
	return p.signEncode(resp)
}

// signEncode signs a protocol message and returns it base64-encoded, as
// the HTTP-POST binding carries it.
func (p *IdP) signEncode(el *etree.Element) (string, error) {
	signed, err := p.signer.Sign(el)
	if err != nil {
		return "", err
	}
	doc := etree.NewDocument()
	doc.SetRoot(signed)
	b, err := doc.WriteToBytes()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// protocolMessage starts a signed protocol message (Response,
// LogoutRequest, LogoutResponse) from this IdP: ID, Version,
// IssueInstant, Destination, Issuer.
func (p *IdP) protocolMessage(name, destination string, now time.Time) *etree.Element {
	el := etree.NewElement("samlp:" + name)
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", "_"+randomID(20))
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", samlTime(now))
	el.CreateAttr("Destination", destination)
	el.CreateElement("saml:Issuer").SetText(p.entityID)
	return el
}

// errorResponse is a signed Response without an assertion whose status
// is top (with the second-level status second, when set).
func (p *IdP) errorResponse(sp ServiceProvider, inResponseTo, top, second string) (string, error) {
	resp := p.protocolMessage("Response", sp.ACSURL, p.now())
	if inResponseTo != "" {
		resp.CreateAttr("InResponseTo", inResponseTo)
	}
	code := resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode")
	code.CreateAttr("Value", top)
	if second != "" {
		code.CreateElement("samlp:StatusCode").CreateAttr("Value", second)
	}
	return p.signEncode(resp)
}

type attribute struct {
	name   string
	values []string
}

func attributes(sp ServiceProvider, u User) []attribute {
	if sp.AWS {
		var roles []string
		for _, r := range u.AWSRoles {
			roles = append(roles, r.String())
		}
		out := []attribute{{broker.SAMLAttrRole, roles}, {broker.SAMLAttrRoleSessionName, []string{sessionName(u)}}}
		if sp.SessionDuration > 0 {
			out = append(out, attribute{broker.SAMLAttrSessionDuration, []string{strconv.Itoa(int(sp.SessionDuration / time.Second))}})
		}
		return out
	}
	out := []attribute{{"username", []string{u.Username}}}
	if u.Email != "" {
		out = append(out, attribute{"email", []string{u.Email}})
	}
	if u.DisplayName != "" {
		out = append(out, attribute{"displayName", []string{u.DisplayName}})
	}
	if len(u.Groups) > 0 {
		out = append(out, attribute{"groups", u.Groups})
	}
	names := make([]string, 0, len(u.Attributes))
	for n := range u.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, attribute{n, u.Attributes[n]})
	}
	return out
}

func sessionName(u User) string {
	if u.Email != "" {
		return broker.SanitizeRoleSessionName(u.Email)
	}
	return broker.SanitizeRoleSessionName(u.Username)
}
