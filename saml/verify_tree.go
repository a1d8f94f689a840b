package saml

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Verifying a signature on the received tree (issue 15). goxmldsig's one
// entry point for an enveloped signature, ValidationContext.Validate,
// copies the element it is given (three times over), canonicalises the
// copy by rewriting it, and parses the canonical bytes once more to return
// the element the digest covers: about 70% of the direct path's time.
//
// verifyInTree makes the same decision for the shape every IdP the broker
// knows signs with, on the tree precheck built, without copying it or
// parsing anything again: one Signature, child of the signed element and
// the first one goxmldsig's search would meet, one Reference to the
// element's ID, the transforms enveloped-signature then exclusive c14n
// (without comments), exclusive c14n for SignedInfo, the signing
// certificate in KeyInfo, algorithms goxmldsig knows. It writes the
// canonical form the way goxmldsig does (etreeutils' exclusive c14n, then
// etree's canonical serialisation, quirks included: TestTreeC14nMatchesGoxmldsig
// compares the two byte for byte) straight from the tree, leaving the
// enveloped Signature out instead of removing it from a copy.
//
// It only ever accepts. Anything else, an invalid signature included,
// returns false, and the caller has goxmldsig decide as before (so that a
// refusal's reason and log line are unchanged): a forged or broken
// signature costs both checks, a valid one only this one.
//
// What the caller then reads is the received element itself rather than
// goxmldsig's re-parse of the digested bytes. The two hold the same
// elements, attributes and text: precheck refuses comments, processing
// instructions and markup declarations anywhere in the document, and
// verifyInTree leaves CDATA sections (which goxmldsig's serialisation keeps
// as CDATA) to goxmldsig. The enveloped Signature is still there, where the
// readers skip it.

// treeSig is what verifyInTree needs of the verifier hook and the IdP.
type treeSig struct {
	certs    []*x509.Certificate
	sig, dig map[string]bool // allowed SignatureMethod and DigestMethod URIs
	now      time.Time       // when the certificate must be valid
}

// Algorithms verifyInTree reads, as goxmldsig maps them.
var (
	treeDigests = map[string]crypto.Hash{
		"http://www.w3.org/2000/09/xmldsig#sha1":        crypto.SHA1,
		"http://www.w3.org/2001/04/xmlenc#sha256":       crypto.SHA256,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": crypto.SHA384,
		"http://www.w3.org/2001/04/xmlenc#sha512":       crypto.SHA512,
	}
	treeSignatures = map[string]x509.SignatureAlgorithm{
		dsig.RSASHA1SignatureMethod:     x509.SHA1WithRSA,
		dsig.RSASHA256SignatureMethod:   x509.SHA256WithRSA,
		dsig.RSASHA384SignatureMethod:   x509.SHA384WithRSA,
		dsig.RSASHA512SignatureMethod:   x509.SHA512WithRSA,
		dsig.ECDSASHA1SignatureMethod:   x509.ECDSAWithSHA1,
		dsig.ECDSASHA256SignatureMethod: x509.ECDSAWithSHA256,
		dsig.ECDSASHA384SignatureMethod: x509.ECDSAWithSHA384,
		dsig.ECDSASHA512SignatureMethod: x509.ECDSAWithSHA512,
	}
)

const nsExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#"

// sigParts is a Signature of the one shape verifyInTree reads.
type sigParts struct {
	sig, signedInfo   *etree.Element
	sigMethod, digAlg string
	digest, value     string // base64, as received
	cert              string // base64, as received
	prefixList        []string
}

