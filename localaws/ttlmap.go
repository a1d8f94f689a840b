package localaws

import (
	"sync"
	"time"
)

// sweepInterval is how often a ttlMap drops its expired entries.
const sweepInterval = time.Minute

// ttlMap is a concurrency-safe map whose entries expire. Memory is bounded
// by time, not by count: an entry is never evicted before it expires, and
// expired entries are swept at most once per sweepInterval, on writes.
type ttlMap[V any] struct {
	mu        sync.Mutex
	m         map[string]ttlEntry[V]
	nextSweep time.Time
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
}

func newTTLMap[V any]() *ttlMap[V] {
	return &ttlMap[V]{m: map[string]ttlEntry[V]{}}
}

// get returns the live entry for k.
func (t *ttlMap[V]) get(k string, now time.Time) (V, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[k]
	if !ok || !now.Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// putIfAbsent stores v under k until exp unless a live entry exists; it
// reports whether v was stored.
func (t *ttlMap[V]) putIfAbsent(k string, v V, exp, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(now)
	if e, ok := t.m[k]; ok && now.Before(e.exp) {
		return false
	}
	t.m[k] = ttlEntry[V]{v: v, exp: exp}
	return true
}

// take returns the live entry for k and removes it, atomically: of
// concurrent callers, exactly one gets it.
func (t *ttlMap[V]) take(k string, now time.Time) (V, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[k]
	delete(t.m, k)
	if !ok || !now.Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (t *ttlMap[V]) delete(k string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, k)
}

func (t *ttlMap[V]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

func (t *ttlMap[V]) sweepLocked(now time.Time) {
	if now.Before(t.nextSweep) {
		return
	}
	for k, e := range t.m {
		if !now.Before(e.exp) {
			delete(t.m, k)
		}
	}
	t.nextSweep = now.Add(sweepInterval)
}
