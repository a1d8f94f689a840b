package saml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// The direct path (issue 15): crewjam's ParseXMLResponse tokenises a
// Response three more times after the broker's own parse (its round-trip
// validator twice, its etree parse) and once more per element it decodes
// into structs. For a Response of the shape every IdP the broker knows
// sends (plaintext assertion, nothing encrypted, only the elements below),
// parseDirect makes crewjam's checks, in crewjam's order and with its error
// kinds, on the tree precheck built: the signatures verified with goxmldsig
// on that tree, the Response and the Assertion read from the elements the
// signatures cover (goxmldsig's parse of the digested bytes), never from
// the raw document again. Anything else (an encrypted part, an element the
// reader does not know, a repeated one) goes to crewjam's path, which stays
// for it: errNotDirect.

// errNotDirect is a Response parseDirect leaves to crewjam.
var errNotDirect = errors.New("not a shape the direct path reads")

// signingCerts are the IdP's signing certificates in md, as crewjam reads
// them (KeyDescriptors of use "signing" or unspecified), parsed once per
// metadata version; nil when crewjam would refuse them.
func signingCerts(md *saml.EntityDescriptor) []*x509.Certificate {
	certs, bad := metadataSigningCerts(md)
	if bad > 0 {
		return nil
	}
	return certs
}

// direct reports whether parseDirect may read doc: a plaintext assertion,
// nothing encrypted anywhere, signing certificates at hand, and crewjam's
// settings the direct path implements.
func direct(st *spState, doc *checked) bool {
	return !doc.encrypted && doc.assertion != nil && len(st.certs) > 0 && !holdsEncrypted(doc.root) &&
		st.sp.IDPCertificate == nil && st.sp.IDPCertificateFingerprint == nil && !st.sp.RejectExpiredIDPMetadata &&
		st.sp.ReplayCache == nil && st.sp.ValidateRequestID == nil && !st.sp.ValidateAuthnContextClassRef &&
		!st.sp.RejectUnknownConditions && st.sp.ValidateUnknownConditions == nil && !st.sp.AcceptAssertionBaseID
}

// parseDirect is tmpl.ParseXMLResponse(raw, requestIDs, current) for a
// document direct accepts, made on doc's tree; tmpl carries the clock,
// verifier, AcsURL and audience hook verify set. errNotDirect: the verified
// elements have a shape only crewjam reads.
func (sp *ServiceProvider) parseDirect(st *spState, tmpl *saml.ServiceProvider, doc *checked, requestIDs []string, current url.URL) (*saml.Assertion, error) {
	now := tmpl.Clock.Now()
	respEl, rt := doc.root, doc.tree
	if doc.signed {
		signed, inTree, err := sp.verifyDirect(st, tmpl, doc.tree, doc.root)
		if err != nil {
			return nil, err
		}
		if !inTree {
			respEl = signed
			if rt, err = treeOf(respEl); err != nil {
				return nil, errNotDirect
			}
		}
	}
	r, ok := readResponse(rt, respEl)
	if !ok {
		return nil, errNotDirect
	}
	// The Response: crewjam's checks, in its order.
	if r.version != "2.0" {
		return nil, fmt.Errorf("response Version %q is not 2.0: %w", r.version, saml.ErrUnsupported)
	}
	if doc.signed || r.destination != "" {
		if r.destination != current.String() && r.destination != tmpl.AcsURL.String() {
			return nil, fmt.Errorf("`Destination` does not match requested URL or AcsURL: %w", saml.ErrDestinationMismatch)
		}
	}
	if !validRequestID(tmpl.AllowIDPInitiated, r.inResponseTo, requestIDs) {
		return nil, fmt.Errorf("`InResponseTo` does not match any of the possible request IDs: %w", saml.ErrRequestIDMismatch)
	}
	assertionRequestIDs := requestIDs
	if r.inResponseTo != "" {
		assertionRequestIDs = []string{r.inResponseTo}
	}
	if err := issueInstantOK("response IssueInstant", r.issued, now); err != nil {
		return nil, err
	}
	if r.hasIssuer && r.issuer != st.md.EntityID {
		return nil, fmt.Errorf("response Issuer does not match the IDP metadata: %w", saml.ErrIssuerMismatch)
	}
	if r.status != saml.StatusSuccess {
		return nil, saml.ErrBadStatus{Status: r.status}
	}
	// The Assertion, as its own signature covers it, else as the Response's
	// does; the one crewjam reads must be the one received.
	if id, _ := attr(r.assertion, "ID"); id != attrOr(doc.assertion, "ID") {
		return nil, errNotDirect
	}
	aEl, at := r.assertion, rt
	if doc.assertionSigned {
		signed, inTree, err := sp.verifyDirect(st, tmpl, doc.tree, doc.assertion)
		if err != nil {
			return nil, err
		}
		if inTree {
			aEl, at = doc.assertion, doc.tree
		} else {
			aEl = signed
			if at, err = treeOf(aEl); err != nil {
				return nil, errNotDirect
			}
		}
	} else if !doc.signed {
		return nil, fmt.Errorf("the Assertion is not signed: %w", saml.ErrInvalidSignature)
	}
	a, ok := readAssertion(at, aEl)
	if !ok {
		return nil, errNotDirect
	}
	if err := validateAssertion(tmpl, st.md.EntityID, a, assertionRequestIDs, now); err != nil {
		return nil, err
	}
	return a, nil
}

