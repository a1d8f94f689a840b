package saml

import (
	"bytes"
	"errors"
	"regexp"
)

var errDTD = errors.New("document type declarations and entities are not allowed")

// rejectDTD refuses any markup declaration (<!DOCTYPE, <!ENTITY, ...):
// SAML never needs one, and they are how entity-expansion and XXE attacks
// start. Comments and CDATA are not declarations.
func rejectDTD(b []byte) error {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("<!"))
		if j < 0 {
			return nil
		}
		rest := b[i+j:]
		if !bytes.HasPrefix(rest, []byte("<!--")) && !bytes.HasPrefix(rest, []byte("<![CDATA[")) {
			return errDTD
		}
		i += j + 2
	}
}

// assertionTag matches the start tag of an Assertion or EncryptedAssertion
// element with any (or no) prefix.
var assertionTag = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?(?:Encrypted)?Assertion[\s/>]`)

// countAssertions counts Assertion and EncryptedAssertion elements anywhere
// in the document. Only exactly one is acceptable: a second one, wherever it
// hides, is the raw material of signature wrapping.
func countAssertions(b []byte) (plain, encrypted int) {
	for _, m := range assertionTag.FindAll(b, 3) {
		if bytes.Contains(m, []byte("EncryptedAssertion")) {
			encrypted++
		} else {
			plain++
		}
	}
	return plain, encrypted
}

var recipientAttr = regexp.MustCompile(`\sRecipient\s*=\s*["']([^"'<]*)["']`)

// peekRecipient returns the first Recipient attribute value of the raw,
// unverified document. It only selects which allowed Recipient crewjam
// must then find in the verified assertion; it is never trusted itself.
func peekRecipient(b []byte) string {
	m := recipientAttr.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}
