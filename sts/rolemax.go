package sts

import (
	"sync"
	"time"
)

// Bounds of the role-maximum cache.
const (
	// roleMaxTTL is how long a learned maximum is trusted. AWS never says a
	// role's MaxSessionDuration, only that a request exceeded it, and a
	// later success at a longer duration is never attempted, so the only
	// way to notice an administrator raising the maximum is to forget.
	roleMaxTTL = time.Hour
	// roleMaxEntries bounds the cache's memory: one entry per role ARN.
	roleMaxEntries = 4096
)

// roleMaxCache remembers, per role ARN, a duration the role is known to
// allow after AWS refused a longer one (in practice 1 h: every role allows
// it). Safe for concurrent use; bounded in size and time.
type roleMaxCache struct {
	mu sync.Mutex
	m  map[string]roleMax
}

type roleMax struct {
	max     time.Duration
	expires time.Time
}

// get returns the learned maximum for role, if one is live.
func (c *roleMaxCache) get(role string, now time.Time) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[role]
	if !ok || !now.Before(e.expires) {
		return 0, false
	}
	return e.max, true
}

// put records that role allows max (and refused something longer).
func (c *roleMaxCache) put(role string, max time.Duration, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]roleMax{}
	}
	if _, ok := c.m[role]; !ok && len(c.m) >= roleMaxEntries {
		c.evictLocked(now)
	}
	c.m[role] = roleMax{max: max, expires: now.Add(roleMaxTTL)}
}

// evictLocked drops the expired entries, or, when none has expired, the
// one that expires first.
func (c *roleMaxCache) evictLocked(now time.Time) {
	var oldest string
	var oldestExp time.Time
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
			continue
		}
		if oldest == "" || e.expires.Before(oldestExp) {
			oldest, oldestExp = k, e.expires
		}
	}
	if len(c.m) >= roleMaxEntries {
		delete(c.m, oldest)
	}
}

// len is the number of entries (tests).
func (c *roleMaxCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