// verifyDirect verifies the enveloped signature of el, an element of the
// received tree t, as crewjam's validatedElement does with the broker's
// verifier, and returns the element the signature covers: el itself,
// inTree true, when verifyInTree accepted it (verify_tree.go), else
// goxmldsig's element, parsed from the digested bytes.
func (sp *ServiceProvider) verifyDirect(st *spState, tmpl *saml.ServiceProvider, t *tree, el *etree.Element) (signed *etree.Element, inTree bool, err error) {
	// The broker's verifier first refuses a structure or an algorithm the
	// broker does not accept (inspectSigned, checkAlgorithms): precheck
	// has already applied those rules to the whole document, el included.
	// The witness around it keeps what the signatures verified.
	if w, ok := tmpl.SignatureVerifier.(*witness); ok && !sp.goxmldsigOnly {
		if v, ok := w.v.(verifier); ok && verifyInTree(t, el, treeSig{certs: st.certs, sig: v.sig, dig: v.dig, now: v.now()}) {
			w.signed = append(w.signed, el)
			sp.inTree.Add(1)
			return el, true, nil
		}
	}
	signed, err = sp.verifyGoxmldsig(st, tmpl, el)
	return signed, false, err
}

// verifyGoxmldsig is verifyDirect with goxmldsig's Validate.
func (sp *ServiceProvider) verifyGoxmldsig(st *spState, tmpl *saml.ServiceProvider, el *etree.Element) (*etree.Element, error) {
	fail := func(err error) error {
		var se *structureError
		if errors.As(err, &se) {
			return err
		}
		return fmt.Errorf("cannot validate signature on %s: %w: %w", el.Tag, err, saml.ErrInvalidSignature)
	}
	ctx, err := unboundedParentContext(el)
	if err == nil {
		ctx, err = ctx.SubContext(el)
	}
	if err != nil {
		return nil, fail(err)
	}
	// As crewjam does: a KeyInfo without a certificate is dropped, and the
	// signature is then checked against each trusted certificate in turn.
	noCert := el.FindElement("./Signature/KeyInfo/X509Data/X509Certificate") == nil
	// goxmldsig verifies a copy of what it is given and returns the
	// element re-parsed from the digested bytes; it never changes its
	// argument. The detached copy crewjam makes adds the namespace
	// declarations in scope from el's ancestors: a document's root has
	// none, so it is verified as it is, unless its KeyInfo is to be
	// dropped (a change made on a copy).
	detached := el
	if !documentRoot(el) || noCert {
		if detached, err = etreeutils.NSDetatch(ctx, el); err != nil {
			return nil, fail(err)
		}
	}
	if noCert {
		if sig := detached.FindElement("./Signature"); sig != nil {
			if ki := sig.FindElement("KeyInfo"); ki != nil {
				sig.RemoveChild(ki)
			}
		}
	}
	certSets := [][]*x509.Certificate{st.certs}
	if noCert && len(st.certs) > 1 {
		certSets = certSets[:0]
		for _, c := range st.certs {
			certSets = append(certSets, []*x509.Certificate{c})
		}
	}
	v, _ := tmpl.SignatureVerifier.(saml.SignedElementVerifier)
	if v == nil {
		return nil, fail(errors.New("no verifier"))
	}
	for _, certs := range certSets {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
		vc.IdAttribute = "ID"
		vc.Clock = tmpl.Clock
		var signed *etree.Element
		if signed, err = v.VerifySignedElement(vc, detached); err == nil {
			return signed, nil
		}
	}
	return nil, fail(err)
}

// documentRoot reports whether el is the root element of a parsed
// document (its parent the document itself, which declares nothing).
func documentRoot(el *etree.Element) bool {
	p := el.Parent()
	return p == nil || (p.Parent() == nil && p.Tag == "" && p.Space == "" && len(p.Attr) == 0)
}

// unboundedParentContext is crewjam's: the namespace context of el's
// ancestors, without etreeutils' traversal budget.
func unboundedParentContext(el *etree.Element) (etreeutils.NSContext, error) {
	parent := el.Parent()
	if parent == nil {
		return etreeutils.EmptyNSContext, nil
	}
	ctx, err := unboundedParentContext(parent)
	if err != nil {
		return ctx, err
	}
	return ctx.SubContext(parent)
}

func attrOr(el *etree.Element, key string) string {
	v, _ := attr(el, key)
	return v
}

