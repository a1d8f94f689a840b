package localaws

import (
	"fmt"
	"time"

	"github.com/beevik/etree"
)

// SAML constants.
const (
	cmBearer            = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	nameIDUnspecified   = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	nameIDPersistent    = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	nameIDTransient     = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	maxAttributes       = 500
	maxValuesPerAttr    = 1000
	maxAttributeValueSz = 4096
)

// samlAssertion is what this package reads from a verified Assertion.
type samlAssertion struct {
	id           string
	issuer       string
	issueInstant time.Time

	nameID       string
	nameIDFormat string

	confirmations  int       // SubjectConfirmation elements
	bearer         bool      // the (single) one has Method bearer
	recipient      string    // its SubjectConfirmationData Recipient
	scNotBefore    time.Time // zero when absent
	scNotOnOrAfter time.Time // zero when absent

	hasConditions bool
	notBefore     time.Time // Conditions, zero when absent
	notOnOrAfter  time.Time
	audiences     [][]string // one list per AudienceRestriction

	authnStatements     int
	sessionNotOnOrAfter time.Time // earliest AuthnStatement SessionNotOnOrAfter, zero when absent

	attrs     map[string][]string // by Name, values in document order
	attrOrder []string
}

// attr returns el's attribute name without namespace prefix (a prefixed
// attribute such as xsi:ID is a different attribute).
func attr(el *etree.Element, name string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == name {
			return a.Value, true
		}
	}
	return "", false
}

// parseAssertion reads the fields of a verified Assertion element. Errors
// describe the structural problem; callers report them as
// InvalidIdentityToken.
func parseAssertion(el *etree.Element) (*samlAssertion, error) {
	if !isElem(el, nsSAML, "Assertion") {
		return nil, fmt.Errorf("the element is %s, not saml:Assertion", el.Tag)
	}
	a := &samlAssertion{attrs: map[string][]string{}}
	if v, _ := attr(el, "Version"); v != "2.0" {
		return nil, fmt.Errorf("the Assertion Version is %q, not 2.0", v)
	}
	var ok bool
	if a.id, ok = attr(el, "ID"); !ok || a.id == "" {
		return nil, fmt.Errorf("the Assertion has no ID")
	}
	var err error
	if a.issueInstant, err = timeAttr(el, "IssueInstant", true); err != nil {
		return nil, err
	}
	iss, err := oneChild(el, nsSAML, "Issuer")
	if err != nil || iss == nil {
		return nil, fmt.Errorf("the Assertion must have one Issuer")
	}
	if a.issuer, err = textOf(iss); err != nil {
		return nil, err
	}
	if err := a.readSubject(el); err != nil {
		return nil, err
	}
	if err := a.readConditions(el); err != nil {
		return nil, err
	}
	for _, as := range childElems(el, nsSAML, "AuthnStatement") {
		a.authnStatements++
		t, err := timeAttr(as, "SessionNotOnOrAfter", false)
		if err != nil {
			return nil, err
		}
		if !t.IsZero() && (a.sessionNotOnOrAfter.IsZero() || t.Before(a.sessionNotOnOrAfter)) {
			a.sessionNotOnOrAfter = t
		}
	}
	if err := a.readAttributes(el); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *samlAssertion) readSubject(el *etree.Element) error {
	subj, err := oneChild(el, nsSAML, "Subject")
	if err != nil || subj == nil {
		return fmt.Errorf("the Assertion must have one Subject")
	}
	if len(childElems(subj, nsSAML, "EncryptedID")) > 0 || len(childElems(subj, nsSAML, "BaseID")) > 0 {
		return fmt.Errorf("the Subject must use a plain NameID (EncryptedID and BaseID are not supported)")
	}
	nid, err := oneChild(subj, nsSAML, "NameID")
	if err != nil || nid == nil {
		return fmt.Errorf("the Subject must have one NameID")
	}
	if a.nameID, err = textOf(nid); err != nil || a.nameID == "" {
		return fmt.Errorf("the Subject NameID is empty")
	}
	a.nameIDFormat, _ = attr(nid, "Format")
	if a.nameIDFormat == "" {
		a.nameIDFormat = nameIDUnspecified
	}
	scs := childElems(subj, nsSAML, "SubjectConfirmation")
	a.confirmations = len(scs)
	if len(scs) != 1 {
		return nil // reported by the checks, with the count
	}
	sc := scs[0]
	m, _ := attr(sc, "Method")
	a.bearer = m == cmBearer
	scd, err := oneChild(sc, nsSAML, "SubjectConfirmationData")
	if err != nil || scd == nil {
		return nil // reported by the checks: no NotOnOrAfter/Recipient
	}
	a.recipient, _ = attr(scd, "Recipient")
	if a.scNotBefore, err = timeAttr(scd, "NotBefore", false); err != nil {
		return err
	}
	if a.scNotOnOrAfter, err = timeAttr(scd, "NotOnOrAfter", false); err != nil {
		return err
	}
	return nil
}

func (a *samlAssertion) readConditions(el *etree.Element) error {
	c, err := oneChild(el, nsSAML, "Conditions")
	if err != nil {
		return err
	}
	if c == nil {
		return nil
	}
	a.hasConditions = true
	if a.notBefore, err = timeAttr(c, "NotBefore", false); err != nil {
		return err
	}
	if a.notOnOrAfter, err = timeAttr(c, "NotOnOrAfter", false); err != nil {
		return err
	}
	for _, ar := range childElems(c, nsSAML, "AudienceRestriction") {
		var list []string
		for _, au := range childElems(ar, nsSAML, "Audience") {
			v, err := textOf(au)
			if err != nil {
				return err
			}
			list = append(list, v)
		}
		a.audiences = append(a.audiences, list)
	}
	return nil
}

func (a *samlAssertion) readAttributes(el *etree.Element) error {
	n := 0
	for _, st := range childElems(el, nsSAML, "AttributeStatement") {
		if len(childElems(st, nsSAML, "EncryptedAttribute")) > 0 {
			return fmt.Errorf("encrypted attributes are not supported")
		}
		for _, at := range childElems(st, nsSAML, "Attribute") {
			if n++; n > maxAttributes {
				return fmt.Errorf("the Assertion has more than %d attributes", maxAttributes)
			}
			name, _ := attr(at, "Name")
			if name == "" {
				return fmt.Errorf("an Attribute has no Name")
			}
			if _, seen := a.attrs[name]; !seen {
				a.attrOrder = append(a.attrOrder, name)
			}
			vals := childElems(at, nsSAML, "AttributeValue")
			if len(a.attrs[name])+len(vals) > maxValuesPerAttr {
				return fmt.Errorf("attribute %s has more than %d values", name, maxValuesPerAttr)
			}
			for _, v := range vals {
				s, err := textOf(v)
				if err != nil {
					continue // a structured value (e.g. a NameID) is not a string
				}
				if len(s) > maxAttributeValueSz {
					return fmt.Errorf("a value of attribute %s is longer than %d bytes", name, maxAttributeValueSz)
				}
				a.attrs[name] = append(a.attrs[name], s)
			}
			if a.attrs[name] == nil {
				a.attrs[name] = []string{}
			}
		}
	}
	return nil
}

// timeAttr parses an xs:dateTime attribute (RFC 3339; a missing zone is
// read as UTC, as SAML requires UTC).
func timeAttr(el *etree.Element, name string, required bool) (time.Time, error) {
	v, ok := attr(el, name)
	if !ok || v == "" {
		if required {
			return time.Time{}, fmt.Errorf("%s has no %s", el.Tag, name)
		}
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %s %q is not an xs:dateTime", el.Tag, name, v)
}
