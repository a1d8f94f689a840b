// Package portal serves people: the sign-in page, the portal with their
// roles, the upstream sign-in flows and the jump to the AWS console.
//
//	GET  /                        sign-in page (no session) or portal (roles by account)
//	GET  /saml/:p/login           SP-initiated: AuthnRequest (HTTP-Redirect), request id kept in a cookie
//	POST /saml/:p/acs             verify Response (saml) ─> server-side session ─> portal
//	GET  /oidc/:p/login           authorization code + PKCE; ?prompt=none for a silent sign-in
//	GET  /oidc/:p/callback        state (cookie + replay cache) ─> code exchange (oidc) ─> session
//	POST /console                 chosen role ─> access.Assume ─> 302 to the AWS console login URL
//	GET  /continue?t=             the role picked before sign-in (deep link, single role, re-authentication)
//	POST /logout                  end the session
//
// When AWS refuses a spent upstream credential, the portal refreshes the
// OIDC ID token or sends the browser through the IdP again (silently where
// it can) and comes back to the same role.
package portal