// verifyInTree reports whether el, an element of t whose Signature
// precheck has checked (checkSignatures), carries a signature goxmldsig
// would accept with ts: see above.
func verifyInTree(t *tree, el *etree.Element, ts treeSig) bool {
	p, ok := t.sigParts(el)
	if !ok || !ts.sig[p.sigMethod] || !ts.dig[p.digAlg] {
		return false
	}
	algo, ok := treeSignatures[p.sigMethod]
	hash, ok2 := treeDigests[p.digAlg]
	if !ok || !ok2 || !hash.Available() {
		return false
	}
	// The certificate: the one in KeyInfo, one the metadata names, valid
	// now (goxmldsig's verifyCertificate).
	der, err := base64.StdEncoding.DecodeString(whitespace.ReplaceAllString(p.cert, ""))
	if err != nil {
		return false
	}
	var cert *x509.Certificate
	for _, c := range ts.certs {
		if bytes.Equal(c.Raw, der) {
			cert = c
		}
	}
	if cert == nil || ts.now.Before(cert.NotBefore) || ts.now.After(cert.NotAfter) {
		return false
	}
	c := c14nPool.Get().(*treeC14n)
	defer c14nPool.Put(c)
	// SignedInfo, canonicalised where it stands, signed by that key.
	signedInfo, ok := c.canonical(p.signedInfo, inScope(p.signedInfo), nil, nil)
	if !ok {
		return false
	}
	value, err := base64.StdEncoding.DecodeString(p.value)
	if err != nil || cert.CheckSignature(algo, signedInfo, value) != nil {
		return false
	}
	// The digest of el without its Signature.
	var decls []etree.Attr
	if !documentRoot(el) {
		// goxmldsig is handed el detached (etreeutils.NSDetatch), every
		// declaration in scope copied onto it: what counts as declared on
		// el for the InclusiveNamespaces PrefixList.
		decls = inScope(el)
	}
	referenced, ok := c.canonical(el, decls, p.prefixList, p.sig)
	if !ok {
		return false
	}
	want, err := base64.StdEncoding.DecodeString(p.digest)
	if err != nil || len(want) < 20 {
		return false
	}
	h := hash.New()
	h.Write(referenced)
	return bytes.Equal(h.Sum(nil), want)
}

// whitespace is what goxmldsig strips from a certificate's base64 before
// decoding it. Not strings.Fields, as elsewhere in the package: that also
// strips Unicode spaces, so this path would accept a certificate goxmldsig
// refuses.
var whitespace = regexp.MustCompile(`\s+`)

// sigParts reads el's Signature when it has exactly the shape verifyInTree
// handles, and is the first Signature goxmldsig's depth-first search from
// el would meet.
func (t *tree) sigParts(el *etree.Element) (sigParts, bool) {
	var p sigParts
	id, ok := attr(el, "ID")
	if !ok || id == "" {
		return p, false
	}
	// goxmldsig's search visits el, then each child's subtree in turn,
	// within a budget of 1,000 elements (shared with the Signature's own
	// walk): the Signature must come first, early.
	visited := 1
	for _, tok := range el.Child {
		c, isEl := tok.(*etree.Element)
		if !isEl {
			continue
		}
		if t.is(c, nsDSig, "Signature") {
			p.sig = c
			break
		}
		if visited += countElements(c); visited > 900 || t.holdsSignature(c) {
			return p, false
		}
	}
	if p.sig == nil {
		return p, false
	}
	kids, ok := t.exactly(p.sig, "SignedInfo", "SignatureValue", "KeyInfo")
	if !ok {
		return p, false
	}
	p.signedInfo = kids[0]
	p.value = kids[1].Text()
	if !leaf(kids[1]) || !textOnly(kids[1]) {
		return p, false
	}
	// KeyInfo: one X509Data holding one X509Certificate, besides what
	// goxmldsig does not read (Keycloak adds a KeyName, Google an
	// X509SubjectName).
	x509Data, ok := t.only(kids[2], "X509Data", "KeyName", "KeyValue")
	if !ok {
		return p, false
	}
	certEl, ok := t.only(x509Data, "X509Certificate", "X509SubjectName", "X509IssuerSerial", "X509SKI")
	if !ok || !leaf(certEl) || !textOnly(certEl) {
		return p, false
	}
	p.cert = certEl.Text()
	si, ok := t.exactly(p.signedInfo, "CanonicalizationMethod", "SignatureMethod", "Reference")
	if !ok || algorithm(si[0], 0) != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
		return p, false
	}
	if p.sigMethod = algorithm(si[1], 0); p.sigMethod == "" {
		return p, false
	}
	ref := si[2]
	if uri, ok := soleAttr(ref, "URI"); !ok || uri != "#"+id {
		return p, false
	}
	rk, ok := t.exactly(ref, "Transforms", "DigestMethod", "DigestValue")
	if !ok || !leaf(rk[2]) || !textOnly(rk[2]) {
		return p, false
	}
	if p.digAlg = algorithm(rk[1], 0); p.digAlg == "" {
		return p, false
	}
	p.digest = rk[2].Text()
	tr, ok := t.exactly(rk[0], "Transform", "Transform")
	if !ok || algorithm(tr[0], 0) != string(dsig.EnvelopedSignatureAltorithmId) ||
		algorithm(tr[1], 1) != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
		return p, false
	}
	if incl := tr[1].ChildElements(); len(incl) == 1 {
		in := incl[0]
		list, ok := soleAttr(in, "PrefixList")
		if !t.is(in, nsExcC14n, "InclusiveNamespaces") || len(in.Child) != 0 || !ok {
			return p, false
		}
		p.prefixList = strings.Fields(list)
		if slices.Contains(p.prefixList, "#default") {
			return p, false
		}
	}
	return p, true
}

