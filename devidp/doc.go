// Package devidp holds the demo upstream identity providers of `broker dev`
// and the end-to-end tests: a SAML IdP (IdP) and an OpenID Provider (OP)
// with the same users. They play the corporate IdP (Okta, ADFS, Entra) so
// the whole product runs on one machine. They are real, not stubs: a login
// form with passwords, an SSO session cookie, signed responses and tokens.
//
// SAML IdP:
//
//	SP-initiated:  GET/POST /saml/sso (AuthnRequest) ──> login form (or SSO session)
//	               ──> auto-post page ──> Response to the SP's ACS
//	IdP-initiated: GET /saml/idp-initiated?sp=ENTITY ──> login (or session) ──> auto-post
//	metadata:      GET /saml/metadata
//	apps page:     GET / lists the SPs as tiles, like an IdP's portal
//
// For a service provider marked AWS, assertions are shaped for AWS (the
// IdP's "AWS app"): Audience urn:amazon:webservices, Recipient the AWS
// sign-in endpoint, Role/RoleSessionName/SessionDuration attributes. The
// broker passes those through to STS unchanged.
//
// OpenID Provider:
//
//	GET /.well-known/openid-configuration, GET /jwks
//	GET /authorize (code flow, PKCE S256 only) ──> login form (or session) ──> redirect with code
//	POST /token: code (+ verifier) ──> ID token (RS256), access token, refresh token
//	             (offline_access, rotated on use)
//	/userinfo
package devidp
