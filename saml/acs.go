package saml

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

// ACSInput is what the ACS endpoint received.
type ACSInput struct {
	SAMLResponse string   // the form value, base64
	RequestIDs   []string // AuthnRequest IDs this browser started for this provider, still pending
	CurrentURL   string   // the URL the response was POSTed to
	// DeferReplay leaves burning the assertion ID to the caller, who
	// writes it with the rest of the sign-in in one transaction
	// (Result.ReplayNamespace, AssertionID, ReplayExpires) and must
	// refuse the sign-in if it was recorded before. false: ParseResponse
	// burns it in the ReplayCache (EREPLAY when seen).
	DeferReplay bool
}

// Result is a verified response.
type Result struct {
	Identity     broker.Identity
	ResponseXML  []byte // the decoded Response exactly as received
	AssertionID  string
	InResponseTo string    // "" for IdP-initiated
	NotOnOrAfter time.Time // SubjectConfirmationData NotOnOrAfter
	// ReplayNamespace and ReplayExpires are where and until when
	// AssertionID must be remembered (burned already unless
	// ACSInput.DeferReplay).
	ReplayNamespace string
	ReplayExpires   time.Time
	// ReplayRefusal is the refusal to report (and audit) when the caller
	// finds AssertionID already used (DeferReplay): EREPLAY "replay",
	// naming the verified subject, as ParseResponse's own.
	ReplayRefusal error
}

const bearerMethod = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

// ParseResponse verifies a SAML Response and returns the identity it
// carries. Every failure is a *broker.Error: EINVALID (malformed input),
// EUNAUTHORIZED (did not verify), EEXPIRED (times), EREPLAY (already used),
// EFORBIDDEN (the IdP refused the sign-in), EUNAVAILABLE (no metadata),
// each with a stable Reason and a Message safe to show that says who must
// act. Its cause is a *RefusedError: the subject once a signature
// verified, the IdP's status when it was not Success.
func (sp *ServiceProvider) ParseResponse(ctx context.Context, in ACSInput) (*Result, error) {
	st := sp.state.Load()
	if st == nil {
		return nil, sp.fail(broker.EUNAVAILABLE, "metadata_unavailable", sp.Ready())
	}
	raw, err := sp.decode(in.SAMLResponse)
	if err != nil {
		return nil, err
	}
	current, err := url.Parse(in.CurrentURL)
	if err != nil || current.Host == "" {
		current = &sp.acs
	}
	now := sp.cfg.Now()
	doc, err := sp.precheck(raw, current, now)
	if err != nil {
		return nil, err
	}
	assertion, err := sp.verify(st, doc, raw, in.RequestIDs, current, now)
	if err != nil {
		return nil, err
	}
	// From here on the assertion verified: every refusal names its subject.
	res, err := sp.accept(ctx, st, assertion, doc, raw, now, in.DeferReplay)
	if err != nil {
		return nil, withSubject(err, nameIDOf(assertion))
	}
	return res, nil
}

// verify has crewjam verify the Response with our clock and verifier. A
// refusal the plaintext already earned in precheck (doc.pending) is
// reported once the signatures have had their say, with the subject only
// when they verified and crewjam refused nothing about them.
func (sp *ServiceProvider) verify(st *spState, doc *checked, raw []byte, requestIDs []string, current *url.URL, now time.Time) (*saml.Assertion, error) {
	tmpl := st.sp
	// crewjam checks the SubjectConfirmationData Recipient against AcsURL:
	// give it the allowed Recipient the assertion names (checked again on
	// the verified assertion).
	tmpl.AcsURL = doc.acs
	at := libraryNow(now, sp.cfg.ClockSkew, doc.issued...)
	if doc.pending != nil && !doc.responseIssued.IsZero() {
		// Refused already: crewjam runs only to verify the signatures, at
		// the IdP's clock, so that its time checks (on an unsigned Response,
		// before the Assertion's signature) do not stop it first.
		at = doc.responseIssued
	}
	tmpl.Clock = dsig.NewFakeClockAt(at)
	w := &witness{v: tmpl.SignatureVerifier}
	tmpl.SignatureVerifier = w
	var assertion *saml.Assertion
	err := errNotDirect
	if !sp.crewjamOnly && direct(st, doc) { // direct.go
		assertion, err = sp.parseDirect(st, &tmpl, doc, requestIDs, *current)
	}
	if errors.Is(err, errNotDirect) {
		w.signed = nil
		assertion, err = tmpl.ParseXMLResponse(raw, requestIDs, *current)
	}
	subject := ""
	if err == nil {
		subject = nameIDOf(assertion)
	} else if err = sp.classify(err, doc, current); !unverified[broker.ErrorReason(err)] {
		subject = w.subject()
	}
	if doc.pending != nil {
		err = doc.pending
	}
	if err != nil {
		return nil, withSubject(err, subject)
	}
	return assertion, nil
}

