package saml

import (
	"encoding/base64"
	"net/url"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// TestVerifyLeavesTheReceivedTreeAlone: the direct path has goxmldsig
// verify the Response's root as received (no detached copy first), so the
// tree precheck built, which the facts and refusals read, must be the same
// after verification; with no certificate in the Response's KeyInfo the
// KeyInfo is dropped from a copy, never from that tree. Both responses
// are accepted, on the direct path.
func TestVerifyLeavesTheReceivedTreeAlone(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	idp := newTestIdP(t, now)
	serialize := func(el *etree.Element) string {
		doc := etree.NewDocument()
		doc.SetRoot(el.Copy())
		s, err := doc.WriteToString()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, noCert := range []bool{false, true} {
		sp, _ := newSP(t, idp, nil)
		r := resp{}
		if noCert {
			r.afterSign = func(root *etree.Element) {
				ki := root.FindElement("./Signature/KeyInfo")
				if ki == nil || ki.FindElement("./X509Data") == nil {
					t.Fatal("the signed Response has no KeyInfo certificate to drop")
				}
				ki.RemoveChild(ki.FindElement("./X509Data"))
			}
		}
		raw, err := base64.StdEncoding.DecodeString(idp.build(t, r))
		if err != nil {
			t.Fatal(err)
		}
		current, _ := url.Parse(spACS)
		doc, err := sp.precheck(raw, current, now)
		if err != nil {
			t.Fatal(err)
		}
		st := sp.state.Load()
		if !direct(st, doc) || !doc.signed || !documentRoot(doc.root) {
			t.Fatalf("noCert=%v: not a signed document root on the direct path", noCert)
		}
		before := serialize(doc.root)
		a, err := sp.verify(st, doc, raw, []string{"req-1"}, current, now)
		if err != nil {
			t.Fatalf("noCert=%v: %v", noCert, err)
		}
		if after := serialize(doc.root); after != before {
			t.Errorf("noCert=%v: verification changed the received tree:\nbefore %s\nafter  %s", noCert, before, after)
		}
		if nameIDOf(a) != "alice@example.com" {
			t.Errorf("noCert=%v: subject %q", noCert, nameIDOf(a))
		}
	}
}
