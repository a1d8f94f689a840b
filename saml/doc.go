// Package saml is the broker's SAML 2.0 service provider, one
// ServiceProvider per upstream IdP, built on crewjam/saml and hardened
// where crewjam leaves checks to its caller.
//
//	LoginRedirect ──> AuthnRequest (HTTP-Redirect, optionally signed); the caller keeps its ID
//
//	ParseResponse(SAMLResponse, pending request IDs, current URL)
//	  ──> size, base64, no DTD                                        (raw bytes)
//	  ──> scan: one parsed tree, every prefix resolved; refused when   (tree.go)
//	      not namespace-well-formed, or holding what the broker does
//	      not read (comments or processing instructions inside, an
//	      encoding other than UTF-8)
//	  ──> inspect, before anything trusts the document (structure.go):
//	      a SAML 2.0 Response whose status is Success; exactly one
//	      Assertion or EncryptedAssertion in the whole tree, counted by
//	      namespace and local name (look-alikes in other namespaces
//	      count), as the Response's child; exactly one Signature on each
//	      of the Response and the plaintext Assertion and none elsewhere,
//	      with one Reference to "#" + that element's ID, an ID no other
//	      attribute carries; allowed algorithms
//	  ──> precheck: Destination, then on the plaintext assertion what
//	      checkFacts requires (below), so refusals name their reason;
//	      such a refusal waits for the signatures (unless none is there)
//	  ──> crewjam ParseXMLResponse with our clock (ServiceProvider.Clock,
//	      set back when clock_skew allows more than crewjam's 90 s issue
//	      delay: libraryNow) and our verifier (guard.go: the same
//	      structure rules on what crewjam verifies, a decrypted Assertion
//	      included; allow-lists; certificate validity at our clock):
//	      signatures, Issuer, InResponseTo, audience hook, decryption; the
//	      message is read from what the signature covers
//	  ──> checkFacts on the verified assertion: one bearer
//	      SubjectConfirmation with an allowed Recipient, every time and
//	      the Response's and Assertion's IssueInstant within clock_skew
//	      (assertion_expired, not_yet_valid, response_too_old,
//	      clock_skew), an AuthnStatement
//	  ──> Identity from the *verified* assertion only; the AWS attributes
//	      (Role, RoleSessionName, SessionDuration) strictly for a
//	      PassThrough provider, malformed values left out otherwise
//	  ──> replay cache: the assertion ID is recorded only now, after every
//	      check passed, so a tampered copy cannot burn a genuine response
//
// The Response as received (Result.ResponseXML) is what pass-through
// forwards to AWS: it is only returned once the broker has read all of it.
// crewjam's package variables (TimeNow, Clock, MaxClockSkew,
// MaxIssueDelay) are never assigned, in tests either
// (TestCrewjamGlobalsNeverAssigned).
//
// IdP metadata comes from a URL (fetched with a timeout, refreshed by Run
// or Refresh, the last good copy kept when a refresh fails), a file or
// inline XML. Errors are *broker.Error: the person sees what happened and
// who must act (errors.go), the log and audit get a precise Reason, and
// the cause is a *RefusedError: the subject of an assertion whose
// signature verified (a refusal before that names nobody; when the
// plaintext was refused already, crewjam still verifies the signatures,
// at the IdP's clock, only to name the subject), and the IdP's status
// when it did not answer Success.
//
// ParseUnverified reads the attributes of a pasted Response without any
// of the checks above (but counting assertions the same way), for the
// admin rule simulator only: what it returns must never sign anyone in.
package saml
