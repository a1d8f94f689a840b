package saml

import (
	"context"
	"sync"
	"time"

	"github.com/broker-dev/broker"
)

// memReplay is an in-memory ReplayCache for tests (the store has its own
// conformance suite).
type memReplay struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]time.Time
}

func newMemReplay(now func() time.Time) *memReplay {
	return &memReplay{now: now, m: map[string]time.Time{}}
}

func (r *memReplay) Remember(_ context.Context, ns, key string, exp time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := ns + "\x00" + key
	if e, ok := r.m[k]; ok && r.now().Before(e) {
		return broker.Errorf(broker.EREPLAY, "replay", "already used")
	}
	r.m[k] = exp
	return nil
}