// accept checks the verified assertion, reads the identity from it and
// burns its ID (unless deferReplay: the caller does).
func (sp *ServiceProvider) accept(ctx context.Context, st *spState, assertion *saml.Assertion, doc *checked, raw []byte, now time.Time, deferReplay bool) (*Result, error) {
	if err := sp.checkFacts(factsOfAssertion(assertion), doc.responseIssued, now); err != nil {
		return nil, err
	}
	id, err := sp.identity(assertion, st.md.EntityID)
	if err != nil {
		return nil, err
	}
	scd := assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData
	expires := scd.NotOnOrAfter
	if c := assertion.Conditions; c != nil && c.NotOnOrAfter.After(expires) {
		expires = c.NotOnOrAfter
	}
	res := &Result{Identity: *id, ResponseXML: raw, AssertionID: assertion.ID, InResponseTo: scd.InResponseTo, NotOnOrAfter: scd.NotOnOrAfter,
		ReplayNamespace: "saml:" + sp.cfg.ID, ReplayExpires: expires.Add(sp.cfg.ClockSkew)}
	if deferReplay {
		res.ReplayRefusal = withSubject(sp.fail(broker.EREPLAY, "replay", fmt.Errorf("assertion %s already used", assertion.ID)), nameIDOf(assertion))
		return res, nil
	}
	// Only now, with everything verified, burn the ID.
	if err := sp.cfg.Replay.Remember(ctx, res.ReplayNamespace, assertion.ID, res.ReplayExpires); err != nil {
		if broker.ErrorCode(err) == broker.EREPLAY {
			return nil, sp.fail(broker.EREPLAY, "replay", fmt.Errorf("assertion %s already used", assertion.ID))
		}
		return nil, err
	}
	return res, nil
}

// checked is a Response that passed precheck.
type checked struct {
	*response
	facts          *facts // of the plaintext assertion; nil when encrypted
	pending        error  // a refusal the plaintext earned (Destination, checkFacts), reported after verify
	responseIssued time.Time
	issued         []time.Time // the IssueInstants the broker can see
	acs            url.URL     // the allowed Recipient crewjam must find
}

// precheck reads the document as a tree and refuses, before crewjam or
// anything else trusts it, a structure the broker does not fully
// understand (inspect). It then finds, in crewjam's order, a Destination
// that is not where it was posted or, on the plaintext assertion, what
// checkFacts will require of the verified one, so that the refusal names
// its precise reason. That refusal waits in doc.pending for the
// signatures to be verified, so that it can name who it refused; a
// document no signature covers gets it at once. Last, before anything is
// decrypted, the encryption policy (checkEncryption).
func (sp *ServiceProvider) precheck(raw []byte, current *url.URL, now time.Time) (*checked, error) {
	t, err := scan(raw)
	if err != nil {
		return nil, sp.fail(broker.EINVALID, "malformed_response", err)
	}
	r, err := sp.inspect(t)
	if err != nil {
		return nil, sp.refused(t, err)
	}
	doc := &checked{response: r}
	if doc.responseIssued, err = timeAttr(r.root, "IssueInstant"); err != nil {
		return nil, sp.fail(broker.EINVALID, "malformed_response", err)
	}
	doc.issued = []time.Time{doc.responseIssued}
	if !r.encrypted { // an encrypted one is read after crewjam decrypted it
		f, err := t.factsOf(r.assertion)
		if err != nil {
			return nil, sp.fail(broker.EINVALID, "malformed_response", err)
		}
		doc.facts = &f
		doc.issued = append(doc.issued, f.issued)
	}
	doc.acs = sp.recipientURL(doc.facts)
	if dest, _ := attr(r.root, "Destination"); (r.signed || dest != "") && dest != current.String() && dest != doc.acs.String() {
		doc.pending = sp.fail(broker.EUNAUTHORIZED, "destination_mismatch", fmt.Errorf("Destination %q is neither %q nor %q", dest, current, &doc.acs))
	} else if doc.facts != nil {
		doc.pending = sp.checkFacts(*doc.facts, doc.responseIssued, now)
	}
	if err := r.requireSignature(); err != nil {
		if doc.pending != nil { // no signature to wait for
			return nil, doc.pending
		}
		return nil, sp.refused(t, err)
	}
	if err := sp.checkEncryption(r); err != nil { // encryption.go
		if doc.pending != nil { // nothing will be decrypted or verified: the plaintext's refusal says more
			return nil, doc.pending
		}
		return nil, err
	}
	return doc, nil
}

