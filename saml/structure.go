package saml

import (
	"fmt"

	"github.com/beevik/etree"
)

// response is a received Response whose structure passed inspect: the
// only thing crewjam is then asked to verify.
type response struct {
	*tree
	assertion *etree.Element // the plaintext Assertion, nil when encrypted
	encrypted bool
	signed    bool // the Response carries its (one) Signature

	assertionSigned bool
}

// structureError is a refused structure; reason is its audit reason.
type structureError struct {
	reason string
	err    error
}

func (e *structureError) Error() string { return e.err.Error() }
func (e *structureError) Unwrap() error { return e.err }

func refuse(reason, format string, args ...any) error {
	return &structureError{reason, fmt.Errorf(format, args...)}
}

const statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"

// inspect checks, on the parsed tree and before anything trusts the
// document, what Shibboleth checks: one SAML 2.0 Response holding exactly
// one assertion (plaintext or encrypted) as its child, counted by namespace
// and local name wherever it hides; exactly one Signature on each element
// the broker uses and nowhere else, each with one Reference to "#" + that
// element's ID, an ID no other attribute in the document carries; allowed
// algorithms. Errors are *structureError or *statusError.
func (sp *ServiceProvider) inspect(t *tree) (*response, error) {
	if !t.is(t.root, nsProtocol, "Response") {
		return nil, refuse("malformed_response", "%w: root %s", errNotResponse, describe(t.root))
	}
	if t.unsupported != nil {
		return nil, refuse("xml_unsupported", "%w", t.unsupported)
	}
	if err := t.status(); err != nil {
		return nil, err
	}
	r := &response{tree: t}
	if err := r.findAssertion(); err != nil {
		return nil, err
	}
	if err := r.checkSignatures(sp.sigAlgs, sp.digAlgs); err != nil {
		return nil, err
	}
	return r, nil
}

// inspectSigned applies the same rules to an element crewjam is about to
// verify: the Response (again) or an Assertion, which may be one it has
// just decrypted and inspect could not see. An Assertion holds no other
// assertion and carries its one Signature, referencing its own ID, which
// nothing else in it carries. Errors are *structureError.
func inspectSigned(el *etree.Element, sigAlgs, digAlgs map[string]bool) error {
	t, err := treeOf(el)
	if err != nil {
		return &structureError{"malformed_response", err}
	}
	if t.unsupported != nil {
		return refuse("xml_unsupported", "%w", t.unsupported)
	}
	r := &response{tree: t}
	switch {
	case t.is(el, nsProtocol, "Response"):
		if err := r.findAssertion(); err != nil {
			return err
		}
	case t.is(el, nsAssertion, "Assertion"):
		if n := len(t.assertions); n != 1 {
			return refuse("multiple_assertions", "the assertion holds %d more: %s", n-1, describe(t.assertions[1]))
		}
		r.assertion = el
	default:
		return refuse("signature_structure", "a signature on %s", describe(el))
	}
	return r.checkSignatures(sigAlgs, digAlgs)
}

// statusError is a Response whose StatusCode is not Success.
type statusError struct{ status string }

func (e *statusError) Error() string { return "status " + e.status }

// status refuses a Response that says the sign-in failed: such a Response
// carries no assertion, and the person should learn what the IdP said.
func (t *tree) status() error {
	st, err := t.child(t.root, nsProtocol, "Status")
	if err != nil {
		return refuse("malformed_response", "%w", err)
	}
	if st == nil {
		return refuse("malformed_response", "the Response has no Status")
	}
	code, err := t.child(st, nsProtocol, "StatusCode")
	if err != nil || code == nil {
		return refuse("malformed_response", "the Status has no single StatusCode")
	}
	if v, _ := attr(code, "Value"); v != statusSuccess {
		return &statusError{v}
	}
	return nil
}

// findAssertion requires exactly one Assertion or EncryptedAssertion in the
// whole document, in the SAML 2.0 namespace, as a child of the Response.
func (r *response) findAssertion() error {
	switch n := len(r.assertions); {
	case n == 0:
		return refuse("no_assertion", "the response holds no assertion")
	case n > 1:
		return refuse("multiple_assertions", "the response holds %d assertions: %s and %s", n, describe(r.assertions[0]), describe(r.assertions[1]))
	}
	a := r.assertions[0]
	if a.Parent() != r.root || r.ns[a] != nsAssertion {
		return refuse("no_assertion", "the only assertion-like element is %s in namespace %q, not a SAML 2.0 assertion in the Response", describe(a), r.ns[a])
	}
	if a.Tag == "EncryptedAssertion" {
		r.encrypted = true
	} else {
		r.assertion = a
	}
	return nil
}

