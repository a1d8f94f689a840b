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

// algorithmError is a refused algorithm.
type algorithmError struct{ kind, uri string }

func (e *algorithmError) Error() string {
	return fmt.Sprintf("%s algorithm %q is not allowed", e.kind, e.uri)
}

// VerifySignature implements saml.SignatureVerifier.
func (g algorithmGuard) VerifySignature(vc *dsig.ValidationContext, el *etree.Element) error {
	for _, sig := range el.ChildElements() {
		if sig.Tag != "Signature" {
			continue
		}
		si := sig.FindElement("./SignedInfo")
		if si == nil {
			continue
		}
		if sm := si.FindElement("./SignatureMethod"); sm != nil {
			if alg := sm.SelectAttrValue("Algorithm", ""); !g.sig[alg] {
				return &algorithmError{"signature", alg}
			}
		}
		for _, dm := range si.FindElements("./Reference/DigestMethod") {
			if alg := dm.SelectAttrValue("Algorithm", ""); !g.dig[alg] {
				return &algorithmError{"digest", alg}
			}
		}
	}
	if _, err := vc.Validate(el); err != nil {
		return fmt.Errorf("cannot validate signature on %s: %w", el.Tag, err)
	}
	return nil
}
