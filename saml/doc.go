// Package saml is the broker's SAML 2.0 service provider, one
// ServiceProvider per upstream IdP, built on crewjam/saml and hardened
// where crewjam leaves checks to its caller.
//
//	LoginRedirect(relay, LoginOptions{ForceAuthn, AuthnContexts}) ──> AuthnRequest
//	  (HTTP-Redirect, optionally signed; ForceAuthn="true", RequestedAuthnContext
//	  Comparison="exact" when asked); the caller keeps its ID. MFARequest() is
//	  the provider's configured AuthnContexts for a multi-factor sign-in.
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
//	  ──> encryption policy, on the tree, before anything is decrypted
//	      (encryption.go): a plaintext assertion refused when
//	      RequireEncryption; every EncryptedData (the EncryptedAssertion,
//	      an EncryptedID or EncryptedAttribute) read by namespace, one
//	      EncryptionMethod each, its EncryptedKeys where crewjam looks for
//	      them and nowhere else; key transport and content algorithms on
//	      the allow-list (RSA-OAEP, AES-GCM; AES-CBC only when listed and
//	      covered by a signature crewjam verifies before decrypting: the
//	      Response's, or the assertion's for what it holds; RSA-1.5 never)
//	  ──> crewjam ParseXMLResponse with our clock (ServiceProvider.Clock,
//	      set back when clock_skew allows more than crewjam's 90 s issue
//	      delay: libraryNow) and our verifier (guard.go: the same
//	      structure rules on what crewjam verifies, a decrypted Assertion
//	      included; allow-lists; certificate validity at our clock):
//	      signatures, Issuer, InResponseTo, audience hook, decryption with
//	      Key then each of PreviousKeys; the message is read from what the
//	      signature covers. Every decryption failure (key transport, tag,
//	      padding, length, plaintext that is not XML, a malformed
//	      EncryptedData) gets one answer, decrypt_failed, the cause going
//	      to the log only
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
// A plaintext Response of the usual shape (nothing encrypted, only the
// elements the broker reads) skips crewjam's ParseXMLResponse and its
// re-parses: direct.go makes the same checks, in crewjam's order and with
// its error kinds, on the tree precheck built, verifying each signature
// with goxmldsig through the same verifier and reading what the signatures
// cover; TestDirectMatchesCrewjam holds the two paths to the same decisions.
//
// The Identity carries the AuthnStatement's SessionIndex, its
// AuthnContextClassRef as the attribute broker.AttrAuthnContext (set after
// the IdP's attributes: an attribute of that name cannot stand in for it),
// and MFA (broker.SetMFA with Config.MFAValues, default
// broker.DefaultSAMLMFAValues).
//
// The Response as received (Result.ResponseXML) is what pass-through
// forwards to AWS: it is only returned once the broker has read all of it.
// crewjam's package variables (TimeNow, Clock, MaxClockSkew,
// MaxIssueDelay) are never assigned, in tests either
// (TestCrewjamGlobalsNeverAssigned).
//
// Metadata is what the IdP reads of the SP: the ACS (HTTP-POST), the
// SingleLogoutService at SLOURL (HTTP-Redirect and HTTP-POST) when one is
// configured, the NameID format (persistent unless configured), the
// current certificate for encryption with the allowed EncryptionMethods,
// AES-GCM first, and for signing when AuthnRequests or logout messages
// are signed.
//
// Single logout (slo.go, slo_parse.go), for the web layer's routes
// GET|POST /saml/ID/slo (SLOURL):
//
//	broker signs a person out (SP-initiated), when SingleLogoutSupported():
//	  LogoutRequest(identity, relay) ──> *Outbound, requestID
//	      NameID (its Format) and SessionIndex of the identity; HTTP-Redirect
//	      when the IdP offers it (query signed RSA-SHA256 with Key), else
//	      HTTP-POST (enveloped signature with Key). The caller keeps
//	      requestID as pending for this browser, then sends the browser:
//	      Outbound.RedirectURL (302) or an auto-submitting form of
//	      Outbound.Fields to Outbound.PostURL
//	  the IdP answers at SLOURL ──> ParseLogout(r, pendingIDs)
//	      ──> LogoutMessage.Response (Success, StatusCode): done
//
//	IdP signs a person out (IdP-initiated):
//	  IdP ──> SLOURL ──> ParseLogout(r, nil) ──> LogoutMessage.Request
//	      ──> RememberLogoutRequest (burns its ID; EREPLAY when seen)
//	      ──> the caller ends the broker sessions of Request.NameID (those
//	          of Request.SessionIndexes only, when there are any)
//	      ──> LogoutResponse(Request, success, LogoutMessage.RelayState)
//	          ──> *Outbound to the IdP's ResponseLocation (Success also
//	          when no session matched; Responder when ending one failed)
//
// ParseLogout checks a logout message as the ACS checks a Response: size,
// base64, deflate (Redirect), no DTD, the tree (tree.go) at most 32 deep
// without comments or processing instructions, the root what the
// parameter names, at most one Signature (the root's, over its unique ID,
// algorithms allowed); the Redirect query signature over the exact raw
// octets and any enveloped signature verify with the IdP's metadata
// signing certificates; an unsigned LogoutRequest is refused
// (logout_unsigned); Issuer, Destination = SLOURL, IssueInstant within
// ClockSkew, NotOnOrAfter; a LogoutResponse answers a pending request.
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
// A copy past its validUntil signs no one in (Ready says why).
//
// Errors are *broker.Error: the person sees what happened and who must act
// (errors.go), the log and audit get a precise Reason, and the cause is a
// *RefusedError: the subject of an assertion whose signature verified (a
// refusal before that names nobody; when the plaintext was refused
// already, crewjam still verifies the signatures, at the IdP's clock, only
// to name the subject), and the IdP's status when it did not answer
// Success.
//
// ParseUnverified reads the attributes of a pasted Response without any
// of the checks above (but counting assertions the same way), for the
// admin rule simulator only: what it returns must never sign anyone in.
package saml
