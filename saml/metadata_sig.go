package saml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

const metadataNS = "urn:oasis:names:tc:SAML:2.0:metadata"

// errMetadataUnsigned is metadata without a signature over its root.
var errMetadataUnsigned = errors.New("the metadata is not signed, and a metadata signing certificate is configured")

// verifyMetadataSignature checks that cert made the enveloped XML-DSig
// signature over data's root element (EntityDescriptor or
// EntitiesDescriptor) and returns the signed element alone, re-serialized:
// what is parsed after this is exactly what was verified, so nothing can
// be wrapped around it.
//
// The certificate is a pinned key: its validity dates are not checked
// (goxmldsig's clock is set inside them), as Shibboleth trusts an
// explicitly configured metadata signing key.
func verifyMetadataSignature(data []byte, cert *x509.Certificate) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	root := doc.Root()
	if root == nil || root.NamespaceURI() != metadataNS || (root.Tag != "EntityDescriptor" && root.Tag != "EntitiesDescriptor") {
		return nil, errors.New("the root element is not a metadata EntityDescriptor or EntitiesDescriptor")
	}
	sig, err := rootSignature(root)
	if err != nil {
		return nil, err
	}
	if err := checkMetadataSignature(root, sig); err != nil {
		return nil, err
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vc.Clock = dsig.NewFakeClockAt(cert.NotBefore)
	signed, err := vc.Validate(root)
	if err != nil {
		return nil, fmt.Errorf("does not verify with the metadata signing certificate: %w", err)
	}
	out := etree.NewDocument()
	out.SetRoot(signed)
	return out.WriteToBytes()
}

// rootSignature returns the one ds:Signature child of root.
func rootSignature(root *etree.Element) (*etree.Element, error) {
	var sigs []*etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsig.Namespace {
			sigs = append(sigs, c)
		}
	}
	switch len(sigs) {
	case 0:
		return nil, errMetadataUnsigned
	case 1:
		return sigs[0], nil
	}
	return nil, fmt.Errorf("the root element has %d signatures", len(sigs))
}

// checkMetadataSignature requires one Reference, to the root element, and
// SHA-256 and up (the default allow-lists, whatever a provider allows for
// its responses).
func checkMetadataSignature(root, sig *etree.Element) error {
	si := sig.FindElement("./SignedInfo")
	if si == nil {
		return errors.New("the signature has no SignedInfo")
	}
	if sm := si.FindElement("./SignatureMethod"); sm == nil || !slices.Contains(DefaultSignatureAlgorithms, sm.SelectAttrValue("Algorithm", "")) {
		return &algorithmError{"signature", attrOf(sm, "Algorithm")}
	}
	refs := si.FindElements("./Reference")
	if len(refs) != 1 {
		return fmt.Errorf("the signature has %d references, want 1", len(refs))
	}
	if uri, id := refs[0].SelectAttrValue("URI", ""), root.SelectAttrValue("ID", ""); uri != "" && (id == "" || uri != "#"+id) {
		return fmt.Errorf("the signature references %q, not the root element", uri)
	}
	if dm := refs[0].FindElement("./DigestMethod"); dm == nil || !slices.Contains(DefaultDigestAlgorithms, dm.SelectAttrValue("Algorithm", "")) {
		return &algorithmError{"digest", attrOf(dm, "Algorithm")}
	}
	return nil
}

func attrOf(el *etree.Element, name string) string {
	if el == nil {
		return ""
	}
	return el.SelectAttrValue(name, "")
}
