package saml

import (
	"errors"
	"fmt"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// facts is what the broker checks itself in an assertion. It is read twice:
// from the plaintext assertion of the inspected tree before crewjam runs,
// so that a refusal names its precise reason, and from the assertion
// crewjam verified, which is what decides.
type facts struct {
	issued                  time.Time // Assertion IssueInstant
	notBefore, notOnOrAfter time.Time // Conditions (zero: absent)
	confirmations           []confirmation
	authnStatements         int
}

type confirmation struct {
	method                  string
	data                    bool // has SubjectConfirmationData
	recipient, inResponseTo string
	notBefore, notOnOrAfter time.Time
}

// factsOfAssertion reads the verified assertion.
func factsOfAssertion(a *saml.Assertion) facts {
	f := facts{issued: a.IssueInstant, authnStatements: len(a.AuthnStatements)}
	if c := a.Conditions; c != nil {
		f.notBefore, f.notOnOrAfter = c.NotBefore, c.NotOnOrAfter
	}
	if a.Subject != nil {
		for _, sc := range a.Subject.SubjectConfirmations {
			c := confirmation{method: sc.Method}
			if d := sc.SubjectConfirmationData; d != nil {
				c.data, c.recipient, c.inResponseTo = true, d.Recipient, d.InResponseTo
				c.notBefore, c.notOnOrAfter = d.NotBefore, d.NotOnOrAfter
			}
			f.confirmations = append(f.confirmations, c)
		}
	}
	return f
}

// factsOf reads the plaintext assertion a of the inspected tree.
func (t *tree) factsOf(a *etree.Element) (facts, error) {
	var f facts
	var err error
	if f.issued, err = timeAttr(a, "IssueInstant"); err != nil {
		return f, err
	}
	cond, err := t.child(a, nsAssertion, "Conditions")
	if err != nil {
		return f, err
	}
	if cond != nil {
		if f.notBefore, err = timeAttr(cond, "NotBefore"); err != nil {
			return f, err
		}
		if f.notOnOrAfter, err = timeAttr(cond, "NotOnOrAfter"); err != nil {
			return f, err
		}
	}
	subject, err := t.child(a, nsAssertion, "Subject")
	if err != nil {
		return f, err
	}
	if subject != nil {
		for _, sc := range t.children(subject, nsAssertion, "SubjectConfirmation") {
			c, err := t.confirmationOf(sc)
			if err != nil {
				return f, err
			}
			f.confirmations = append(f.confirmations, c)
		}
	}
	f.authnStatements = len(t.children(a, nsAssertion, "AuthnStatement"))
	return f, nil
}

func (t *tree) confirmationOf(sc *etree.Element) (confirmation, error) {
	c := confirmation{}
	c.method, _ = attr(sc, "Method")
	d, err := t.child(sc, nsAssertion, "SubjectConfirmationData")
	if err != nil || d == nil {
		return c, err
	}
	c.data = true
	c.recipient, _ = attr(d, "Recipient")
	c.inResponseTo, _ = attr(d, "InResponseTo")
	if c.notBefore, err = timeAttr(d, "NotBefore"); err != nil {
		return c, err
	}
	c.notOnOrAfter, err = timeAttr(d, "NotOnOrAfter")
	return c, err
}

// timeAttr parses a time attribute the way crewjam does (zero: absent).
func timeAttr(el *etree.Element, key string) (time.Time, error) {
	v, ok := attr(el, key)
	if !ok {
		return time.Time{}, nil
	}
	var rt saml.RelaxedTime
	if err := rt.UnmarshalText([]byte(v)); err != nil {
		return time.Time{}, malformed("<%s %s=%q> is not a time", el.Tag, key, clip(v))
	}
	return time.Time(rt), nil
}

// checkFacts is what the broker requires of an assertion besides crewjam:
// exactly one SubjectConfirmation (bearer, with data, an allowed Recipient
// and a NotOnOrAfter), its times within the configured clock skew, and an
// AuthnStatement. responseIssued is the Response's IssueInstant.
func (sp *ServiceProvider) checkFacts(f facts, responseIssued, now time.Time) error {
	if len(f.confirmations) != 1 {
		return sp.fail(broker.EUNAUTHORIZED, "no_bearer_confirmation", fmt.Errorf("want exactly one SubjectConfirmation, got %d", len(f.confirmations)))
	}
	c := f.confirmations[0]
	if c.method != bearerMethod || !c.data {
		return sp.fail(broker.EUNAUTHORIZED, "no_bearer_confirmation", fmt.Errorf("SubjectConfirmation method %q without data", c.method))
	}
	if !sp.recips[c.recipient] {
		return sp.fail(broker.EUNAUTHORIZED, "recipient_mismatch", fmt.Errorf("Recipient %q is not allowed", c.recipient))
	}
	if c.notOnOrAfter.IsZero() {
		return sp.fail(broker.EUNAUTHORIZED, "no_bearer_confirmation", errors.New("SubjectConfirmationData has no NotOnOrAfter"))
	}
	if err := sp.checkTimes(f, c, now); err != nil {
		return err
	}
	if err := sp.checkIssued("Assertion", f.issued, now); err != nil {
		return err
	}
	if err := sp.checkIssued("Response", responseIssued, now); err != nil {
		return err
	}
	if f.authnStatements == 0 {
		return sp.fail(broker.EUNAUTHORIZED, "no_authn_statement", errors.New("the assertion has no AuthnStatement"))
	}
	return nil
}

// checkTimes applies the configured skew to the validity window: expired
// first (the usual case of a response used late), then not yet valid.
func (sp *ServiceProvider) checkTimes(f facts, c confirmation, now time.Time) error {
	skew := sp.cfg.ClockSkew
	var age time.Duration // how long ago it was issued (0: unknown)
	if !f.issued.IsZero() {
		age = now.Sub(f.issued)
	}
	if !now.Before(c.notOnOrAfter.Add(skew)) {
		return sp.late("assertion_expired", fmt.Errorf("SubjectConfirmationData expired at %s", c.notOnOrAfter), age)
	}
	if !f.notOnOrAfter.IsZero() && !now.Before(f.notOnOrAfter.Add(skew)) {
		return sp.late("assertion_expired", fmt.Errorf("Conditions expired at %s", f.notOnOrAfter), age)
	}
	for _, nb := range []time.Time{f.notBefore, c.notBefore} {
		if !nb.IsZero() && now.Add(skew).Before(nb) {
			return sp.early("not_yet_valid", fmt.Errorf("valid from %s, now %s, clock skew %s", nb, now, skew), max(nb.Sub(now), -age))
		}
	}
	return nil
}

// checkIssued holds an IssueInstant to the configured skew both ways: a
// Response or Assertion issued more than ClockSkew ago is too old (the
// skew covers the IdP's clock and the time in transit), one issued more
// than ClockSkew ahead of our clock means the clocks disagree.
func (sp *ServiceProvider) checkIssued(what string, issued, now time.Time) error {
	skew := sp.cfg.ClockSkew
	switch {
	case issued.IsZero():
		return sp.fail(broker.EINVALID, "malformed_response", fmt.Errorf("the %s has no IssueInstant", what))
	case issued.Before(now.Add(-skew)):
		return sp.late("response_too_old", fmt.Errorf("%s issued at %s, more than the clock skew %s before %s", what, issued, skew, now), now.Sub(issued))
	case issued.After(now.Add(skew)):
		return sp.early("clock_skew", fmt.Errorf("%s issued at %s, more than the clock skew %s after %s", what, issued, skew, now), issued.Sub(now))
	}
	return nil
}

// libraryNow is the instant crewjam checks message times at. crewjam
// refuses a Response or Assertion issued more than saml.MaxIssueDelay (90 s)
// before its clock, whatever the broker's clock_skew says. When the skew
// allows more and an IssueInstant the broker can see is older than that,
// crewjam's clock is set back by the difference, so that its issue-age
// window ends where checkIssued's does. Every other crewjam time check is
// at least as loose as the broker's (crewjam's MaxClockSkew is 180 s, our
// largest skew), and the broker checks every time itself at now.
// Certificate validity is judged at now regardless (verifier).
func libraryNow(now time.Time, skew time.Duration, issued ...time.Time) time.Time {
	extra := skew - saml.MaxIssueDelay
	if extra <= 0 {
		return now
	}
	for _, t := range issued {
		if !t.IsZero() && t.Before(now.Add(-saml.MaxIssueDelay)) {
			return now.Add(-extra)
		}
	}
	return now
}
