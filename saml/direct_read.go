package saml

import (
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
)

// What parseDirect reads of a verified Response and Assertion. A reader
// returns ok false for any shape it does not read exactly as crewjam's
// struct decoding would: an element it does not know (in any namespace), a
// repeated one where crewjam keeps one, a child element where crewjam reads
// text, a time it cannot parse. Such a document goes to crewjam.

// directResponse is what crewjam reads of a Response.
type directResponse struct {
	version, destination, inResponseTo string
	issued                             time.Time
	hasIssuer                          bool
	issuer, status                     string
	assertion                          *etree.Element
}

// shape sorts el's child elements by local name, each required to be in
// ns (dsig for Signature), with at most max[name] of each (0: any number);
// ok false for any other child.
func shape(t *tree, el *etree.Element, ns string, max map[string]int) (map[string][]*etree.Element, bool) {
	out := make(map[string][]*etree.Element, len(max))
	for _, tok := range el.Child {
		c, isEl := tok.(*etree.Element)
		if !isEl {
			continue
		}
		want := ns
		if c.Tag == "Signature" {
			want = nsDSig
		}
		n, known := max[c.Tag]
		if !known || t.ns[c] != want {
			return nil, false
		}
		out[c.Tag] = append(out[c.Tag], c)
		if n > 0 && len(out[c.Tag]) > n {
			return nil, false
		}
	}
	return out, true
}

// leaf reports whether el holds no child element: its text is all crewjam
// reads of it.
func leaf(el *etree.Element) bool {
	for _, tok := range el.Child {
		if _, ok := tok.(*etree.Element); ok {
			return false
		}
	}
	return true
}

func readResponse(t *tree, el *etree.Element) (directResponse, bool) {
	var r directResponse
	if !t.is(el, nsProtocol, "Response") {
		return r, false
	}
	// Issuer and Assertion are SAML assertion elements; the others protocol.
	kids := map[string][]*etree.Element{}
	for _, tok := range el.Child {
		c, isEl := tok.(*etree.Element)
		if !isEl {
			continue
		}
		ns := map[string]string{"Issuer": nsAssertion, "Signature": nsDSig, "Status": nsProtocol, "Assertion": nsAssertion}[c.Tag]
		if ns == "" || t.ns[c] != ns || len(kids[c.Tag]) > 0 {
			return r, false
		}
		kids[c.Tag] = append(kids[c.Tag], c)
	}
	if len(kids["Status"]) != 1 || len(kids["Assertion"]) != 1 {
		return r, false
	}
	var err error
	r.version, _ = attr(el, "Version")
	r.destination, _ = attr(el, "Destination")
	r.inResponseTo, _ = attr(el, "InResponseTo")
	if r.issued, err = timeAttr(el, "IssueInstant"); err != nil {
		return r, false
	}
	if is := kids["Issuer"]; len(is) == 1 {
		if !leaf(is[0]) {
			return r, false
		}
		r.hasIssuer, r.issuer = true, is[0].Text()
	}
	st, ok := shape(t, kids["Status"][0], nsProtocol, map[string]int{"StatusCode": 1, "StatusMessage": 1})
	if !ok || len(st["StatusCode"]) != 1 || !leaf(st["StatusCode"][0]) {
		return r, false
	}
	r.status, _ = attr(st["StatusCode"][0], "Value")
	r.assertion = kids["Assertion"][0]
	return r, true
}

// readAssertion reads a verified Assertion into crewjam's struct, the
// fields the broker and crewjam's checks use.
func readAssertion(t *tree, el *etree.Element) (*saml.Assertion, bool) {
	if !t.is(el, nsAssertion, "Assertion") {
		return nil, false
	}
	kids, ok := shape(t, el, nsAssertion, map[string]int{"Issuer": 1, "Signature": 1, "Subject": 1, "Conditions": 1, "AuthnStatement": 0, "AttributeStatement": 0})
	if !ok || len(kids["Subject"]) != 1 || len(kids["Conditions"]) != 1 || len(kids["Issuer"]) != 1 || !leaf(kids["Issuer"][0]) {
		return nil, false
	}
	a := &saml.Assertion{}
	a.ID, _ = attr(el, "ID")
	a.Version, _ = attr(el, "Version")
	var err error
	if a.IssueInstant, err = timeAttr(el, "IssueInstant"); err != nil {
		return nil, false
	}
	a.Issuer.Value = kids["Issuer"][0].Text()
	if a.Subject, ok = readSubject(t, kids["Subject"][0]); !ok {
		return nil, false
	}
	if a.Conditions, ok = readConditions(t, kids["Conditions"][0]); !ok {
		return nil, false
	}
	for _, s := range kids["AuthnStatement"] {
		st, ok := readAuthnStatement(t, s)
		if !ok {
			return nil, false
		}
		a.AuthnStatements = append(a.AuthnStatements, st)
	}
	for _, s := range kids["AttributeStatement"] {
		st, ok := readAttributeStatement(t, s)
		if !ok {
			return nil, false
		}
		a.AttributeStatements = append(a.AttributeStatements, st)
	}
	return a, true
}

