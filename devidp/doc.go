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
//	single logout: GET/POST /saml/slo (HTTP-Redirect, HTTP-POST; see slo.go)
//	               SP-initiated: the SP's LogoutRequest (signature checked when
//	               its Certificate is set) ends the SSO session ──> LogoutResponse
//	               POSTed to the SP's SLOURL
//	               IdP-initiated: POST /logout ──> a signed LogoutRequest POSTed to
//	               each SP of the session with an SLOURL, one after another, their
//	               LogoutResponses back at /saml/slo ──> "signed out";
//	               LogoutRequestFor is the same without a browser at the IdP
//
// Every Response of one SSO session carries its SessionIndex. The
// AuthnContextClassRef is PasswordProtectedTransport, or
// MobileTwoFactorContract when the person entered their OTP (User.OTP).
// An AuthnRequest whose RequestedAuthnContext names a multi-factor class
// makes the OTP required (a person without one gets a Responder /
// NoAuthnContext Response); ForceAuthn asks for the password whatever the
// SSO session.
//
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
//	    the session answers unless prompt=login, max_age has passed, or acr_values
//	    names an MFA value the session lacks; POST /login (password) ──> POST
//	    /login/otp for a person with User.OTP (required when MFA was asked for;
//	    none set up ──> error=unmet_authentication_requirements)
//	POST /token: code (+ verifier) ──> ID token (RS256; sid, auth_time, amr pwd or
//	             pwd otp mfa, acr REFEDS sfa or mfa), access token, refresh token
//	             (offline_access, rotated on use)
//	/userinfo
//	GET|POST /end-session (RP-initiated logout): id_token_hint, client_id,
//	    post_logout_redirect_uri (registered, else an error page), state
//	    ──> session ended, its tokens revoked ──> logout token (typ logout+jwt) POSTed
//	    to each client with a BackchannelLogoutURI that got tokens in it (5 s) ──>
//	    redirect with state; POST /logout (the OP's own sign-out) fans out the same
package devidp
