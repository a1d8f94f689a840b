package saml

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

// ACSInput is what the ACS endpoint received.
type ACSInput struct {
	SAMLResponse string   // the form value, base64
	RequestIDs   []string // AuthnRequest IDs this browser started for this provider, still pending
	CurrentURL   string   // the URL the response was POSTed to
}

// Result is a verified response.
type Result struct {
	Identity     broker.Identity
	ResponseXML  []byte // the decoded Response exactly as received
	AssertionID  string
	InResponseTo string    // "" for IdP-initiated
	NotOnOrAfter time.Time // SubjectConfirmationData NotOnOrAfter
}

const bearerMethod = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

// ParseResponse verifies a SAML Response and returns the identity it
// carries. Every failure is a *broker.Error: EINVALID (malformed input),
// EUNAUTHORIZED (did not verify), EEXPIRED (times), EREPLAY (already used),
// EFORBIDDEN (the IdP refused the sign-in), EUNAVAILABLE (no metadata),
// each with a stable Reason and a Message safe to show.
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
	tmpl := st.sp
	// crewjam checks the SubjectConfirmationData Recipient against AcsURL:
	// give it the allowed Recipient the assertion names (checked again on
	// the verified assertion).
	tmpl.AcsURL = doc.acs
	tmpl.Clock = dsig.NewFakeClockAt(libraryNow(now, sp.cfg.ClockSkew, doc.issued...))
	assertion, err := tmpl.ParseXMLResponse(raw, in.RequestIDs, *current)
	if err != nil {
		return nil, sp.classify(err, doc, current)
	}
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
	// Only now, with everything verified, burn the ID.
	if err := sp.cfg.Replay.Remember(ctx, "saml:"+sp.cfg.ID, assertion.ID, expires.Add(sp.cfg.ClockSkew)); err != nil {
		if broker.ErrorCode(err) == broker.EREPLAY {
			return nil, sp.fail(broker.EREPLAY, "replay", fmt.Errorf("assertion %s already used", assertion.ID))
		}
		return nil, err
	}
	return &Result{Identity: *id, ResponseXML: raw, AssertionID: assertion.ID, InResponseTo: scd.InResponseTo, NotOnOrAfter: scd.NotOnOrAfter}, nil
}

// checked is a Response that passed precheck.
type checked struct {
	*response
	facts          *facts // of the plaintext assertion; nil when encrypted
	responseIssued time.Time
	issued         []time.Time // the IssueInstants the broker can see
	acs            url.URL     // the allowed Recipient crewjam must find
}

// precheck reads the document as a tree and refuses, before crewjam or
// anything else trusts it, what the broker would refuse anyway: a
// structure it does not fully understand (inspect), then, in crewjam's
// order, a Destination that is not where it was posted and, on the
// plaintext assertion, what checkFacts will require of the verified one,
// so that the refusal names its precise reason; last, before anything is
// decrypted, the encryption policy (checkEncryption).
func (sp *ServiceProvider) precheck(raw []byte, current *url.URL, now time.Time) (*checked, error) {
	t, err := scan(raw)
	if err != nil {
		return nil, sp.fail(broker.EINVALID, "malformed_response", err)
	}
	r, err := sp.inspect(t)
	if err != nil {
		return nil, sp.refused(err)
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
		return nil, sp.fail(broker.EUNAUTHORIZED, "destination_mismatch", fmt.Errorf("Destination %q is neither %q nor %q", dest, current, &doc.acs))
	}
	if doc.facts != nil {
		if err := sp.checkFacts(*doc.facts, doc.responseIssued, now); err != nil {
			return nil, err
		}
	}
	if err := r.requireSignature(); err != nil {
		return nil, sp.refused(err)
	}
	if err := sp.checkEncryption(r); err != nil { // encryption.go
		return nil, err
	}
	return doc, nil
}

// refused turns an inspect error into the broker error.
func (sp *ServiceProvider) refused(err error) error {
	var st *statusError
	if errors.As(err, &st) {
		return sp.badStatus(st.status, err)
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
