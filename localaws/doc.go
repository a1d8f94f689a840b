// Package localaws is a strict, local stand-in for the AWS endpoints the
// broker calls, so the whole product runs on a laptop (broker dev) and in
// end-to-end tests without an AWS account.
//
// It owns three things:
//
//   - an IAM-like Registry (SAML providers with their IdP metadata, OIDC
//     providers, roles with MaxSessionDuration and a trust policy), loaded
//     from YAML or JSON and validated as IAM would;
//   - the STS Query API (POST /), wire-compatible with aws-sdk-go-v2's
//     service/sts client: AssumeRoleWithSAML and AssumeRoleWithWebIdentity
//     verify the assertion or ID token the way AWS does and answer with
//     AWS's XML shapes, error codes and statuses;
//   - the sign-in federation endpoint (/federation: getSigninToken, login)
//     and a console page (/console) that shows the signed-in session, so
//     tests can see which role, session name and expiry reached "AWS".
//
// AssumeRoleWithSAML, step by step (each step's failure is the AWS error
// code in brackets):
//
//	form params ──> Version/Action dispatch           [InvalidAction, MissingAction]
//	  ──> parameter constraints                       [ValidationError, MalformedPolicyDocument,
//	                                                   PackedPolicyTooLarge]
//	      (DurationSeconds above the role's maximum: a valid assertion is
//	      recorded as used all the same; AWS does not say, so be strict)
//	  ──> PrincipalArn registered, its metadata's
//	      validUntil not passed, RoleArn exists       [InvalidIdentityToken, AccessDenied]
//	  ──> base64 ─> safe XML (no DTD) ─> etree        [InvalidIdentityToken]
//	  ──> schema rule: every xsi:type QName prefix
//	      declared in scope                           [InvalidIdentityToken]
//	  ──> XML signature (goxmldsig) on Response and/or Assertion; everything
//	      after this reads only the element the verifier returned
//	  ──> Issuer = metadata entityID, Audience, bearer SubjectConfirmation
//	      (Recipient, NotOnOrAfter), Conditions       [InvalidIdentityToken, ExpiredTokenException]
//	  ──> Role attribute holds RoleArn,PrincipalArn   [IDPRejectedClaim]
//	  ──> RoleSessionName, SessionDuration, tags, SourceIdentity
//	  ──> replay check (assertion ID)                 [InvalidIdentityToken]
//	  ──> role trust policy (policy.go)               [AccessDenied]
//	  ──> credentials issued (sealed in their session token, sealed.go);
//	      assertion ID recorded as used until the assertion expires
//
// AssumeRoleWithWebIdentity:
//
//	params ──> RoleArn exists, DurationSeconds ≤ MaxSessionDuration  [ValidationError, AccessDenied]
//	  ──> JWS signed with RS256/384/512 or ES256/384/512 (IAM's list:
//	      never PS*, none or HMAC)                                     [InvalidIdentityToken]
//	  ──> iss is a registered OIDC provider of the role's account,
//	      aud one of its client ids                                    [InvalidIdentityToken]
//	  ──> discovery + JWKS from the issuer (cached 5 min, refetched
//	      once for an unknown kid), signature                          [IDPCommunicationError,
//	                                                                    InvalidIdentityToken]
//	  ──> exp, iat, nbf, sub (6–255 characters); the https://aws.amazon.com/tags and
//	      source_identity claims                                       [ExpiredTokenException, ...]
//	  ──> trust policy: ISSUER:aud, :sub, :amr, :azp, request tags     [AccessDenied]
//	  ──> credentials issued, sealed in their session token (no replay
//	      rule: a token may be used until it expires, as with AWS)
//
// GetCallerIdentity (the one signed call, what `aws sts get-caller-identity`
// asks):
//
//	Authorization header present                       [MissingAuthenticationToken]
//	  ──> AWS4-HMAC-SHA256, scope DATE/REGION/sts/aws4_request, host and
//	      x-amz-date signed, X-Amz-Date within 15 minutes   [SignatureDoesNotMatch]
//	  ──> key id and X-Amz-Security-Token of credentials issued here
//	                                                   [InvalidClientTokenId]
//	  ──> Signature Version 4 recomputed with their secret [SignatureDoesNotMatch]
//	  ──> not expired                                  [ExpiredToken]
//	  ──> Account, Arn (assumed-role/ROLE/SESSION), UserId (ROLEID:SESSION)
//
// Issuers are https without a port, as IAM requires, except http on
// loopback with a port, for the broker and demo OP on the same machine.
//
// The console sign-in:
//
//	GET|POST /federation?Action=getSigninToken&Session={sessionId,sessionKey,sessionToken}
//	    credentials must be live ones this server issued ──> {"SigninToken": "..."}
//	GET|POST /federation?Action=login&SigninToken=..&Destination=..&Issuer=..
//	    token sealed, single use (its id kept until it expires), 15 minutes; Destination a console URL of the
//	    credentials' partition ──> HttpOnly cookie, 302 /console
//	GET /console ──> HTML page with ids account, role, session-name,
//	    session-expiry, destination and the issuer link
//	POST /console/signout ──> ends the console session
//
// GET / without parameters lists the registry; GET /healthz answers "ok".
//
// As with AWS, session tokens and sign-in tokens carry what they stand for
// (AES-GCM under a key made at New): nothing is kept per credential or per
// unused sign-in token, and an expired one is refused by the time sealed
// in it, however old. What is kept, in memory, lasts until it expires and
// is then swept: used assertion IDs, the ids of used sign-in tokens, and
// console sessions (until their end and an hour more). The package imports no
// broker package but the root broker (ARN parsing) and partition (the
// table of sign-in and console hosts) and never logs assertions,
// credentials or tokens.
package localaws
