package localaws

import (
	"crypto/sha1" // IAM defines saml:namequalifier with SHA-1; not used for security here
	"encoding/base64"
)

// Actions a SAML role assumption is authorized for.
const (
	actionAssumeRoleWithSAML = "sts:AssumeRoleWithSAML"
	actionTagSession         = "sts:TagSession"
	actionSetSourceIdentity  = "sts:SetSourceIdentity"
)

// nameQualifier is IAM's NameQualifier: Base64(SHA1(Issuer + AccountID +
// "/" + ProviderName)).
func nameQualifier(issuer string, prov *samlProvider) string {
	sum := sha1.Sum([]byte(issuer + prov.arn.AccountID + "/" + prov.arn.Name()))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// samlContextKey maps a SAML attribute Name to the trust-policy context key
// IAM derives from it (IAM User Guide, "Mapping SAML attributes to AWS
// trust policy context keys"), or "".
func samlContextKey(name string) string {
	switch name {
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.1":
		return "saml:edupersonaffiliation"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.2":
		return "saml:edupersonnickname"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.3":
		return "saml:edupersonorgdn"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.4":
		return "saml:edupersonorgunitdn"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.5":
		return "saml:edupersonprimaryaffiliation"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.6":
		return "saml:edupersonprincipalname"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.7":
		return "saml:edupersonentitlement"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.8":
		return "saml:edupersonprimaryorgunitdn"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.9":
		return "saml:edupersonscopedaffiliation"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.10":
		return "saml:edupersontargetedid"
	case "urn:oid:1.3.6.1.4.1.5923.1.1.1.11":
		return "saml:edupersonassurance"
	case "urn:oid:1.3.6.1.4.1.5923.1.2.1.2":
		return "saml:eduorghomepageuri"
	case "urn:oid:1.3.6.1.4.1.5923.1.2.1.3":
		return "saml:eduorgidentityauthnpolicy"
	case "urn:oid:1.3.6.1.4.1.5923.1.2.1.4":
		return "saml:eduorglegalname"
	case "urn:oid:1.3.6.1.4.1.5923.1.2.1.5":
		return "saml:eduorgsuperioruri"
	case "urn:oid:1.3.6.1.4.1.5923.1.2.1.6":
		return "saml:eduorgwhitepagesuri"
	case "urn:oid:2.5.4.3":
		return "saml:cn"
	case "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":
		return "saml:name"
	case "http://schemas.xmlsoap.org/claims/CommonName", "2.5.4.3":
		return "saml:commonname"
	case "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", "2.5.4.42", "2.4.5.42":
		return "saml:givenname"
	case "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", "2.5.4.4":
		return "saml:surname"
	case "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "0.9.2342.19200300100.1.3":
		return "saml:mail"
	case "http://schemas.microsoft.com/ws/2008/06/identity/claims/primarygroupsid", "0.9.2342.19200300100.1.1":
		return "saml:uid"
	case "2.5.4.45":
		return "saml:x500uniqueidentifier"
	case "0.9.2342.19200300100.1.45", "0.9.2342.19200300.100.1.45":
		return "saml:organizationstatus"
	}
	return ""
}

// samlRequestContext builds the condition keys a trust policy sees for an
// AssumeRoleWithSAML call. Keys are lower-cased (IAM compares them
// case-insensitively).
func samlRequestContext(a *samlAssertion, prov *samlProvider, c awsClaims) map[string][]string {
	ctx := map[string][]string{
		"saml:aud":           {a.recipient},
		"saml:iss":           {a.issuer},
		"saml:sub":           {a.nameID},
		"saml:sub_type":      {subjectType(a.nameIDFormat)},
		"saml:namequalifier": {nameQualifier(a.issuer, prov)},
		"saml:doc":           {prov.arn.AccountID + "/" + prov.arn.Name()},
	}
	for _, name := range a.attrOrder {
		// Only one claim per key is mapped, as IAM documents.
		if k := samlContextKey(name); k != "" && ctx[k] == nil && len(a.attrs[name]) > 0 {
			ctx[k] = a.attrs[name]
		}
	}
	c.addToContext(ctx)
	return ctx
}

// authorize evaluates the role's trust policy for every action the call
// needs: AssumeRoleWithSAML, plus TagSession with session tags and
// SetSourceIdentity with a source identity.
func authorize(r *role, principal, action string, ctx map[string][]string, c awsClaims) *stsError {
	actions := []string{action}
	if len(c.tags) > 0 {
		actions = append(actions, actionTagSession)
	}
	if c.sourceIdentity != "" {
		actions = append(actions, actionSetSourceIdentity)
	}
	for _, act := range actions {
		switch r.trust.evaluate(authzRequest{principalType: "federated", principal: principal, action: act, context: ctx}) {
		case explicitDeny:
			return errAccessDenied("trust_policy_explicit_deny", act)
		case implicitDeny:
			return errAccessDenied("trust_policy_no_allow", act)
		}
	}
	return nil
}
