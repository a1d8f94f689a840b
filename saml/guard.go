package saml

import (
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// algorithmGuard is crewjam's SignatureVerifier hook: it refuses signature
// and digest algorithms outside the allow-lists before verifying.
type algorithmGuard struct {
	sig, dig map[string]bool
}

// VerifySignature implements saml.SignatureVerifier.
func (g algorithmGuard) VerifySignature(vc *dsig.ValidationContext, el *etree.Element) error {
	for _, sig := range el.ChildElements() {
		if sig.Tag == "Signature" {
			if err := checkAlgorithms(sig, g.sig, g.dig); err != nil {
				return err
			}
		}
	}
	if _, err := vc.Validate(el); err != nil {
		return fmt.Errorf("cannot validate signature on %s: %w", el.Tag, err)
	}
	return nil
}
