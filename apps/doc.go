// Package apps is the broker as an OpenID Provider for apps: an internal
// dashboard, a wiki, Grafana or a CLI sends a person to the broker and
// gets back who they are and which AWS roles the rules give them.
//
// The protocol is github.com/zitadel/oidc/v3/pkg/op (a certified OP
// library: endpoints, request validation, PKCE, client authentication,
// token signing, discovery); this package is its storage and policy:
//
//	app ──> GET /oauth/authorize ──> op (client, redirect URI exact match, scopes, PKCE S256)
//	    ──> Storage.CreateAuthRequest (store.AppAuthRequest) ──> LoginURL(id): the web/apps bridge
//	bridge ──> Provider.Request(id) (what it asks: prompt, max_age)
//	       ──> the portal session, or a sign-in through the IdP first
//	       ──> Provider.Complete(id, identity, auth time): the client's `when` condition,
//	           or access_denied back to the app (audited)
//	       ──> /oauth/authorize/callback?id= ──> op: code (stored as its SHA-256 hash) ──> app
//	app ──> POST /oauth/token (code + verifier, client auth) ──> RedeemAppCode (once; a replay
//	        revokes the grant) ──> ID token + JWT access token (+ refresh token with offline_access)
//	        signed with the broker's OIDC issuer key (one JWKS) ──> audit app_token_issued
//	refresh ──> rotation on every use; an already-rotated token revokes the whole grant (audited)
//	/oauth/userinfo, /oauth/introspect, /oauth/revoke, /oauth/end_session
//
// Claims: sub is PROVIDER:SUBJECT (as the broker's web-identity tokens),
// email and name with their scopes, groups with the scope groups, and
// with aws:roles the roles the rules grant the person at issue time.
// The device authorization grant (RFC 8628) for clients with Device: see
// device.go (zitadel answers /oauth/device_authorization, this package the
// device grant at /oauth/token: slow_down, expired_token, access_denied,
// the tokens once; LookupDevice and DecideDevice serve web/apps' /device).
// A third-party client (not FirstParty) asks the person's consent to its
// scopes before Complete: NeedsConsent, GrantConsent, RefuseConsent,
// remembered per person (store.ConsentStore), listed and revoked with
// Consents and RevokeConsent (consent.go).
// Clients come from the config file for now (Client); the admin UI, API
// and CLI come later.
package apps
