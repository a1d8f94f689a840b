// Package issuer makes the broker an identity provider toward AWS: for each
// role assumption in broker-issued mode it mints a fresh, signed SAML
// Response naming exactly one role, which the broker itself presents to
// STS AssumeRoleWithSAML. It also publishes the IdP metadata that is
// registered as an IAM SAML provider in each account.
//
//	SAMLRequest{subject, role pair, session name, duration, tags, source identity}
//	  ──validate (AWS limits)──> Assertion (bearer, Recipient = AWS sign-in, Audience urn:amazon:webservices)
//	  ──sign Assertion (RSA-SHA256, exc-c14n, Signature after Issuer)──> Response ──> base64
//
// The signing key is the broker's most sensitive secret: it is never
// logged, and Previous certificates stay in the metadata during rotation.
package issuer