// exactly returns el's child elements when they are, in order, the XML
// Signature elements named (nothing else in el but whitespace).
func (t *tree) exactly(el *etree.Element, names ...string) ([]*etree.Element, bool) {
	out := make([]*etree.Element, 0, len(names))
	for _, tok := range el.Child {
		switch c := tok.(type) {
		case *etree.Element:
			if len(out) == len(names) || !t.is(c, nsDSig, names[len(out)]) {
				return nil, false
			}
			out = append(out, c)
		default:
			if !blank(tok) {
				return nil, false
			}
		}
	}
	return out, len(out) == len(names)
}

// only returns el's one XML Signature child element named one, when its
// other child elements are XML Signature elements named in others (each
// at most once) and nothing else but whitespace is in el.
func (t *tree) only(el *etree.Element, one string, others ...string) (*etree.Element, bool) {
	var found *etree.Element
	var seen []string
	for _, tok := range el.Child {
		switch c := tok.(type) {
		case *etree.Element:
			switch {
			case t.is(c, nsDSig, one) && found == nil:
				found = c
			case t.ns[c] == nsDSig && slices.Contains(others, c.Tag) && !slices.Contains(seen, c.Tag):
				seen = append(seen, c.Tag)
			default:
				return nil, false
			}
		default:
			if !blank(tok) {
				return nil, false
			}
		}
	}
	return found, found != nil
}

// soleAttr is el's attribute key (without a prefix) when it is el's only
// attribute besides namespace declarations.
func soleAttr(el *etree.Element, key string) (string, bool) {
	value, found := "", false
	for _, a := range el.Attr {
		switch {
		case isDecl(a):
		case a.Space == "" && a.Key == key && !found:
			value, found = a.Value, true
		default:
			return "", false
		}
	}
	return value, found
}

// algorithm is el's one Algorithm attribute, "" unless el has nothing else
// (but namespace declarations, and up to children child elements, left to
// the caller).
func algorithm(el *etree.Element, children int) string {
	alg, ok := soleAttr(el, "Algorithm")
	if !ok {
		return ""
	}
	n := 0
	for _, tok := range el.Child {
		if _, isEl := tok.(*etree.Element); isEl {
			n++
		} else if !blank(tok) {
			return ""
		}
	}
	if n > children {
		return ""
	}
	return alg
}

// blank reports whether tok is whitespace outside a CDATA section, the
// only thing besides elements that the Signature's structure may hold.
func blank(tok etree.Token) bool {
	c, ok := tok.(*etree.CharData)
	return ok && c.IsWhitespace() && !c.IsCData()
}

// textOnly reports whether el's content is plain text (no CDATA section).
func textOnly(el *etree.Element) bool {
	for _, tok := range el.Child {
		if c, ok := tok.(*etree.CharData); !ok || c.IsCData() {
			return false
		}
	}
	return true
}

// holdsSignature reports whether el is or contains an element named
// Signature in any namespace (what goxmldsig's search would look at).
func (t *tree) holdsSignature(el *etree.Element) bool {
	for _, s := range t.signatures {
		for p := s; p != nil; p = p.Parent() {
			if p == el {
				return true
			}
		}
	}
	return false
}

// inScope is every namespace declaration in force on el (its own and its
// ancestors', the nearest winning), as etreeutils.NSDetatch copies them
// onto a detached el.
func inScope(el *etree.Element) []etree.Attr {
	var chain []*etree.Element
	for e := el; e != nil; e = e.Parent() {
		chain = append(chain, e)
	}
	var out []etree.Attr
	for i := len(chain) - 1; i >= 0; i-- {
		for _, a := range chain[i].Attr {
			if !isDecl(a) {
				continue
			}
			out = slices.DeleteFunc(out, func(b etree.Attr) bool { return declPrefix(b) == declPrefix(a) })
			out = append(out, a)
		}
	}
	return out
}

// binding is one prefix bound to a namespace URI.
type binding struct{ prefix, uri string }

// treeC14n writes exclusive c14n as goxmldsig computes it.
type treeC14n struct {
	buf   []byte
	scope []binding // in force in the input, innermost last
	out   []binding // declared in the output by the output ancestors
	attrs []etree.Attr
	used  []string
}

var c14nPool = sync.Pool{New: func() any { return &treeC14n{buf: make([]byte, 0, 16<<10)} }}

// etreeutils' default context: the prefixes a document never declares
// (and the default namespace as goxmldsig starts it).
var c14nDefaults = []binding{{"", nsXML}, {"xml", nsXML}, {"xmlns", nsXMLNS}}