func readSubject(t *tree, el *etree.Element) (*saml.Subject, bool) {
	kids, ok := shape(t, el, nsAssertion, map[string]int{"NameID": 1, "SubjectConfirmation": 0})
	if !ok || len(kids["NameID"]) != 1 || !leaf(kids["NameID"][0]) {
		return nil, false
	}
	n := kids["NameID"][0]
	s := &saml.Subject{NameID: &saml.NameID{Value: n.Text()}}
	s.NameID.Format, _ = attr(n, "Format")
	s.NameID.NameQualifier, _ = attr(n, "NameQualifier")
	s.NameID.SPNameQualifier, _ = attr(n, "SPNameQualifier")
	s.NameID.SPProvidedID, _ = attr(n, "SPProvidedID")
	for _, scEl := range kids["SubjectConfirmation"] {
		sck, ok := shape(t, scEl, nsAssertion, map[string]int{"SubjectConfirmationData": 1})
		if !ok {
			return nil, false
		}
		sc := saml.SubjectConfirmation{}
		sc.Method, _ = attr(scEl, "Method")
		if ds := sck["SubjectConfirmationData"]; len(ds) == 1 {
			d := ds[0]
			if !leaf(d) {
				return nil, false
			}
			scd := &saml.SubjectConfirmationData{}
			var err1, err2 error
			scd.NotBefore, err1 = timeAttr(d, "NotBefore")
			scd.NotOnOrAfter, err2 = timeAttr(d, "NotOnOrAfter")
			if err1 != nil || err2 != nil {
				return nil, false
			}
			scd.Recipient, _ = attr(d, "Recipient")
			scd.InResponseTo, _ = attr(d, "InResponseTo")
			scd.Address, _ = attr(d, "Address")
			sc.SubjectConfirmationData = scd
		}
		s.SubjectConfirmations = append(s.SubjectConfirmations, sc)
	}
	return s, true
}

func readConditions(t *tree, el *etree.Element) (*saml.Conditions, bool) {
	kids, ok := shape(t, el, nsAssertion, map[string]int{"AudienceRestriction": 0})
	if !ok {
		return nil, false
	}
	c := &saml.Conditions{}
	var err1, err2 error
	c.NotBefore, err1 = timeAttr(el, "NotBefore")
	c.NotOnOrAfter, err2 = timeAttr(el, "NotOnOrAfter")
	if err1 != nil || err2 != nil {
		return nil, false
	}
	for _, ar := range kids["AudienceRestriction"] {
		auds, ok := shape(t, ar, nsAssertion, map[string]int{"Audience": 0})
		if !ok {
			return nil, false
		}
		var r saml.AudienceRestriction
		for i, au := range auds["Audience"] {
			if !leaf(au) {
				return nil, false
			}
			if i == 0 {
				r.Audience.Value = au.Text()
			} else {
				r.AdditionalAudiences = append(r.AdditionalAudiences, saml.Audience{Value: au.Text()})
			}
		}
		c.AudienceRestrictions = append(c.AudienceRestrictions, r)
	}
	return c, true
}

func readAuthnStatement(t *tree, el *etree.Element) (saml.AuthnStatement, bool) {
	var s saml.AuthnStatement
	kids, ok := shape(t, el, nsAssertion, map[string]int{"SubjectLocality": 1, "AuthnContext": 1})
	if !ok || len(kids["AuthnContext"]) != 1 {
		return s, false
	}
	var err error
	if s.AuthnInstant, err = timeAttr(el, "AuthnInstant"); err != nil {
		return s, false
	}
	s.SessionIndex, _ = attr(el, "SessionIndex")
	if _, has := attr(el, "SessionNotOnOrAfter"); has {
		t, err := timeAttr(el, "SessionNotOnOrAfter")
		if err != nil {
			return s, false
		}
		s.SessionNotOnOrAfter = &t
	}
	if sl := kids["SubjectLocality"]; len(sl) == 1 {
		if !leaf(sl[0]) {
			return s, false
		}
		s.SubjectLocality = &saml.SubjectLocality{}
		s.SubjectLocality.Address, _ = attr(sl[0], "Address")
		s.SubjectLocality.DNSName, _ = attr(sl[0], "DNSName")
	}
	ctx, ok := shape(t, kids["AuthnContext"][0], nsAssertion, map[string]int{"AuthnContextClassRef": 1})
	if !ok {
		return s, false
	}
	if refs := ctx["AuthnContextClassRef"]; len(refs) == 1 {
		if !leaf(refs[0]) {
			return s, false
		}
		s.AuthnContext.AuthnContextClassRef = &saml.AuthnContextClassRef{Value: refs[0].Text()}
	}
	return s, true
}

func readAttributeStatement(t *tree, el *etree.Element) (saml.AttributeStatement, bool) {
	var s saml.AttributeStatement
	kids, ok := shape(t, el, nsAssertion, map[string]int{"Attribute": 0})
	if !ok {
		return s, false
	}
	for _, aEl := range kids["Attribute"] {
		vals, ok := shape(t, aEl, nsAssertion, map[string]int{"AttributeValue": 0})
		if !ok {
			return s, false
		}
		var at saml.Attribute
		at.Name, _ = attr(aEl, "Name")
		at.FriendlyName, _ = attr(aEl, "FriendlyName")
		at.NameFormat, _ = attr(aEl, "NameFormat")
		for _, v := range vals["AttributeValue"] {
			if !leaf(v) {
				return s, false
			}
			at.Values = append(at.Values, saml.AttributeValue{Value: v.Text()})
		}
		s.Attributes = append(s.Attributes, at)
	}
	return s, true
}
