package broker

import "strings"

// Default values that count as a multi-factor sign-in, by where they
// appear. A provider's mfa_values replace them.
var (
	// DefaultSAMLMFAValues are AuthnContextClassRef values (and values of
	// an IdP's authentication-methods attribute) that name more than a
	// password: the SAML 2.0 classes for tokens, smartcards and certificates,
	// Entra ID and ADFS's multipleauthn, and the REFEDS MFA profile.
	DefaultSAMLMFAValues = []string{
		"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:X509",
		"http://schemas.microsoft.com/claims/multipleauthn",
		"https://refeds.org/profile/mfa",
	}
	// DefaultOIDCMFAValues are amr values (RFC 8176) and acr values that
	// name a second factor.
	DefaultOIDCMFAValues = []string{
		"mfa", "otp", "hwk", "swk", "sc", "sms", "fpt", "face", "iris", "retina", "vbm", "tel",
		"http://schemas.openid.net/pape/policies/2007/06/multi-factor",
		"https://refeds.org/profile/mfa",
	}
)

// MFAAttributes are the attributes whose values say how a person signed
// in: the SAML AuthnContextClassRef, the OIDC acr and amr claims, and the
// authentication-methods attribute Entra ID and ADFS send in SAML.
var MFAAttributes = []string{
	AttrAuthnContext, "acr", "amr",
	"http://schemas.microsoft.com/claims/authnmethodsreferences",
}

// AssertedMFA reports whether any of MFAAttributes holds one of values
// (compared exactly, ignoring surrounding space).
func AssertedMFA(id *Identity, values []string) bool {
	want := make(map[string]bool, len(values))
	for _, v := range values {
		want[strings.TrimSpace(v)] = true
	}
	for _, a := range MFAAttributes {
		for _, v := range id.Values(a) {
			if want[strings.TrimSpace(v)] {
				return true
			}
		}
	}
	return false
}

// SetMFA sets id.MFA from values and the attribute AttrMFA to match.
func SetMFA(id *Identity, values []string) {
	id.MFA = AssertedMFA(id, values)
	if id.Attributes == nil {
		id.Attributes = map[string][]string{}
	}
	if id.MFA {
		id.Attributes[AttrMFA] = []string{"true"}
	} else {
		id.Attributes[AttrMFA] = []string{"false"}
	}
}
