package saml

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/beevik/etree"
)

// Namespaces the broker reads elements by. An element is what its namespace
// URI and local name say, whatever prefix (or default namespace) spells it.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXML       = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS     = "http://www.w3.org/2000/xmlns/"
)

// tree is a received document parsed once, every prefix resolved, with the
// elements the broker's checks need collected in document order. Building
// it refuses what is not namespace-well-formed XML; what is legal but not
// something the broker reads (comments or processing instructions inside
// the document, an encoding other than UTF-8) is noted in unsupported, for
// the caller to refuse.
type tree struct {
	root *etree.Element
	ns   map[*etree.Element]string // namespace URI of every element

	// Every element whose local name is Assertion or EncryptedAssertion,
	// and every element whose local name is Signature, in any namespace:
	// a look-alike in another namespace is counted, not ignored.
	assertions []*etree.Element
	signatures []*etree.Element

	// ids counts the values of ID-like attributes (local name ID, Id or id,
	// in any namespace, xml:id included): what an XML signature Reference
	// could resolve to.
	ids map[string]int

	unsupported error
}

// errMalformed is a document that is not namespace-well-formed XML.
type errMalformed struct{ err error }

func (e *errMalformed) Error() string { return e.err.Error() }
func (e *errMalformed) Unwrap() error { return e.err }

func malformed(format string, args ...any) error {
	return &errMalformed{fmt.Errorf(format, args...)}
}

// scan parses raw into a tree. Errors are *errMalformed.
func scan(raw []byte) (*tree, error) {
	doc := etree.NewDocument()
	// Keep a repeated attribute so that it can be refused: a parser that
	// kept the other copy would read another document.
	doc.ReadSettings.PreserveDuplicateAttrs = true
	// A UTF-8 byte order mark is legal and read as nothing.
	if err := doc.ReadFromBytes(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))); err != nil {
		return nil, &errMalformed{fmt.Errorf("not well-formed XML: %w", err)}
	}
	t := &tree{ids: map[string]int{}}
	if err := t.prolog(doc); err != nil {
		return nil, err
	}
	t.ns = make(map[*etree.Element]string, countElements(t.root))
	return t, t.walk(t.root, map[string]string{"xml": nsXML, "": ""})
}

// treeOf is the tree of an element that declares every namespace it uses,
// such as one crewjam detached or decrypted. Errors are *errMalformed.
func treeOf(el *etree.Element) (*tree, error) {
	t := &tree{root: el, ns: make(map[*etree.Element]string, countElements(el)), ids: map[string]int{}}
	return t, t.walk(el, map[string]string{"xml": nsXML, "": ""})
}

// countElements is the number of elements in el's subtree, el included:
// the size of a tree's namespace map, made once at its final size rather
// than grown (which allocates about as much again).
func countElements(el *etree.Element) int {
	n := 1
	for _, tok := range el.Child {
		if c, ok := tok.(*etree.Element); ok {
			n += countElements(c)
		}
	}
	return n
}

var encodingDecl = regexp.MustCompile(`\bencoding\s*=\s*["']([^"']*)["']`)

// prolog checks what surrounds the root element: one root, an optional
// XML declaration first, comments and whitespace.
func (t *tree) prolog(doc *etree.Document) error {
	for i, tok := range doc.Child {
		switch c := tok.(type) {
		case *etree.Element:
			if t.root != nil {
				return malformed("more than one root element")
			}
			t.root = c
		case *etree.ProcInst:
			if c.Target != "xml" || i != 0 {
				t.note("processing instruction <?%s?>", c.Target)
				continue
			}
			// The broker reads bytes as UTF-8; another parser honouring a
			// declared encoding would read other characters.
			if m := encodingDecl.FindStringSubmatch(c.Inst); m != nil && !strings.EqualFold(m[1], "UTF-8") {
				t.note("declared encoding %q (only UTF-8 is read)", m[1])
			}
		case *etree.Directive:
			return malformed("markup declaration <!%s>", clip(c.Data))
		case *etree.CharData:
			if !c.IsWhitespace() {
				return malformed("text outside the root element")
			}
		}
	}
	if t.root == nil {
		return malformed("no root element")
	}
	return nil
}

// note records the first legal construct the broker does not read.
func (t *tree) note(format string, args ...any) {
	if t.unsupported == nil {
		t.unsupported = fmt.Errorf(format, args...)
	}
}

