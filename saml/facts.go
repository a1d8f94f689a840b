package saml

import (
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
)

// facts is what the broker reads of the plaintext assertion in the
// inspected tree before crewjam runs. Nothing in it is trusted: it only
// steers crewjam (which Recipient to expect), and every value is checked
// again on the assertion crewjam verified.
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