// refused turns an inspect error on t into the broker error.
func (sp *ServiceProvider) refused(t *tree, err error) error {
	var st *statusError
	if errors.As(err, &st) {
		return sp.badStatus(t, err)
	}
	var se *structureError
	if errors.As(err, &se) {
		code := broker.EUNAUTHORIZED
		if se.reason == "malformed_response" || se.reason == "xml_unsupported" {
			code = broker.EINVALID
		}
		return sp.fail(code, se.reason, se.err)
	}
	return sp.fail(broker.EINVALID, "malformed_response", err)
}

// recipientURL is the allowed Recipient the plaintext assertion names, else
// the first allowed one.
func (sp *ServiceProvider) recipientURL(f *facts) url.URL {
	recipient := sp.cfg.Recipients[0]
	if f != nil && len(f.confirmations) == 1 && sp.recips[f.confirmations[0].recipient] {
		recipient = f.confirmations[0].recipient
	}
	u, _ := url.Parse(recipient)
	return *u
}

func (sp *ServiceProvider) decode(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, sp.fail(broker.EINVALID, "malformed_response", errors.New("empty SAMLResponse"))
	}
	if base64.StdEncoding.DecodedLen(len(s)) > sp.cfg.MaxResponseBytes+3 {
		return nil, sp.fail(broker.ETOOLARGE, "too_large", fmt.Errorf("response larger than %d bytes", sp.cfg.MaxResponseBytes))
	}
	// IdPs wrap base64 at 64 or 76 columns; nothing else is tolerated.
	s = strings.NewReplacer("\r", "", "\n", "", " ", "", "\t", "").Replace(s)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, sp.fail(broker.EINVALID, "malformed_response", fmt.Errorf("SAMLResponse is not base64: %w", err))
	}
	if len(raw) > sp.cfg.MaxResponseBytes {
		return nil, sp.fail(broker.ETOOLARGE, "too_large", fmt.Errorf("response is %d bytes", len(raw)))
	}
	if err := rejectDTD(raw); err != nil {
		return nil, sp.fail(broker.EINVALID, "dtd_forbidden", err)
	}
	return raw, nil
}

// checkAudience is crewjam's audience hook: there must be at least one
// AudienceRestriction, and every Audience of each (crewjam reads several
// per restriction) must be an allowed one.
func (sp *ServiceProvider) checkAudience(a *saml.Assertion) error {
	if a.Conditions == nil || len(a.Conditions.AudienceRestrictions) == 0 {
		return &audienceError{"the assertion has no AudienceRestriction"}
	}
	for _, ar := range a.Conditions.AudienceRestrictions {
		for _, aud := range ar.AllAudiences() {
			if !sp.auds[strings.TrimSpace(aud.Value)] {
				return &audienceError{fmt.Sprintf("audience %q is not this service provider", aud.Value)}
			}
		}
	}
	return nil
}

type audienceError struct{ msg string }

func (e *audienceError) Error() string { return e.msg }

// witness wraps the verifier for one ParseResponse and keeps what its
// signatures verified: the elements as the signatures cover them, from
// which a refusal after verification reads its subject.
type witness struct {
	v      saml.SignatureVerifier // the SP's verifier
	signed []*etree.Element
}

// VerifySignedElement implements saml.SignedElementVerifier.
func (w *witness) VerifySignedElement(vc *dsig.ValidationContext, el *etree.Element) (*etree.Element, error) {
	sv, ok := w.v.(saml.SignedElementVerifier)
	if !ok { // nothing to witness: el is not what a signature covers
		return el, w.v.VerifySignature(vc, el)
	}
	signed, err := sv.VerifySignedElement(vc, el)
	if err == nil {
		w.signed = append(w.signed, signed)
	}
	return signed, err
}

// VerifySignature implements saml.SignatureVerifier.
func (w *witness) VerifySignature(vc *dsig.ValidationContext, el *etree.Element) error {
	_, err := w.VerifySignedElement(vc, el)
	return err
}

// subject is the NameID of the assertion a verified signature covers (an
// Assertion's own, or the Response's around its plaintext Assertion), ""
// when none does.
func (w *witness) subject() string {
	for i := len(w.signed) - 1; i >= 0; i-- {
		el := w.signed[i]
		if el.Tag == "Response" && el.NamespaceURI() == nsProtocol {
			el = childNS(el, nsAssertion, "Assertion")
		}
		if el == nil || el.Tag != "Assertion" || el.NamespaceURI() != nsAssertion {
			continue
		}
		if id := childNS(childNS(el, nsAssertion, "Subject"), nsAssertion, "NameID"); id != nil {
			return strings.TrimSpace(id.Text())
		}
	}
	return ""
}

// childNS is el's first child {ns}local, nil when there is none or el is nil.
func childNS(el *etree.Element, ns, local string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

// nameIDOf is the subject of a verified assertion, as identity reads it.
func nameIDOf(a *saml.Assertion) string {
	if a.Subject == nil || a.Subject.NameID == nil {
		return ""
	}
	return strings.TrimSpace(a.Subject.NameID.Value)
}
