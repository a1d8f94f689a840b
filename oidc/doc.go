// Package oidc is the broker's OpenID Connect relying party, one Provider
// per upstream OP, on coreos/go-oidc and golang.org/x/oauth2, with the
// checks those leave to their caller.
//
//	AuthURL(state, nonce, PKCE verifier, prompt) ──> OP /authorize (code flow, S256)
//	Exchange(code, verifier, nonce)
//	  ──> token endpoint (client_secret_basic | client_secret_post | public)
//	  ──> ID token: signature (JWKS, refetched on an unknown kid; RS/ES/PS only,
//	      never "none" or HMAC), iss, aud, azp when several audiences, exp and
//	      iat with skew, nonce, sub
//	  ──> optional userinfo, merged only when its sub matches
//	  ──> claims flattened into the attribute map the rules read
//	      (groups, https://example.com/claims/team, realm_access.roles)
//	Refresh(refresh token) ──> a fresh ID token for the same sub
//
// Errors are *broker.Error whose message says who must act (errors.go);
// the cause is a *RefusedError naming the sub once the ID token's signature
// verified (an audience refusal included: go-oidc checks the signature
// first). AuthorizationError is the OP's ?error= answer at the callback,
// audited with its code.
//
// Discovery is lazy and retried: the broker starts while an OP is down and
// Ready says why. State, nonce and verifier are generated and kept by the
// caller (bound to the browser, single use).
package oidc
