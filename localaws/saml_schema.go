package localaws

import (
	"strings"

	"github.com/beevik/etree"
)

const nsXSI = "http://www.w3.org/2001/XMLSchema-instance"

// checkTypeQNames refuses a Response whose xsi:type values name a
// namespace prefix that is not declared in scope: such a document is not
// schema-valid SAML 2.0 (a QName's prefix must resolve), and a strict
// parser refuses it before looking at the signature. This is the mistake
// exclusive canonicalization invites: xmlns:xs declared on an element but
// used only inside xsi:type="xs:string" is not "visibly utilized", so it is
// dropped from what was signed.
//
// The whole received document is checked, signed or not, as a schema
// validator would.
func checkTypeQNames(root *etree.Element) *stsError {
	var bad *stsError
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		for _, a := range el.Attr {
			if bad != nil {
				return
			}
			if a.Key != "type" || a.Space == "" || a.NamespaceURI() != nsXSI {
				continue
			}
			prefix, _, ok := strings.Cut(strings.TrimSpace(a.Value), ":")
			if ok && !prefixInScope(el, prefix) {
				bad = errInvalidToken("schema_invalid", nil,
					"Invalid SAML response: it is not valid against the SAML 2.0 schema: the xsi:type %q on %s uses the namespace prefix %q, which is not declared in scope.",
					clip(a.Value), el.Tag, clip(prefix))
			}
		}
		for _, c := range el.ChildElements() {
			if bad != nil {
				return
			}
			walk(c)
		}
	}
	walk(root)
	return bad
}

// prefixInScope reports whether prefix is declared (xmlns:prefix) on el or
// an ancestor; "xml" is always bound.
func prefixInScope(el *etree.Element, prefix string) bool {
	if prefix == "xml" {
		return true
	}
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value != ""
			}
		}
	}
	return false
}