// checkSignatures requires every Signature in the document to be the one
// Signature of the Response or of the plaintext Assertion.
func (r *response) checkSignatures(sigAlgs, digAlgs map[string]bool) error {
	signedBy := map[*etree.Element]bool{}
	for _, sig := range r.signatures {
		if r.ns[sig] != nsDSig {
			return refuse("signature_structure", "%s is in namespace %q, not XML Signature's", describe(sig), r.ns[sig])
		}
		parent := sig.Parent()
		if parent != r.root && (r.assertion == nil || parent != r.assertion) {
			return refuse("signature_structure", "%s: only the Response and the Assertion may be signed", describe(sig))
		}
		if signedBy[parent] {
			return refuse("signature_structure", "<%s> carries more than one Signature", parent.Tag)
		}
		signedBy[parent] = true
		if err := r.checkReference(sig, parent); err != nil {
			return err
		}
		if err := checkAlgorithms(sig, sigAlgs, digAlgs); err != nil {
			return &structureError{"algorithm_not_allowed", err}
		}
	}
	r.signed = signedBy[r.root]
	r.assertionSigned = r.assertion != nil && signedBy[r.assertion]
	return nil
}

// requireSignature refuses a plaintext assertion that neither it nor the
// Response signs (an encrypted one carries its signature inside, which
// crewjam checks after decrypting).
func (r *response) requireSignature() error {
	if r.assertion != nil && !r.signed && !r.assertionSigned {
		return refuse("signature_missing", "neither the Response nor the Assertion is signed")
	}
	return nil
}

// checkReference requires sig to hold one SignedInfo with one Reference
// whose URI is "#" + the ID of signed, and that ID to be the only ID-like
// attribute value of its kind in the document, so that the signature can
// only be about signed.
func (r *response) checkReference(sig, signed *etree.Element) error {
	id, err := soleID(signed)
	if err != nil {
		return refuse("signature_structure", "%w", err)
	}
	if n := countLocal(sig, "SignedInfo"); n != 1 {
		return refuse("signature_structure", "the Signature of <%s> has %d SignedInfo elements", signed.Tag, n)
	}
	si, _ := r.child(sig, nsDSig, "SignedInfo")
	if si == nil {
		return refuse("signature_structure", "the SignedInfo of <%s> is not an XML Signature child of its Signature", signed.Tag)
	}
	if n := countLocal(si, "Reference"); n != 1 || len(r.children(si, nsDSig, "Reference")) != 1 {
		return refuse("signature_structure", "the Signature of <%s> has %d References, want exactly one", signed.Tag, n)
	}
	ref := r.children(si, nsDSig, "Reference")[0]
	var uris []string
	for _, a := range ref.Attr {
		if a.Key == "URI" {
			if a.Space != "" {
				return refuse("signature_structure", "the Reference of <%s> has a prefixed URI attribute", signed.Tag)
			}
			uris = append(uris, a.Value)
		}
	}
	if len(uris) != 1 || uris[0] != "#"+id {
		return refuse("signature_structure", "the Signature of <%s> references %q, not %q", signed.Tag, uris, "#"+id)
	}
	if n := r.ids[id]; n != 1 {
		return refuse("signature_structure", "the ID %q of <%s> appears %d times in the document", clip(id), signed.Tag, n)
	}
	return nil
}

// soleID returns el's ID: exactly one attribute of local name ID, without a
// prefix, not empty.
func soleID(el *etree.Element) (string, error) {
	var ids []etree.Attr
	for _, a := range el.Attr {
		if a.Key == "ID" {
			ids = append(ids, a)
		}
	}
	if len(ids) != 1 || ids[0].Space != "" || ids[0].Value == "" {
		return "", fmt.Errorf("the signed <%s> does not have exactly one non-empty ID attribute", el.Tag)
	}
	return ids[0].Value, nil
}

// countLocal counts the elements named local (any namespace) in el's
// subtree, el excluded.
func countLocal(el *etree.Element, local string) int {
	n := 0
	for _, c := range el.ChildElements() {
		if c.Tag == local {
			n++
		}
		n += countLocal(c, local)
	}
	return n
}

// algorithmError is a refused algorithm.
type algorithmError struct{ kind, uri string }

func (e *algorithmError) Error() string {
	return fmt.Sprintf("%s algorithm %q is not allowed", e.kind, e.uri)
}

// checkAlgorithms refuses a Signature any of whose SignatureMethod or
// DigestMethod elements, wherever they sit in it, names an algorithm
// outside the allow-lists.
func checkAlgorithms(sig *etree.Element, sigAlgs, digAlgs map[string]bool) error {
	for _, c := range sig.ChildElements() {
		allowed, kind := sigAlgs, "signature"
		switch c.Tag {
		case "SignatureMethod":
		case "DigestMethod":
			allowed, kind = digAlgs, "digest"
		default:
			if err := checkAlgorithms(c, sigAlgs, digAlgs); err != nil {
				return err
			}
			continue
		}
		n := 0
		for _, a := range c.Attr {
			if a.Key == "Algorithm" {
				n++
				if a.Space != "" || !allowed[a.Value] {
					return &algorithmError{kind, a.Value}
				}
			}
		}
		if n != 1 {
			return &algorithmError{kind, ""}
		}
	}
	return nil
}
