package saml

import (
	"errors"
	"fmt"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// XML Encryption algorithms (URIs as IdPs write them). Key transport wraps
// the content key for the SP's certificate; content encryption encrypts the
// assertion with it.
const (
	RSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" // XML Encryption 1.0
	RSAOAEP      = "http://www.w3.org/2009/xmlenc11#rsa-oaep"        // XML Encryption 1.1
	// RSA15 (PKCS#1 v1.5 key transport) is never accepted: its padding
	// check is a Bleichenbacher oracle.
	RSA15 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"

	AES128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	AES192GCM = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	AES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	// AES-CBC has no integrity check: a modified ciphertext decrypts to
	// modified plaintext, and whether that is still well-formed XML is what
	// the XML Encryption attacks (Jager and Somorovsky, 2011) learn from.
	// It is accepted only when listed, and only inside a Response whose
	// signature crewjam verifies before decrypting.
	AES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	AES192CBC = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	AES256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
)

const nsXMLEnc = "http://www.w3.org/2001/04/xmlenc#"

// Reasons of the refusals this file decides.
const (
	ReasonDecryptFailed          = "decrypt_failed"
	ReasonEncryptionRequired     = "encryption_required"
	ReasonEncryptionNotAllowed   = "encryption_algorithm_not_allowed"
	ReasonCBCNeedsSignedResponse = "cbc_needs_signed_response"
)

// DefaultEncryptionAlgorithms: RSA-OAEP key transport and AES-GCM.
var DefaultEncryptionAlgorithms = []string{RSAOAEPMGF1P, RSAOAEP, AES128GCM, AES192GCM, AES256GCM}

// encryptionAlgorithm is what the broker knows of an algorithm it can
// accept.
type encryptionAlgorithm struct {
	keyTransport bool // else content encryption
	cbc          bool // unauthenticated content encryption
}

// encryptionAlgorithms lists every algorithm an allow-list may name, in the
// order the SP metadata advertises them: AES-GCM first (the key size an
// IdP such as crewjam's prefers first), then AES-CBC, then key transport.
var encryptionAlgorithms = []struct {
	uri string
	encryptionAlgorithm
}{
	{AES256GCM, encryptionAlgorithm{}},
	{AES128GCM, encryptionAlgorithm{}},
	{AES192GCM, encryptionAlgorithm{}},
	{AES256CBC, encryptionAlgorithm{cbc: true}},
	{AES128CBC, encryptionAlgorithm{cbc: true}},
	{AES192CBC, encryptionAlgorithm{cbc: true}},
	{RSAOAEP, encryptionAlgorithm{keyTransport: true}},
	{RSAOAEPMGF1P, encryptionAlgorithm{keyTransport: true}},
}

// encryptionPolicy is the allow-list of one provider.
type encryptionPolicy map[string]encryptionAlgorithm

// newEncryptionPolicy checks an allow-list: every URI one the broker knows,
// RSA-1.5 never, at least one key transport and one content algorithm.
func newEncryptionPolicy(uris []string) (encryptionPolicy, error) {
	known := make(map[string]encryptionAlgorithm, len(encryptionAlgorithms))
	for _, a := range encryptionAlgorithms {
		known[a.uri] = a.encryptionAlgorithm
	}
	p := encryptionPolicy{}
	kt, content := false, false
	for _, u := range uris {
		a, ok := known[u]
		switch {
		case u == RSA15:
			return nil, fmt.Errorf("%s is never accepted: RSA PKCS#1 v1.5 key transport is open to padding-oracle attacks; use RSA-OAEP", u)
		case !ok:
			return nil, fmt.Errorf("unknown or unsupported encryption algorithm %q (supported: RSA-OAEP key transport, AES-GCM and AES-CBC)", u)
		}
		p[u] = a
		kt, content = kt || a.keyTransport, content || !a.keyTransport
	}
	if !kt || !content {
		return nil, errors.New("the encryption algorithms must name at least one key transport (RSA-OAEP) and one content encryption (AES-GCM) algorithm")
	}
	return p, nil
}

// advertised is the allow-list in the order the SP metadata lists it.
func (p encryptionPolicy) advertised() []saml.EncryptionMethod {
	var out []saml.EncryptionMethod
	for _, a := range encryptionAlgorithms {
		if _, ok := p[a.uri]; ok {
			out = append(out, saml.EncryptionMethod{Algorithm: a.uri})
		}
	}
	return out
}

// checkEncryption applies the provider's encryption policy to the inspected
// Response, before anything is decrypted: a plaintext assertion when
// encryption is required; and on every EncryptedData in the document (the
// EncryptedAssertion, an EncryptedID or EncryptedAttribute in a plaintext
// assertion) the algorithms its EncryptionMethods name, read on the tree.
// CBC needs a signature that crewjam verifies before it decrypts: the
// Response's, or for what sits in a plaintext assertion, the assertion's.
func (sp *ServiceProvider) checkEncryption(r *response) error {
	if !r.encrypted && sp.cfg.RequireEncryption {
		return sp.fail(broker.EUNAUTHORIZED, ReasonEncryptionRequired, errors.New("the assertion is not encrypted and require_encryption is set"))
	}
	if r.encrypted && sp.cfg.Key == nil {
		return sp.decryptFailed(errors.New("encrypted assertion but no SP key configured"))
	}
	if r.encrypted {
		if n := len(r.children(r.assertions[0], nsXMLEnc, "EncryptedData")); n != 1 {
			return sp.decryptFailed(fmt.Errorf("the EncryptedAssertion holds %d EncryptedData elements, want one", n))
		}
	}
	if !holdsEncrypted(r.root) {
		return nil
	}
	err := sp.encPolicy.check(r.tree, r.root, func(el *etree.Element) bool {
		return r.signed || (r.assertionSigned && within(el, r.assertion))
	})
	if err != nil {
		return sp.refused(r.tree, err)
	}
	return nil
}

// check applies the policy to every encrypted element under root; covered
// says whether a signature that crewjam verifies before decrypting covers
// one. Errors are *structureError; a structure crewjam could read otherwise
// than the broker does is a decryption failure like any other.
func (p encryptionPolicy) check(t *tree, root *etree.Element, covered func(*etree.Element) bool) error {
	encs, err := t.encryptedData(root)
	if err != nil {
		return &structureError{ReasonDecryptFailed, err}
	}
	for _, e := range encs {
		if err := p.allows(e, covered(e.data)); err != nil {
			return err
		}
	}
	return nil
}

// decryptFailed is the one answer to every failure to decrypt: the same
// code, reason and message whether the EncryptedAssertion's structure is
// wrong, the key transport fails, the padding or the tag is wrong, the
// ciphertext is truncated or the plaintext is not XML, so that a sender of
// modified ciphertexts learns nothing from it. The precise cause (crewjam's
// private error) goes to the log only.
func (sp *ServiceProvider) decryptFailed(cause error) error {
	var ire *saml.InvalidResponseError
	if errors.As(cause, &ire) && ire.PrivateErr != nil {
		cause = ire.PrivateErr
	}
	return sp.fail(broker.EUNAUTHORIZED, ReasonDecryptFailed, fmt.Errorf("decrypt: %w", cause))
}

// encrypted is one EncryptedData and the algorithms that decrypt it.
type encrypted struct {
	data    *etree.Element
	content string   // its EncryptionMethod
	keys    []string // the EncryptionMethod of each EncryptedKey that may hold its key
}

// allows applies the policy to e; covered: a verified signature covers it.
// Errors are *structureError.
func (p encryptionPolicy) allows(e encrypted, covered bool) error {
	c, ok := p[e.content]
	if !ok || c.keyTransport {
		return refuse(ReasonEncryptionNotAllowed, "content encryption algorithm %q is not allowed", e.content)
	}
	for _, k := range e.keys {
		if a, ok := p[k]; !ok || !a.keyTransport {
			return refuse(ReasonEncryptionNotAllowed, "key transport algorithm %q is not allowed", k)
		}
	}
	if c.cbc && !covered {
		return refuse(ReasonCBCNeedsSignedResponse, "%s has no integrity check and no verified signature covers the ciphertext (sign the Response, or encrypt with AES-GCM)", e.content)
	}
	return nil
}

// encryptedData reads every EncryptedData under root the way crewjam's
// xmlenc finds its parts (by local name, in any namespace): each must be an
// XML Encryption element with exactly one EncryptionMethod naming one
// algorithm, with at least one EncryptedKey beside it (in the parent) or in
// its ds:KeyInfo; no EncryptedData, EncryptedKey or EncryptionMethod may sit
// anywhere else, so that every one crewjam could use has been checked.
func (t *tree) encryptedData(root *etree.Element) ([]encrypted, error) {
	var out []encrypted
	read := map[*etree.Element]bool{}
	var err error
	walkElements(root, func(el *etree.Element) bool {
		if err != nil || el.Tag != "EncryptedData" {
			return err == nil
		}
		var e encrypted
		if e, err = t.encryptedOf(el, read); err == nil {
			out = append(out, e)
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	walkElements(root, func(el *etree.Element) bool {
		switch el.Tag {
		case "EncryptedData", "EncryptedKey", "EncryptionMethod":
			if !read[el] && err == nil {
				err = fmt.Errorf("%s is not where XML Encryption puts it", describe(el))
			}
		}
		return err == nil
	})
	return out, err
}

// encryptedOf reads one EncryptedData; read collects the elements checked.
func (t *tree) encryptedOf(data *etree.Element, read map[*etree.Element]bool) (encrypted, error) {
	e := encrypted{data: data}
	if t.ns[data] != nsXMLEnc {
		return e, fmt.Errorf("%s is not in the XML Encryption namespace", describe(data))
	}
	var err error
	if e.content, err = t.encryptionMethod(data, read); err != nil {
		return e, err
	}
	read[data] = true
	keys := t.children(data.Parent(), nsXMLEnc, "EncryptedKey")
	if ki, _ := t.child(data, nsDSig, "KeyInfo"); ki != nil {
		keys = append(keys, t.children(ki, nsXMLEnc, "EncryptedKey")...)
	}
	if len(keys) == 0 {
		return e, errors.New("no EncryptedKey holds the content key")
	}
	for _, k := range keys {
		alg, err := t.encryptionMethod(k, read)
		if err != nil {
			return e, err
		}
		e.keys = append(e.keys, alg)
		read[k] = true
	}
	return e, nil
}

// encryptionMethod returns the algorithm of el's one EncryptionMethod:
// exactly one child of that local name, in the XML Encryption namespace,
// with exactly one Algorithm attribute, unprefixed.
func (t *tree) encryptionMethod(el *etree.Element, read map[*etree.Element]bool) (string, error) {
	var ms []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == "EncryptionMethod" {
			ms = append(ms, c)
		}
	}
	if len(ms) != 1 || t.ns[ms[0]] != nsXMLEnc {
		return "", fmt.Errorf("<%s> does not have exactly one XML Encryption EncryptionMethod", el.Tag)
	}
	var algs []etree.Attr
	for _, a := range ms[0].Attr {
		if a.Key == "Algorithm" {
			algs = append(algs, a)
		}
	}
	if len(algs) != 1 || algs[0].Space != "" {
		return "", fmt.Errorf("the EncryptionMethod of <%s> does not name exactly one Algorithm", el.Tag)
	}
	read[ms[0]] = true
	return algs[0].Value, nil
}

// holdsEncrypted reports whether an element under el has a local name of
// XML Encryption's: only then is the policy worth a namespace-aware tree.
func holdsEncrypted(el *etree.Element) bool {
	found := false
	walkElements(el, func(c *etree.Element) bool {
		switch c.Tag {
		case "EncryptedData", "EncryptedKey", "EncryptionMethod":
			found = true
		}
		return !found
	})
	return found
}

// walkElements calls f on el and, while f returns true, its descendants.
func walkElements(el *etree.Element, f func(*etree.Element) bool) {
	if !f(el) {
		return
	}
	for _, tok := range el.Child { // not ChildElements, which allocates
		if c, ok := tok.(*etree.Element); ok {
			walkElements(c, f)
		}
	}
}

// within reports whether el is ancestor or under it (never under nil).
func within(el, ancestor *etree.Element) bool {
	if ancestor == nil {
		return false
	}
	for ; el != nil; el = el.Parent() {
		if el == ancestor {
			return true
		}
	}
	return false
}

// encryptionDefaults completes and checks the encryption settings of c.
func (c *Config) encryptionDefaults() error {
	if len(c.EncryptionAlgorithms) == 0 {
		c.EncryptionAlgorithms = DefaultEncryptionAlgorithms
	}
	if _, err := newEncryptionPolicy(c.EncryptionAlgorithms); err != nil {
		return fmt.Errorf("saml: %s: EncryptionAlgorithms: %w", c.ID, err)
	}
	if c.Key == nil && (c.RequireEncryption || len(c.PreviousKeys) > 0) {
		return fmt.Errorf("saml: %s: RequireEncryption and PreviousKeys need Key and Certificate", c.ID)
	}
	for i, k := range c.PreviousKeys {
		if k == nil || k.Equal(c.Key) {
			return fmt.Errorf("saml: %s: PreviousKeys[%d] is missing or is the current Key", c.ID, i)
		}
	}
	return nil
}
