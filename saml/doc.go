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
// IdP metadata comes from a URL, a file or inline XML, the way Shibboleth
// handles it:
//
//	Refresh ──> read (URL with a timeout | file | inline)
//	  ──> size, no DTD ──> signature, when MetadataSigningCertificate is set
//	      (enveloped, over the root, SHA-256+; only the signed element is parsed)
//	  ──> an IdP role with a signing key and an SSO endpoint ──> not past validUntil
//	  ──> install; log the first copy and every change (keys before/after),
//	      OnMetadataChange when it differs from the stored copy
//	  ──> URL metadata: saved to MetadataCache as the last good copy
//	on failure ──> the last good copy stays; a newer stored copy (an earlier
//	      run, another instance) is used when the URL is down, checked again
//	Run ──> Refresh every MetadataRefresh (sooner for cacheDuration or
//	      before validUntil); after a failure 30 s, 1 m, 2 m ... up to it
//
// A copy past its validUntil signs no one in (Ready says why). Errors are
// *broker.Error: the person sees "sign-in failed" and what to do, the log
// and audit get a precise Reason.
//
// ParseUnverified reads the attributes of a pasted Response without any
// of the checks above, for the admin rule simulator only: what it returns
// must never sign anyone in.
package saml
