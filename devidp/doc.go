// Package devidp is a small, strict demo SAML identity provider for
// `broker dev` and the end-to-end tests: it plays the corporate IdP (Okta,
// ADFS) so the whole product runs on one machine. It is real, not a stub:
// a login form with passwords, an SSO session cookie, signed responses.
//
//	SP-initiated:  GET/POST /saml/sso (AuthnRequest) ──> login form (or SSO session)
//	               ──> auto-post page ──> Response to the SP's ACS
//	IdP-initiated: GET /saml/idp-initiated?sp=ENTITY ──> login (or session) ──> auto-post
//	apps page:     GET / lists the SPs as tiles, like an IdP's portal
//
// For a service provider marked AWS, assertions are shaped for AWS (the
// IdP's "AWS app"): Audience urn:amazon:webservices, Recipient the AWS
// sign-in endpoint, Role/RoleSessionName/SessionDuration attributes. The
// broker passes those through to STS unchanged.
package devidp
