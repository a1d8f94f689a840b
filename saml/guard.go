package saml

import (
	"fmt"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// verifier is crewjam's signature hook. As a SignedElementVerifier it has
// crewjam read the message from what the signature covers. Before
// verifying, it refuses a structure the broker does not accept and
// algorithms outside the allow-lists (crewjam's own RejectSHA1Signatures
// knows only SHA-1); it judges the signing certificate's validity at the
// broker's clock, not at the instant crewjam checks message times at (see
// libraryNow).
type verifier struct {
	sig, dig map[string]bool
	enc      encryptionPolicy
	now      func() time.Time
}

// VerifySignedElement implements saml.SignedElementVerifier. It first
// applies the structure rules to el (inspectSigned) and the encryption
// policy to what el holds encrypted: the Response again, or an Assertion,
// which may be one crewjam has just decrypted.
func (v verifier) VerifySignedElement(vc *dsig.ValidationContext, el *etree.Element) (*etree.Element, error) {
	if err := inspectSigned(el, v.sig, v.dig); err != nil {
		return nil, err
	}
	// What el holds encrypted (an EncryptedID in an assertion crewjam has
	// just decrypted, say) meets the encryption policy too: the signature
	// about to be verified covers it, and crewjam decrypts it only after.
	if holdsEncrypted(el) {
		if t, err := treeOf(el); err == nil {
			if err := v.enc.check(t, el, func(*etree.Element) bool { return true }); err != nil {
				return nil, err
			}
		}
	}
	ctx := *vc
	ctx.Clock = dsig.NewFakeClockAt(v.now())
	signed, err := ctx.Validate(el)
	if err != nil {
		return nil, fmt.Errorf("cannot validate signature on %s: %w", el.Tag, err)
	}
	return signed, nil
}

// VerifySignature implements saml.SignatureVerifier.
func (v verifier) VerifySignature(vc *dsig.ValidationContext, el *etree.Element) error {
	_, err := v.VerifySignedElement(vc, el)
	return err
}
