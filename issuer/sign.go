package issuer

import (
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Signer puts enveloped XML signatures (RSA-SHA256, SHA-256 digest,
// exclusive c14n) on SAML elements, with the Signature right after the
// element's Issuer as the SAML schema requires. Used by the broker's IdP
// and by the demo IdP.
type Signer struct {
	ctx *dsig.SigningContext
}

// NewSigner returns a Signer for the key pair.
func NewSigner(kp KeyPair) (*Signer, error) {
	if kp.Key == nil || kp.Certificate == nil {
		return nil, fmt.Errorf("issuer: a signing key and certificate are required")
	}
	ctx, err := dsig.NewSigningContext(kp.Key, [][]byte{kp.Certificate.Raw})
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	return &Signer{ctx: ctx}, nil
}

// Sign returns el with an enveloped RSA-SHA256 signature placed right after
// its Issuer, where the SAML schema wants it.
func (s *Signer) Sign(el *etree.Element) (*etree.Element, error) {
	// Put the tree in exclusive-canonical form first (as crewjam/saml does):
	// goxmldsig digests an in-memory tree, and a verifier will digest the
	// parsed document, so both must be the same canonical tree.
	if err := etreeutils.TransformExcC14n(el, "", false); err != nil {
		return nil, fmt.Errorf("issuer: canonicalize %s: %w", el.Tag, err)
	}
	signed, err := s.ctx.SignEnveloped(el)
	if err != nil {
		return nil, fmt.Errorf("issuer: sign %s: %w", el.Tag, err)
	}
	// SignEnveloped appends the Signature to the copy's Child slice without
	// registering it as a child (no parent, no index), so etree's
	// RemoveChild cannot take it out: cut it off the slice directly.
	last := len(signed.Child) - 1
	sig, ok := signed.Child[last].(*etree.Element)
	if !ok || sig.Tag != "Signature" {
		return nil, fmt.Errorf("issuer: sign %s: no signature appended", el.Tag)
	}
	signed.Child = signed.Child[:last]
	issuerIdx := 0
	for i, c := range signed.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			issuerIdx = i
			break
		}
	}
	signed.InsertChildAt(issuerIdx+1, sig)
	return signed, nil
}
