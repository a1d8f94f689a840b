package sts

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// Reasons of refusals that can come from an AWS account's setup rather
// than from the sign-in (see ProviderMissing).
const (
	// ReasonInvalidIdentityToken: AWS did not accept the assertion or
	// token; code broker.EUNAUTHORIZED. ProviderMissing tells the case
	// where the account has no such identity provider.
	ReasonInvalidIdentityToken = "sts_invalid_identity_token"
	// ReasonAccessDenied: the role does not exist, or its trust policy
	// does not allow this sign-in (AWS does not say which); code
	// broker.EFORBIDDEN.
	ReasonAccessDenied = "sts_access_denied"
)

// ProviderMissing reports whether err is AWS's refusal because the IAM
// identity provider of the request is not in the role's account: the
// SAML provider named by PrincipalArn ("Specified provider doesn't
// exist"), or an OIDC provider for the token's issuer ("No OpenIDConnect
// provider found in your account for …").
func ProviderMissing(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || strings.TrimSuffix(ae.ErrorCode(), "Exception") != "InvalidIdentityToken" {
		return false
	}
	m := strings.ToLower(ae.ErrorMessage())
	return strings.Contains(m, "provider doesn't exist") || strings.Contains(m, "provider does not exist") ||
		strings.Contains(m, "no openidconnect provider found")
}
