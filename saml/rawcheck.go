package saml

import (
	"bytes"
	"errors"
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