// validRequestID is crewjam's validateRequestID without a hook.
func validRequestID(allowIDPInitiated bool, inResponseTo string, requestIDs []string) bool {
	if allowIDPInitiated && inResponseTo == "" {
		return true
	}
	for _, id := range requestIDs {
		if id != "" && inResponseTo == id {
			return true
		}
	}
	return false
}

// issueInstantOK is crewjam's checkIssueInstant.
func issueInstantOK(what string, issued, now time.Time) error {
	if deadline := issued.Add(saml.MaxIssueDelay); deadline.Before(now) {
		return fmt.Errorf("%s expired at %s: %w", what, deadline, saml.ErrExpired)
	}
	if issued.Add(-saml.MaxClockSkew).After(now) {
		return fmt.Errorf("%s %s is in the future: %w", what, issued, saml.ErrNotYetValid)
	}
	return nil
}

// pastDeadline is crewjam's: now is at or after notOnOrAfter plus the skew.
func pastDeadline(notOnOrAfter, now time.Time) bool {
	return !now.Before(notOnOrAfter.Add(saml.MaxClockSkew))
}

// validateAssertion is crewjam's, in its order, for the settings direct
// allows (no BaseID, no unknown conditions, no AuthnContext check).
func validateAssertion(tmpl *saml.ServiceProvider, idp string, a *saml.Assertion, requestIDs []string, now time.Time) error {
	if a.Version != "2.0" {
		return fmt.Errorf("assertion Version %q is not 2.0: %w", a.Version, saml.ErrUnsupported)
	}
	if a.IssueInstant.Add(saml.MaxIssueDelay).Before(now) {
		return fmt.Errorf("expired on %s: %w", a.IssueInstant.Add(saml.MaxIssueDelay), saml.ErrExpired)
	}
	if a.IssueInstant.Add(-saml.MaxClockSkew).After(now) {
		return fmt.Errorf("assertion IssueInstant %s is in the future: %w", a.IssueInstant, saml.ErrNotYetValid)
	}
	if a.Issuer.Value != idp {
		return fmt.Errorf("issuer is not %q: %w", idp, saml.ErrIssuerMismatch)
	}
	// readAssertion requires Subject, its NameID and Conditions.
	var firstErr error
	bearer := false
	for _, sc := range a.Subject.SubjectConfirmations {
		if sc.Method != bearerMethod {
			continue
		}
		bearer = true
		err := validateBearer(tmpl, sc.SubjectConfirmationData, requestIDs, now)
		if err == nil {
			firstErr = nil
			break
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if !bearer {
		return fmt.Errorf("assertion has no bearer SubjectConfirmation: %w", saml.ErrMissingElement)
	}
	if firstErr != nil {
		return firstErr
	}
	if len(a.AuthnStatements) == 0 {
		return fmt.Errorf("assertion has no AuthnStatement: %w", saml.ErrMissingElement)
	}
	if a.Conditions.NotBefore.Add(-saml.MaxClockSkew).After(now) {
		return fmt.Errorf("assertion Conditions is not yet valid: %w", saml.ErrNotYetValid)
	}
	if !a.Conditions.NotOnOrAfter.IsZero() && pastDeadline(a.Conditions.NotOnOrAfter, now) {
		return fmt.Errorf("assertion Conditions is expired: %w", saml.ErrExpired)
	}
	if tmpl.ValidateAudienceRestriction == nil {
		return fmt.Errorf("no audience hook: %w", saml.ErrAudienceMismatch)
	}
	if err := tmpl.ValidateAudienceRestriction(a); err != nil {
		return fmt.Errorf("audience restriction validation failed: %w: %w", err, saml.ErrAudienceMismatch)
	}
	return nil
}

// validateBearer is crewjam's validateBearerSubjectConfirmationData.
func validateBearer(tmpl *saml.ServiceProvider, d *saml.SubjectConfirmationData, requestIDs []string, now time.Time) error {
	if d == nil {
		return fmt.Errorf("assertion SubjectConfirmation has no SubjectConfirmationData: %w", saml.ErrMissingElement)
	}
	idpInitiated := tmpl.AllowIDPInitiated && d.InResponseTo == ""
	if !idpInitiated && !validRequestID(false, d.InResponseTo, requestIDs) {
		return fmt.Errorf("assertion SubjectConfirmation InResponseTo is not one of the possible request IDs: %w", saml.ErrRequestIDMismatch)
	}
	if d.Recipient != tmpl.AcsURL.String() {
		return fmt.Errorf("assertion SubjectConfirmation Recipient is not %s: %w", tmpl.AcsURL.String(), saml.ErrDestinationMismatch)
	}
	if d.NotBefore.Add(-saml.MaxClockSkew).After(now) {
		return fmt.Errorf("assertion SubjectConfirmationData is not yet valid: %w", saml.ErrNotYetValid)
	}
	if pastDeadline(d.NotOnOrAfter, now) {
		return fmt.Errorf("assertion SubjectConfirmationData is expired: %w", saml.ErrExpired)
	}
	return nil
}
