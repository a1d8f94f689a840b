package saml

import (
	"context"
	"testing"
	"time"

	"github.com/broker-dev/broker"
)

// With DeferReplay the verified result names the replay entry and nothing
// is written to the ReplayCache: the caller burns the ID in its own
// sign-in transaction. Without it, the ID is burned as before.
func TestDeferReplay(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, rp := newSP(t, p, nil)
	b64 := p.build(t, resp{assertionID: "_deferred"})
	res, err := sp.ParseResponse(context.Background(), ACSInput{SAMLResponse: b64, RequestIDs: []string{"req-1"}, CurrentURL: spACS, DeferReplay: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.AssertionID != "_deferred" || res.ReplayNamespace != "saml:okta" {
		t.Fatalf("replay entry %q %q", res.ReplayNamespace, res.AssertionID)
	}
	if !res.ReplayExpires.After(res.NotOnOrAfter) || res.ReplayExpires.Sub(res.NotOnOrAfter) > 10*time.Minute {
		t.Errorf("ReplayExpires %v, NotOnOrAfter %v: want NotOnOrAfter plus the skew", res.ReplayExpires, res.NotOnOrAfter)
	}
	if broker.ErrorCode(res.ReplayRefusal) != broker.EREPLAY || broker.ErrorReason(res.ReplayRefusal) != "replay" || refusalOf(t, res.ReplayRefusal).Subject == "" {
		t.Errorf("ReplayRefusal = %v", res.ReplayRefusal)
	}
	if len(rp.m) != 0 {
		t.Fatalf("DeferReplay wrote the replay cache: %v", rp.m)
	}
	again, err := parse(t, sp, b64, "req-1")
	if err != nil {
		t.Fatalf("without DeferReplay: %v", err)
	}
	if e, ok := rp.m["saml:okta\x00_deferred"]; !ok || !e.Equal(again.ReplayExpires) {
		t.Fatalf("the ID was not burned until ReplayExpires: %v", rp.m)
	}
}
