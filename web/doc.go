// Package web is the broker's HTTP face, on echo: the sign-in page, the
// portal, the SAML endpoints, the IdP metadata and health checks. It is the
// only package that imports echo and gorilla/sessions.
//
//	GET  /                      sign-in page (no session) or portal (roles by account)
//	GET  /saml/:p/login         SP-initiated: AuthnRequest (HTTP-Redirect), request id kept in a cookie
//	POST /saml/:p/acs           verify Response (saml) ─> server-side session (store) ─> portal
//	GET  /saml/:p/metadata      SP metadata
//	POST /console               chosen role ─> access.Assume ─> 302 to the AWS console login URL
//	GET  /continue?t=           the role picked before sign-in (deep link, single role, re-authentication)
//	POST /logout                end the session
//	GET  /idp/saml/metadata     the broker's own IdP metadata (broker-issued mode)
//	GET  /healthz, /readyz      liveness, readiness (store, IdP metadata)
//
// The browser holds only a signed, encrypted cookie with a random session id,
// the CSRF token and pending SAML request ids. The identity and the raw SAML
// Response (for pass-through) live server-side, encrypted at rest.
package web
