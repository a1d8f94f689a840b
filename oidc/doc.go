// Package oidc is the broker's OpenID Connect relying party, one Provider
// per upstream OP, on coreos/go-oidc and golang.org/x/oauth2, with the
// checks those leave to their caller.
//
//	AuthURL(AuthRequest{State, Nonce, Verifier, Prompt, MaxAge, ACRValues, MFA})
//	  ──> OP /authorize (code flow, S256; max_age, acr_values; MFA adds
//	      Config.MFARequest to acr_values, or prompt=login when none is set)
//	Exchange(code, verifier, nonce[, WithMaxAge(the same MaxAge)])
//	  ──> token endpoint (client_secret_basic | client_secret_post | public)
//	  ──> ID token: signature (JWKS, refetched on an unknown kid; RS/ES/PS only,
//	      never "none" or HMAC), iss, aud, azp when several audiences, exp and
//	      iat with skew, nonce, sub; with a max age: auth_time present
//	      (auth_time_missing) and within max_age + skew (auth_time_too_old)
//	  ──> optional userinfo, merged only when its sub matches
//	  ──> claims flattened into the attribute map the rules read
//	      (groups, https://example.com/claims/team, realm_access.roles);
//	      sid ──> Identity.SessionIndex; acr/amr against Config.MFAValues
//	      ──> Identity.MFA and the attribute mfa (broker.SetMFA);
//	      refresh_expires_in (Keycloak) ──> Result.RefreshExpires
//	Refresh(refresh token) ──> a fresh ID token for the same sub
//
// Logout (the portal's routes call these; the package does no HTTP
// serving):
//
//	RP-initiated (OpenID Connect RP-Initiated Logout 1.0):
//	  EndSessionURL(idTokenHint, postLogoutRedirectURI, state)
//	    ──> end_session_endpoint?client_id&id_token_hint&post_logout_redirect_uri&state
//	    ("" when the OP has no end_session_endpoint: end the local session only)
//	  The post-logout redirect URI must be registered at the OP for the
//	  client; the OP echoes state to it.
//	Back-channel (OpenID Connect Back-Channel Logout 1.0), at
//	EXTERNAL/oidc/ID/backchannel-logout, POST form logout_token=:
//	  VerifyLogoutToken(raw) ──> LogoutToken{Subject, SID, JTI, IssuedAt, Expires}
//	    checks: size, signature (the ID tokens' JWKS and algorithm allow-list),
//	    iss, aud, typ logout+jwt or JWT if present, iat, exp (or iat within
//	    LogoutTokenMaxAge), jti, the back-channel logout event object, sub or
//	    sid, no nonce
//	  caller: burn JTI in the replay cache until Expires; end the sessions of
//	  this provider whose SessionIndex is SID (all of Subject's when SID is "");
//	  answer 200, or 400 {"error":"invalid_request"} on a refusal (the reason
//	  goes to the log), 5xx for EUPSTREAM/EUNAVAILABLE so the OP may retry.
//	Logout() says what discovery advertised (end session, back-channel, sid).
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
