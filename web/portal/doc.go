// Package portal serves people: the sign-in page, the portal with their
// roles, the upstream sign-in flows and the jump to the AWS console.
//
//	GET  /                        sign-in page (no session) or portal (roles by account); ?return= (a
//	                              local path, e.g. /apps/login?id=) and ?fresh=1 go on to the login links
//	GET  /saml/:p/login           SP-initiated: AuthnRequest (HTTP-Redirect), request id kept in a cookie;
//	                              ?return= lands there after sign-in, ?mfa=1 asks for MFA, ?fresh=1 ForceAuthn
//	POST /saml/:p/acs             verify Response (saml) ─> server-side session ─> portal (unsolicited: ─> /arrive)
//	GET  /arrive                  an unsolicited sign-in meets the browser's session (switch.go)
//	GET  /oidc/:p/login           authorization code + PKCE; ?prompt=none for a silent sign-in,
//	                              ?fresh=1 for prompt=login (an app asked for a fresh sign-in)
//	GET  /oidc/:p/callback        state (cookie + replay cache) ─> code exchange (oidc) ─> session
//	GET  /?q=                     the portal filtered by a search (account id/alias/label, role); pinned and
//	                              recently used roles at the top, today's console sessions (roles.go)
//	POST /favourites              pin or unpin a role, per person, in the store (CSRF): pin=REF or unpin=REF
//	                              (a card's pin reference, cards.go), or grant=KEY with pin=1 or pin=0
//	POST /console                 chosen role (the portal's one form: grant= is the pressed button's value)
//	                              ─> access.Assume ─> 302 to the AWS console login URL
//	GET  /continue?t=             the role picked before sign-in (deep link, single role, re-authentication)
//	GET  /open?grant=&destination= deep link to a role: opens it, or asks first (see below)
//	GET  /go?account=&role=       deep link in words (account id/alias/label, role name/ARN; via=, region=,
//	                              destination=): resolved to one of the person's grants, then as /open (golinks.go)
//	GET  /switch                  an unsolicited sign-in of someone else: stay or switch?
//	POST /switch                  the choice (CSRF)
//	POST /logout                  end the session
//
// Sign-ins and roles nobody asked for. An unsolicited (IdP-initiated)
// SAML Response never touches the session cookie at the ACS (another
// site's POST arrives without it); on /arrive, one for someone other than
// the person signed in never replaces their session: it waits, for five
// minutes at most, until the person stays or switches (switch.go). A link
// that names a role (grant= or destination= on the login routes, /open or /go)
// opens it only when the request was made on this site or typed
// (Sec-Fetch-Site same-origin or none) or carries the broker's own intent
// token; otherwise, and after every IdP-initiated sign-in, the role is
// named on a confirmation page whose button posts to /console
// (crosssite.go).
//
// When AWS refuses a spent upstream credential, the portal refreshes the
// OIDC ID token or sends the browser through the IdP again (silently where
// it can) and comes back to the same role.
package portal
