package broker

import (
	"sort"
	"time"
)

// Protocols an Identity can come from.
const (
	ProtocolSAML = "saml"
	ProtocolOIDC = "oidc"
)

// Identity is who signed in, as verified by a protocol package (saml, oidc).
// It is the single input of the rules engine.
//
// Attributes holds every SAML attribute (by its Name, and also by its
// FriendlyName when the IdP sends one) or every ID-token/userinfo claim,
// flattened to strings. Protocol packages also add the reserved keys below
// so rules can test them like any other attribute.
type Identity struct {
	Provider      string // configured provider id, e.g. "okta"
	Protocol      string // ProtocolSAML or ProtocolOIDC
	Issuer        string // SAML Issuer / OIDC iss
	Subject       string // SAML NameID / OIDC sub
	SubjectFormat string // SAML NameID Format, "" for OIDC
	// SessionIndex is the upstream IdP's session this sign-in belongs to:
	// the SAML AuthnStatement's SessionIndex or the OIDC ID token's sid,
	// "" if the IdP sent none. Single logout finds sessions by it.
	SessionIndex string
	AuthnInstant time.Time
	// Expires is when the upstream credential (SAML assertion's
	// SubjectConfirmation NotOnOrAfter, ID token exp) stops being usable.
	Expires    time.Time
	Attributes map[string][]string

	// AWS-specific values asserted by the upstream IdP itself (pass-through).
	Roles           []RolePair    // strictly parsed https://aws.amazon.com/SAML/Attributes/Role values
	RoleSessionName string        // https://aws.amazon.com/SAML/Attributes/RoleSessionName
	SessionDuration time.Duration // https://aws.amazon.com/SAML/Attributes/SessionDuration, 0 if absent
	// SessionNotOnOrAfter is the AuthnStatement's SessionNotOnOrAfter, zero if absent.
	SessionNotOnOrAfter time.Time

	// MFA is true when the IdP asserted a multi-factor sign-in: one of the
	// provider's MFA values (see MFAValues) appeared as the SAML
	// AuthnContextClassRef, an OIDC acr or amr value, or an
	// authentication-methods attribute. Set by the protocol packages; the
	// rules read it as the attribute "mfa" ("true"/"false").
	MFA bool
}

// Reserved attribute keys, filled in by the protocol packages.
const (
	AttrSubject  = "sub"      // NameID / sub (also set for SAML)
	AttrIssuer   = "iss"      // Issuer / iss
	AttrProvider = "provider" // configured provider id
	// AttrMFA is "true" when the sign-in was multi-factor (Identity.MFA), else "false".
	AttrMFA = "mfa"
	// AttrAuthnContext holds the SAML AuthnContextClassRef of the
	// AuthnStatement (OIDC identities have the acr and amr claims instead).
	AttrAuthnContext = "authn_context"
)

// Values returns the attribute values for name (nil if absent).
func (id *Identity) Values(name string) []string {
	if id == nil {
		return nil
	}
	return id.Attributes[name]
}

// First returns the first value of the attribute name, or "".
func (id *Identity) First(name string) string {
	if v := id.Values(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// AttributeNames returns the attribute names in sorted order.
func (id *Identity) AttributeNames() []string {
	names := make([]string, 0, len(id.Attributes))
	for k := range id.Attributes {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Well-known SAML attribute names AWS reads from an assertion.
const (
	SAMLAttrRole              = "https://aws.amazon.com/SAML/Attributes/Role"
	SAMLAttrRoleSessionName   = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	SAMLAttrSessionDuration   = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	SAMLAttrPrincipalTag      = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:" // + tag key
	SAMLAttrTransitiveTagKeys = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
	SAMLAttrSourceIdentity    = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
)

// AWSSAMLAudienceURN is the SAML Audience that names AWS as the relying
// party. The sign-in SAML endpoints (the other accepted audience, and the
// Recipient) are per partition: see package partition.
const AWSSAMLAudienceURN = "urn:amazon:webservices"
