package localaws

import (
	"testing"

	"github.com/beevik/etree"
)

// The IdP granted roleLong only; each attack tries to get roleAdmin by
// wrapping a forged assertion around (or next to) the genuinely signed one.

func xswLegit(f *fixture) samlSpec {
	s := f.spec()
	s.Attrs = withAttr(s.Attrs, attrRole, pairValue(roleLong, testProvider))
	return s
}

// evilize returns an unsigned copy of the assertion that grants roleAdmin.
func evilize(a *etree.Element) *etree.Element {
	e := a.Copy()
	if sig := e.FindElement("./Signature"); sig != nil {
		e.RemoveChild(sig)
	}
	e.FindElement(".//Attribute[@Name='" + attrRole + "']/AttributeValue").SetText(pairValue(roleAdmin, testProvider))
	return e
}

func replaceChild(parent, old, by *etree.Element) {
	i := old.Index()
	parent.RemoveChild(old)
	parent.InsertChildAt(i, by)
}

func TestAssumeRoleWithSAMLSignatureWrapping(t *testing.T) {
	t.Parallel()
	t.Run("control: the genuine response does not grant Admin", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		_, err := f.assume(t, roleAdmin, testProvider, f.build(t, xswLegit(f)))
		wantAPIError(t, err, codeIDPRejectedClaim, 403, "does not contain the pair")
		if _, err := f.assume(t, roleLong, testProvider, f.build(t, xswLegit(f))); err != nil {
			t.Fatalf("genuine response for the granted role: %v", err)
		}
	})
	attacks := []struct {
		name   string
		mode   signMode
		attack func(doc *etree.Document)
		msg    string
	}{
		{"forged assertion next to the signed one", signAssertion, func(doc *etree.Document) {
			orig := doc.FindElement("./Response/Assertion")
			doc.Root().InsertChildAt(orig.Index(), evilize(orig))
		}, "exactly one Assertion, found 2"},
		{"signed assertion hidden in the forged one's Signature Object", signAssertion, func(doc *etree.Document) {
			orig := doc.FindElement("./Response/Assertion")
			evil := evilize(orig)
			sig := orig.FindElement("./Signature").Copy()
			sig.CreateElement("ds:Object").AddChild(orig.Copy())
			evil.InsertChildAt(1, sig)
			replaceChild(doc.Root(), orig, evil)
		}, "Assertion signature invalid"},
		{"signed assertion moved to Extensions, forged one unsigned", signAssertion, func(doc *etree.Document) {
			orig := doc.FindElement("./Response/Assertion")
			evil := evilize(orig)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(orig.Copy())
			replaceChild(doc.Root(), orig, evil)
			doc.Root().InsertChildAt(1, ext)
		}, "neither the Response nor the Assertion is signed"},
		{"forged assertion carrying the genuine signature", signAssertion, func(doc *etree.Document) {
			orig := doc.FindElement("./Response/Assertion")
			evil := evilize(orig)
			evil.InsertChildAt(1, orig.FindElement("./Signature").Copy())
			replaceChild(doc.Root(), orig, evil)
		}, "Assertion signature invalid"},
		{"forged assertion swapped into a signed response", signResponse, func(doc *etree.Document) {
			orig := doc.FindElement("./Response/Assertion")
			replaceChild(doc.Root(), orig, evilize(orig))
		}, "Response signature invalid"},
		{"signed response wrapped in a forged one with the same ID", signResponse, func(doc *etree.Document) {
			inner := doc.Root().Copy()
			outer := etree.NewElement("samlp:Response")
			for _, a := range inner.Attr {
				outer.CreateAttr(a.FullKey(), a.Value)
			}
			outer.AddChild(inner.FindElement("./Issuer").Copy())
			outer.AddChild(inner.FindElement("./Signature").Copy())
			outer.AddChild(inner.FindElement("./Status").Copy())
			outer.CreateElement("samlp:Extensions").AddChild(inner)
			outer.AddChild(evilize(inner.FindElement("./Assertion")))
			doc.SetRoot(outer)
		}, "Response signature invalid"},
	}
	for _, tt := range attacks {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := xswLegit(f)
			s.Sign, s.AfterSign = tt.mode, tt.attack
			_, err := f.assume(t, roleAdmin, testProvider, f.build(t, s))
			wantAPIError(t, err, codeInvalidIdentity, 400, tt.msg)
		})
	}
}
