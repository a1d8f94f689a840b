package localaws

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

const statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"

// decodeSAMLResponse base64-decodes the SAMLAssertion parameter (line
// breaks tolerated, as IdPs wrap long lines) and parses it as safe XML.
func decodeSAMLResponse(b64 string) (*etree.Document, *stsError) {
	compact := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b64)
	raw, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return nil, errInvalidToken("not_base64", err, "The SAMLAssertion is not valid base64: pass the base64-encoded SAML Response.")
	}
	doc, err := parseSafeXML(raw)
	if err != nil {
		if errors.Is(err, errDTD) {
			return nil, errInvalidToken("xml_dtd", err, "Invalid SAML response: DTDs and entity declarations are not allowed.")
		}
		return nil, errInvalidToken("xml_malformed", err, "Invalid SAML response: the XML is malformed.")
	}
	return doc, nil
}

// verifySignatures returns the one Assertion of the Response root, taken
// from the element(s) the XML signature verifier returned, never from the
// unverified tree: the defence against signature wrapping.
//
//   - Response signed: it is verified first and the Assertion is read from
//     the verified copy; if the Assertion is signed too, that signature is
//     verified as well and its verified copy is returned.
//   - Response unsigned: the Assertion must be signed; its verified copy is
//     returned.
//
// The returned response element is the verified Response when it is
// signed, the unverified one otherwise (only used for rejections).
func verifySignatures(root *etree.Element, certs []*x509.Certificate, now time.Time) (resp, assertion *etree.Element, _ *stsError) {
	if !isElem(root, nsSAMLP, "Response") {
		return nil, nil, errInvalidToken("not_a_response", nil, "Invalid SAML response: the document must be a samlp:Response.")
	}
	resp = root
	respSigned := len(childElems(root, nsDSig, "Signature")) > 0
	if respSigned {
		v, err := verifyElement(root, certs, now)
		if err != nil {
			return nil, nil, errInvalidToken("signature_invalid", err, "Response signature invalid")
		}
		resp = v
	}
	if n := len(childElems(resp, nsSAML, "EncryptedAssertion")); n > 0 {
		return nil, nil, errInvalidToken("encrypted_assertion", nil, "Encrypted assertions are not supported by AssumeRoleWithSAML: configure the IdP to send the assertion unencrypted.")
	}
	as := childElems(resp, nsSAML, "Assertion")
	if len(as) != 1 {
		return nil, nil, errInvalidToken("assertion_count", nil, "Invalid SAML response: it must contain exactly one Assertion, found %d.", len(as))
	}
	assertion = as[0]
	if len(childElems(assertion, nsDSig, "Signature")) > 0 {
		v, err := verifyElement(assertion, certs, now)
		if err != nil {
			return nil, nil, errInvalidToken("signature_invalid", err, "Assertion signature invalid")
		}
		assertion = v
	} else if !respSigned {
		return nil, nil, errInvalidToken("unsigned", nil, "Invalid SAML response: neither the Response nor the Assertion is signed.")
	}
	return resp, assertion, nil
}

// verifyElement verifies el's enveloped signature against each trusted
// certificate in turn and returns the element goxmldsig verified (a
// detached copy with the signature removed).
func verifyElement(el *etree.Element, certs []*x509.Certificate, now time.Time) (*etree.Element, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, fmt.Errorf("saml: namespaces: %w", err)
	}
	if ctx, err = ctx.SubContext(el); err != nil {
		return nil, fmt.Errorf("saml: namespaces: %w", err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, fmt.Errorf("saml: detach: %w", err)
	}
	// A KeyInfo without an X509Certificate (e.g. a bare RSAKeyValue) names
	// no certificate to match: drop it so the registered ones are used.
	for _, sig := range childElems(detached, nsDSig, "Signature") {
		for _, ki := range childElems(sig, nsDSig, "KeyInfo") {
			if ki.FindElement(".//X509Certificate") == nil {
				sig.RemoveChild(ki)
			}
		}
	}
	var lastErr error
	for _, c := range certs {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		vc.IdAttribute = "ID"
		vc.Clock = dsig.NewFakeClockAt(now)
		out, err := vc.Validate(detached)
		if err == nil {
			return out, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("saml: verify %s signature: %w", el.Tag, lastErr)
}

// checkStatus rejects a Response whose top-level StatusCode is not Success.
func checkStatus(resp *etree.Element) *stsError {
	st, err := oneChild(resp, nsSAMLP, "Status")
	if err != nil || st == nil {
		return errInvalidToken("status_missing", err, "Invalid SAML response: it has no Status.")
	}
	code, err := oneChild(st, nsSAMLP, "StatusCode")
	if err != nil || code == nil || code.SelectAttrValue("Value", "") != statusSuccess {
		return errInvalidToken("status_not_success", err, "Invalid SAML response: its StatusCode is not Success; the IdP did not authenticate the user.")
	}
	return nil
}
