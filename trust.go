package broker

import (
	"encoding/json"
	"strings"
)

// Trust-policy statements: what a role's trust policy must say for AWS
// to let people federated through an IAM identity provider assume it.
// One home for the shape, so the setup advice shown when AWS refuses a
// role and the demo's local IAM write the same statement.

// trustStatement is one statement of a role's trust policy, in the order
// IAM's console writes its fields.
type trustStatement struct {
	Effect    string                       `json:"Effect"`
	Principal map[string]any               `json:"Principal"`
	Action    []string                     `json:"Action"`
	Condition map[string]map[string]string `json:"Condition"`
}

// SAMLTrustStatement is the trust-policy statement (indented JSON) that
// lets people federated through the IAM SAML providers providerARNs assume
// a role with AssumeRoleWithSAML, tag the session and set its source
// identity, for responses addressed to audience (SAML:aud: the sign-in
// SAML endpoint of the role's partition, such as
// https://signin.aws.amazon.com/saml).
func SAMLTrustStatement(audience string, providerARNs ...string) string {
	return marshalStatement(trustStatement{
		Effect:    "Allow",
		Principal: map[string]any{"Federated": principals(providerARNs)},
		Action:    []string{"sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"},
		Condition: map[string]map[string]string{"StringEquals": {"SAML:aud": audience}},
	})
}

// WebIdentityTrustStatement is the trust-policy statement (indented JSON)
// that lets holders of ID tokens from issuerURL with audience aud assume a
// role with AssumeRoleWithWebIdentity, through the IAM OIDC provider
// providerARN (see OIDCProviderARN).
func WebIdentityTrustStatement(providerARN, issuerURL, audience string) string {
	return marshalStatement(trustStatement{
		Effect:    "Allow",
		Principal: map[string]any{"Federated": providerARN},
		Action:    []string{"sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity"},
		Condition: map[string]map[string]string{"StringEquals": {IssuerHostPath(issuerURL) + ":aud": audience}},
	})
}

// OIDCProviderARN is the ARN IAM gives the OIDC provider for issuerURL in
// an account: arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST/PATH.
func OIDCProviderARN(partitionID, account, issuerURL string) string {
	return "arn:" + partitionID + ":iam::" + account + ":" + KindOIDCProvider + "/" + IssuerHostPath(issuerURL)
}

// IssuerHostPath is an issuer URL as IAM names its OIDC provider and
// condition keys: without the scheme and a trailing slash.
func IssuerHostPath(issuerURL string) string {
	u := strings.TrimPrefix(strings.TrimPrefix(issuerURL, "https://"), "http://")
	return strings.TrimSuffix(u, "/")
}

func principals(arns []string) any {
	if len(arns) == 1 {
		return arns[0]
	}
	return arns
}

func marshalStatement(s trustStatement) string {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil { // plain strings and maps cannot fail
		panic(err)
	}
	return string(b)
}
