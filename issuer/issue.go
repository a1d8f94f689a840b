package issuer

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/beevik/etree"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

// Issue mints a signed Response for exactly req.Role. Invalid requests
// (AWS limits on session names, tags, durations, the role pair) are
// refused with a *broker.Error of code EINVALID before anything is signed.
func (s *SAML) Issue(ctx context.Context, req SAMLRequest) (IssuedSAML, error) {
	if req.Recipient == "" {
		req.Recipient = partition.Default().SAMLEndpoint()
	}
	if req.Audience == "" {
		req.Audience = broker.AWSSAMLAudienceURN
	}
	if req.SubjectFormat == "" {
		req.SubjectFormat = nameIDPersist
	}
	if err := req.validate(); err != nil {
		return IssuedSAML{}, err
	}
	if err := ctx.Err(); err != nil {
		return IssuedSAML{}, err
	}
	now := s.now().UTC()
	if req.AuthnInstant.IsZero() || req.AuthnInstant.After(now) {
		req.AuthnInstant = now
	}
	notOnOrAfter := now.Add(s.cfg.AssertionLifetime)
	assertionID := newID()

	assertion := s.assertion(assertionID, now, notOnOrAfter, &req)
	signed, err := s.signer.Sign(assertion)
	if err != nil {
		return IssuedSAML{}, err
	}

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("ID", newID())
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", samlTime(now))
	resp.CreateAttr("Destination", req.Recipient)
	// saml: is declared where it is used, so the signed Assertion sees the
	// same namespace context inside the Response as when it was signed.
	iss := resp.CreateElement("saml:Issuer")
	iss.CreateAttr("xmlns:saml", nsAssertion)
	iss.SetText(s.cfg.EntityID)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", statusSuccess)
	// The Assertion carries the signature AWS verifies (as Okta's and
	// Entra's AWS apps do by default); the Response around it is plain.
	resp.AddChild(signed)
	doc := etree.NewDocument()
	doc.SetRoot(resp)
	doc.WriteSettings.CanonicalEndTags = true
	raw, err := doc.WriteToBytes()
	if err != nil {
		return IssuedSAML{}, fmt.Errorf("issuer: serialize response: %w", err)
	}
	return IssuedSAML{Base64: base64.StdEncoding.EncodeToString(raw), AssertionID: assertionID, NotOnOrAfter: notOnOrAfter}, nil
}

// assertion builds the unsigned Assertion. Element order follows the
// SAML schema: Issuer, (Signature), Subject, Conditions, AuthnStatement,
// AttributeStatement.
func (s *SAML) assertion(id string, now, notOnOrAfter time.Time, req *SAMLRequest) *etree.Element {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsAssertion)
	a.CreateAttr("ID", id)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", samlTime(now))
	a.CreateElement("saml:Issuer").SetText(s.cfg.EntityID)

	subj := a.CreateElement("saml:Subject")
	nameID := subj.CreateElement("saml:NameID")
	nameID.CreateAttr("Format", req.SubjectFormat)
	nameID.SetText(req.Subject)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", bearer)
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("NotOnOrAfter", samlTime(notOnOrAfter))
	scd.CreateAttr("Recipient", req.Recipient)

	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", samlTime(now.Add(-skew)))
	cond.CreateAttr("NotOnOrAfter", samlTime(notOnOrAfter))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(req.Audience)

	authn := a.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", samlTime(req.AuthnInstant))
	authn.CreateAttr("SessionIndex", id)
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(authnPassword)

	st := a.CreateElement("saml:AttributeStatement")
	attr := func(name string, values ...string) {
		at := st.CreateElement("saml:Attribute")
		at.CreateAttr("Name", name)
		at.CreateAttr("NameFormat", attrNameFormat)
		for _, v := range values {
			// A plain AttributeValue, as in AWS's own sample assertions:
			// xsi:type="xs:string" would need xmlns:xs, which exclusive
			// c14n drops (a prefix used only inside an attribute value is
			// not "visibly utilized"), leaving a schema-invalid Response.
			at.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	attr(broker.SAMLAttrRole, req.Role.String())
	attr(broker.SAMLAttrRoleSessionName, req.RoleSessionName)
	if req.SessionDuration > 0 {
		attr(broker.SAMLAttrSessionDuration, strconv.Itoa(int(req.SessionDuration/time.Second)))
	}
	keys := make([]string, 0, len(req.PrincipalTags))
	for k := range req.PrincipalTags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		attr(broker.SAMLAttrPrincipalTag+k, req.PrincipalTags[k])
	}
	if len(req.TransitiveTagKeys) > 0 {
		attr(broker.SAMLAttrTransitiveTagKeys, req.TransitiveTagKeys...)
	}
	if req.SourceIdentity != "" {
		attr(broker.SAMLAttrSourceIdentity, req.SourceIdentity)
	}
	return a
}
