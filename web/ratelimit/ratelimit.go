// Package ratelimit limits how often one client may use an endpoint: a
// token bucket per key (the client's address, as web's IP extractor sees
// it behind server.trusted_proxies), with a bounded number of keys so a
// flood of addresses cannot grow memory without bound.
//
//	request ──> key (client address) ──> bucket: Rate per minute, Burst at once
//	        ──> allowed: on to the handler
//	        ──> refused: 429 Too Many Requests, Retry-After: seconds until a token
//
// Limits are per instance: behind a load balancer with N instances a
// client can make up to N times the rate.
package ratelimit

import (
	"math"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/broker-dev/broker/metrics"
)

// Limit is how often one key may act: PerMinute on average, Burst at once.
// A PerMinute of 0 means no limit.
type Limit struct {
	PerMinute int
	Burst     int
}

// Off reports whether the limit is disabled.
func (l Limit) Off() bool { return l.PerMinute <= 0 }

// DefaultMaxKeys bounds the number of keys tracked at once.
const DefaultMaxKeys = 10000

// Limiter is a set of token buckets, one per key. It is safe for
// concurrent use.
type Limiter struct {
	limit   Limit
	maxKeys int
	now     func() time.Time
	metrics *metrics.Metrics

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns a limiter; maxKeys <= 0 means DefaultMaxKeys, now nil means
// time.Now.
func New(l Limit, maxKeys int, now func() time.Time) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	if l.Burst <= 0 {
		l.Burst = 1
	}
	return &Limiter{limit: l, maxKeys: maxKeys, now: now, buckets: map[string]*bucket{}}
}

// Counting makes l count its refusals in m (by the limit's name) and
// returns l; call it before l is used. A nil l stays nil.
func (l *Limiter) Counting(m *metrics.Metrics) *Limiter {
	if l != nil {
		l.metrics = m
	}
	return l
}

// Allow takes a token from key's bucket. When there is none it returns
// false and how long until there will be one.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil || l.limit.Off() {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.limit.PerMinute)/60), l.limit.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict drops the buckets that are full again (their keys have been quiet
// long enough to have every token back) and, if that frees nothing, the
// least recently seen half. Called with mu held.
func (l *Limiter) evict(now time.Time) {
	refill := time.Duration(math.Ceil(float64(l.limit.Burst) / float64(l.limit.PerMinute) * float64(time.Minute)))
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= refill {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.maxKeys {
		return
	}
	var cutoff time.Time
	times := make([]time.Time, 0, len(l.buckets))
	for _, b := range l.buckets {
		times = append(times, b.seen)
	}
	cutoff = median(times)
	for k, b := range l.buckets {
		if !b.seen.After(cutoff) {
			delete(l.buckets, k)
		}
	}
}

// Len is the number of keys tracked now.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func median(ts []time.Time) time.Time {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts[len(ts)/2]
}
