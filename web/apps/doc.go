// Package apps serves the broker's OpenID Provider for apps on the web:
// the OP's protocol endpoints (package apps, zitadel/oidc pkg/op) mounted
// under echo, and the login bridge between an app's authorization request
// and the person's broker sign-in.
//
//	GET|POST /oauth/authorize          the app's request (client, exact redirect URI, scopes, PKCE S256)
//	                                   ─> 302 /apps/login?id=
//	GET      /apps/login?id=           the login bridge (below)
//	POST     /oauth/token              code + verifier + client auth ─> ID, access and refresh tokens
//	GET|POST /oauth/userinfo           claims for a live access token
//	POST     /oauth/revoke             RFC 7009 (a refresh token ends its whole grant)
//	POST     /oauth/introspect         RFC 7662, for authenticated clients
//	GET|POST /oauth/end_session        RP-initiated logout: ends the app's tokens, not the portal session
//	*        /oauth/authorize/callback refused from outside: the bridge runs it itself
//	POST     /oauth/device_authorization the device flow (RFC 8628): device and user codes
//	GET      /device[?user_code=]      the verification page (signed in; else sign-in, return=)
//	POST     /device (CSRF)            the code ─> the app, its scopes, who is signed in ─> Allow / Deny
//	POST     /apps/consent (CSRF)      a third-party app's consent screen answered: Allow / Deny
//	GET      /apps/consents            the apps the person allowed; POST /apps/consents/revoke (CSRF)
//	GET      /api/v1/roles             Bearer, scope aws:roles: the person's roles as the portal lists them
//	POST     /api/v1/credentials       Bearer, scope aws:credentials: STS credentials for a granted role
//	POST     /api/v1/console           Bearer, scope aws:credentials: a console sign-in URL for a granted role
//
// The API for apps (bearer.go: 401 with WWW-Authenticate for a bad token,
// 403 access_token_scope without the scope, no-store) goes through
// access: Service.Roles, Credentials and Console decide with the rules in
// force now and audit with the app's client id.
//
// The bridge, for the auth request id (random, 256 bits, 10 minutes):
//
//	unknown, expired or used id ──> an error page (404), never a redirect
//	portal session, not stale, fresh enough for prompt=login / max_age
//	    ──> a third-party app not yet allowed these scopes (or prompt=consent):
//	        the consent screen, POST /apps/consent Allow / Deny (consent.go;
//	        prompt=none ──> consent_required to the app)
//	    ──> apps.Complete (the client's `when`; EFORBIDDEN ──> access_denied to the app)
//	    ──> the OP's callback, run in this same response ──> 302 to the app with the code
//	prompt=none and no such session ──> login_required to the app
//	signed in, but too old for the app ──> the person's IdP login route with
//	    ?fresh=1 (SAML ForceAuthn, OIDC prompt=login) &return=/apps/login?id=…
//	not signed in ──> the sign-in page with ?return=/apps/login?id=… (and fresh=1 when asked)
//
// The callback is not reachable from outside so that whoever holds an
// auth request's id (the app, a log, a proxy) cannot collect the code of
// a request someone else's sign-in completed: completing the request and
// issuing its code happen in one response to the browser that signed in.
package apps