// walk resolves the namespaces of el and its descendants (scope maps the
// prefixes in force to URIs) and collects what the checks need.
func (t *tree) walk(el *etree.Element, scope map[string]string) error {
	scope, err := declare(el, scope)
	if err != nil {
		return err
	}
	uri, ok := scope[el.Space]
	if !ok {
		return malformed("element <%s:%s> uses an undeclared prefix", el.Space, el.Tag)
	}
	t.ns[el] = uri
	if err := t.attributes(el, scope); err != nil {
		return err
	}
	switch el.Tag {
	case "Assertion", "EncryptedAssertion":
		t.assertions = append(t.assertions, el)
	case "Signature":
		t.signatures = append(t.signatures, el)
	}
	for _, tok := range el.Child {
		switch c := tok.(type) {
		case *etree.Element:
			if err := t.walk(c, scope); err != nil {
				return err
			}
		case *etree.Comment:
			// Canonicalization drops comments, so one can split a signed
			// text node without breaking the signature (CVE-2017-11427).
			t.note("comment inside <%s>", el.Tag)
		case *etree.ProcInst:
			t.note("processing instruction <?%s?> inside <%s>", c.Target, el.Tag)
		case *etree.Directive:
			return malformed("markup declaration inside <%s>", el.Tag)
		}
	}
	return nil
}

// declare returns the scope of el: its parent's with el's namespace
// declarations applied (a copy when el declares any).
func declare(el *etree.Element, scope map[string]string) (map[string]string, error) {
	copied := false
	for _, a := range el.Attr {
		if !isDecl(a) {
			continue
		}
		prefix := declPrefix(a)
		if !legalDeclaration(prefix, a.Value) {
			return nil, malformed("<%s> declares prefix %q as %q, which Namespaces in XML forbids", el.Tag, prefix, a.Value)
		}
		if !copied {
			next := make(map[string]string, len(scope)+2)
			for k, v := range scope {
				next[k] = v
			}
			scope, copied = next, true
		}
		scope[prefix] = a.Value
	}
	return scope, nil
}

// isDecl reports whether a is a namespace declaration (xmlns:p or xmlns).
func isDecl(a etree.Attr) bool {
	return a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
}

// declPrefix is the prefix a declaration binds ("" for the default).
func declPrefix(a etree.Attr) string {
	if a.Space == "xmlns" {
		return a.Key
	}
	return ""
}

// legalDeclaration applies Namespaces in XML 1.0: xml is bound to its URI
// and nothing else is, xmlns is never declared nor its URI bound, and a
// prefix cannot be undeclared.
func legalDeclaration(prefix, uri string) bool {
	switch {
	case prefix == "xmlns", uri == nsXMLNS:
		return false
	case prefix == "xml" || uri == nsXML:
		return prefix == "xml" && uri == nsXML
	}
	return prefix == "" || uri != ""
}

// attributes refuses undeclared prefixes and repeated attributes (by
// namespace URI and local name) and counts ID-like values.
func (t *tree) attributes(el *etree.Element, scope map[string]string) error {
	seen := make(map[[2]string]bool, len(el.Attr))
	for _, a := range el.Attr {
		if isIDName(a.Key) {
			t.ids[a.Value]++
		}
		if isDecl(a) {
			k := [2]string{"xmlns", a.Space + ":" + a.Key}
			if seen[k] {
				return malformed("namespace declared twice on <%s>", el.Tag)
			}
			seen[k] = true
			continue
		}
		uri := ""
		if a.Space != "" {
			var ok bool
			if uri, ok = scope[a.Space]; !ok {
				return malformed("attribute %s:%s on <%s> uses an undeclared prefix", a.Space, a.Key, el.Tag)
			}
		}
		k := [2]string{uri, a.Key}
		if seen[k] {
			return malformed("attribute %s repeated on <%s>", a.Key, el.Tag)
		}
		seen[k] = true
	}
	return nil
}

func isIDName(local string) bool { return local == "ID" || local == "Id" || local == "id" }

// is reports whether el is the element {ns}local.
func (t *tree) is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && t.ns[el] == ns
}

// children returns el's child elements {ns}local.
func (t *tree) children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if t.is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// child returns el's only child {ns}local, nil when there is none, and an
// error when there are several.
func (t *tree) child(el *etree.Element, ns, local string) (*etree.Element, error) {
	cs := t.children(el, ns, local)
	if len(cs) > 1 {
		return nil, malformed("%d <%s> elements in <%s>", len(cs), local, el.Tag)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return cs[0], nil
}

// attr returns the value of el's attribute key without a prefix: a prefixed
// attribute (or namespace declaration) of the same local name is not it.
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// describe names el and where it sits, for the log.
func describe(el *etree.Element) string {
	where := "the document"
	if p := el.Parent(); p != nil {
		where = "<" + p.Tag + ">"
	}
	return fmt.Sprintf("<%s> inside %s", el.FullTag(), where)
}

var errNotResponse = errors.New("the document is not a SAML 2.0 Response")
