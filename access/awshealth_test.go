package access

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/sts"
)

// AWS trouble is remembered from the calls' outcomes and forgotten at the
// first answer, or when nothing has called for a while.
func TestAWSHealth(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	h := awsHealth{svc: map[string]*awsState{}}
	ctx := context.Background()
	timeout := broker.Errorf(broker.EUNAVAILABLE, sts.ReasonTimeout, "x")
	refused := broker.Errorf(broker.EFORBIDDEN, sts.ReasonAccessDenied, "x")

	h.record(ctx, "AWS STS", refused, false, now)
	if w := h.warning(now); w != "" {
		t.Fatalf("a refusal is AWS answering, not an outage: %q", w)
	}
	h.record(ctx, "AWS STS", timeout, true, now)
	h.record(ctx, "AWS STS", timeout, true, now.Add(time.Second))
	w := h.warning(now.Add(2 * time.Second))
	if !strings.Contains(w, "AWS STS is failing since 2026-03-01T09:00:00Z (2 failed calls") || !strings.Contains(w, sts.ReasonTimeout) {
		t.Fatalf("warning %q", w)
	}
	if w := h.warning(now.Add(awsOutageWindow + 2*time.Second)); w != "" {
		t.Errorf("an outage nobody has seen for %s still warns: %q", awsOutageWindow, w)
	}
	h.record(ctx, "AWS STS", refused, false, now.Add(3*time.Second))
	if w := h.warning(now.Add(3 * time.Second)); w != "" {
		t.Errorf("a refusal is AWS answering: the outage is over: %q", w)
	}
	h.record(ctx, "AWS STS", timeout, true, now.Add(3*time.Second))
	h.record(ctx, "AWS STS", nil, false, now.Add(4*time.Second))
	if w := h.warning(now.Add(4 * time.Second)); w != "" {
		t.Errorf("a success did not end the outage: %q", w)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	h.record(gone, "AWS STS", timeout, true, now.Add(5*time.Second))
	if w := h.warning(now.Add(5 * time.Second)); w != "" {
		t.Errorf("a caller giving up counted as an outage: %q", w)
	}
}