// canonical writes el in exclusive c14n, as goxmldsig's
// TransformExcC14n(el, prefixList) then canonicalSerialize would, leaving
// out skip; apexDecls, when not nil, replace el's own declarations (el as
// NSDetatch would hand it over). The bytes are valid until c is reused;
// false for content it does not write (CDATA, anything but elements and
// text) or a prefix in use but not declared.
func (c *treeC14n) canonical(el *etree.Element, apexDecls []etree.Attr, prefixList []string, skip *etree.Element) ([]byte, bool) {
	c.buf = c.buf[:0]
	c.scope = append(c.scope[:0], c14nDefaults...)
	c.out = append(c.out[:0], c14nDefaults...)
	if !c.element(el, apexDecls, prefixList, skip) {
		return nil, false
	}
	return c.buf, true
}

func lookup(bs []binding, prefix string) (string, bool) {
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i].prefix == prefix {
			return bs[i].uri, true
		}
	}
	return "", false
}

func (c *treeC14n) element(el *etree.Element, decls []etree.Attr, prefixList []string, skip *etree.Element) bool {
	scopeMark, outMark := len(c.scope), len(c.out)
	defer func() { c.scope, c.out = c.scope[:scopeMark], c.out[:outMark] }()
	if decls == nil {
		decls = el.Attr
	}
	// The visibly utilised prefixes: el's own, its attributes', and the
	// PrefixList's that el declares.
	c.used = append(c.used[:0], el.Space)
	for _, a := range decls {
		if isDecl(a) {
			p := declPrefix(a)
			c.scope = append(c.scope, binding{p, a.Value})
			if a.Space == "xmlns" && slices.Contains(prefixList, p) && !slices.Contains(c.used, p) {
				c.used = append(c.used, p)
			}
		}
	}
	c.attrs = c.attrs[:0]
	for _, a := range el.Attr {
		if isDecl(a) {
			continue
		}
		if a.Space != "" && !slices.Contains(c.used, a.Space) {
			c.used = append(c.used, a.Space)
		}
		c.attrs = append(c.attrs, a)
	}
	for _, p := range c.used {
		uri, inScope := lookup(c.scope, p)
		if declared, ok := lookup(c.out, p); ok && inScope && declared == uri {
			continue
		}
		if !inScope {
			return false
		}
		c.out = append(c.out, binding{p, uri})
		if p == "" {
			c.attrs = append(c.attrs, etree.Attr{Key: "xmlns", Value: uri})
		} else {
			c.attrs = append(c.attrs, etree.Attr{Space: "xmlns", Key: p, Value: uri})
		}
	}
	sort.Sort(etreeutils.SortedAttrs(c.attrs))
	c.buf = append(c.buf, '<')
	c.name(el.Space, el.Tag)
	for _, a := range c.attrs {
		c.buf = append(c.buf, ' ')
		c.name(a.Space, a.Key)
		c.buf = append(c.buf, '=', '"')
		c.escape(a.Value, true)
		c.buf = append(c.buf, '"')
	}
	c.buf = append(c.buf, '>')
	for _, tok := range el.Child {
		switch ch := tok.(type) {
		case *etree.Element:
			if ch == skip {
				continue
			}
			if !c.element(ch, nil, prefixList, nil) {
				return false
			}
		case *etree.CharData:
			if ch.IsCData() {
				return false
			}
			c.escape(ch.Data, false)
		default:
			return false
		}
	}
	c.buf = append(c.buf, '<', '/')
	c.name(el.Space, el.Tag)
	c.buf = append(c.buf, '>')
	return true
}

func (c *treeC14n) name(space, local string) {
	if space != "" {
		c.buf = append(c.buf, space...)
		c.buf = append(c.buf, ':')
	}
	c.buf = append(c.buf, local...)
}

// escape is etree's escapeString in its canonical modes (text, or an
// attribute value in double quotes).
func (c *treeC14n) escape(s string, attr bool) {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		var esc string
		switch r {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			if attr {
				continue
			}
			esc = "&gt;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		case '\t':
			if !attr {
				continue
			}
			esc = "&#x9;"
		case '\n':
			if !attr {
				continue
			}
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if !inCharacterRange(r) || (r == utf8.RuneError && width == 1) {
				esc = "\uFFFD"
				break
			}
			continue
		}
		c.buf = append(c.buf, s[last:i-width]...)
		c.buf = append(c.buf, esc...)
		last = i
	}
	c.buf = append(c.buf, s[last:]...)
}

// inCharacterRange is XML 1.0's Char production, as etree tests it.
func inCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
