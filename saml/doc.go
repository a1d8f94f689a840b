// Package saml is the broker's SAML 2.0 service provider, one
// ServiceProvider per upstream IdP, built on crewjam/saml and hardened
// where crewjam leaves checks to its caller.
//
//	LoginRedirect ──> AuthnRequest (HTTP-Redirect, optionally signed); the caller keeps its ID
//
//	ParseResponse(SAMLResponse, pending request IDs, current URL)
//	  ──> size, base64, no DTD, exactly one (Encrypted)Assertion      (raw bytes)
//	  ──> crewjam ParseXMLResponse: signatures (with our SHA-256+ allow-list
//	      hook), Destination, Issuer, times, audience hook, InResponseTo,
//	      decryption
//	  ──> one bearer SubjectConfirmation with an allowed Recipient, an
//	      AuthnStatement, our own time checks with the configured skew
//	  ──> Identity from the *verified* assertion only; strict Role attribute
//	  ──> replay cache: the assertion ID is recorded only now, after every
//	      check passed, so a tampered copy cannot burn a genuine response
//
// IdP metadata comes from a URL (fetched with a timeout, refreshed by Run
// or Refresh, the last good copy kept when a refresh fails), a file or
// inline XML. Errors are *broker.Error: the person sees "sign-in failed"
// and what to do, the log and audit get a precise Reason.
//
// ParseUnverified reads the attributes of a pasted Response without any
// of the checks above, for the admin rule simulator only: what it returns
// must never sign anyone in.
package saml
