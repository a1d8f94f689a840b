// Package devapp is the demo app of `broker dev`: a small web app that
// signs people in with the broker, written as any Go app would be, with
// go-oidc (discovery, ID token verification against the broker's JWKS),
// x/oauth2 (authorization code + PKCE S256, refresh) and aws-sdk-go-v2
// (STS GetCallerIdentity). It imports no broker package: what it knows of
// the broker is the discovery document, the ID token's claims and the
// credentials API, as an outside app would.
//
//	GET  /           "Sign in with broker", or who is signed in: name, email,
//	                 groups, the roles of the aws_roles claim, a console link
//	                 per role (the broker's deep link /go?account=&role=) and
//	                 a "Get credentials" form per role
//	GET  /login      state + nonce + PKCE verifier kept server-side, the state
//	                 also in a short-lived cookie ──> 302 to the broker
//	GET  /callback   state checked against the cookie and used once ──> code
//	                 exchanged ──> ID token verified (issuer, audience,
//	                 signature, expiry), nonce checked ──> session
//	POST /credentials (CSRF) the access token (refreshed with the refresh token
//	                 when expired) ──> broker POST /api/v1/credentials
//	                 ──> STS GetCallerIdentity at the AWS endpoint with those
//	                 credentials ──> the page shows Account, Arn, UserId, the
//	                 access key id and the expiry (never the secret or token)
//	POST /logout     (CSRF) the session forgotten ──> the broker's
//	                 end_session_endpoint (client_id, post_logout_redirect_uri)
//
// Sessions live in memory, keyed by a random id in an HttpOnly SameSite=Lax
// cookie; tokens never leave the server, never appear in URLs or logs.
package devapp
