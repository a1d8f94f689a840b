package saml

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker/metrics"
)

// retryBase is the first wait after a failed metadata refresh; each
// further failure doubles it, up to MetadataRefresh.
const retryBase = 30 * time.Second

// refresher is the state of the metadata refresh. mu makes refreshes take
// turns and guards the rest.
type refresher struct {
	mu       sync.Mutex
	failures int       // refreshes failed in a row
	fetched  time.Time // when the installed copy was fetched
	last     *copyInfo // the installed copy's content and keys (nil before any)
	// timer makes Run's timers (tests); nil = time.NewTimer.
	timer func(time.Duration) (<-chan time.Time, func() bool)
}

// Run refreshes URL metadata until ctx ends: after a success, every
// MetadataRefresh (sooner when the metadata's cacheDuration or validUntil
// asks); after a failure, with exponential backoff from 30 s up to
// MetadataRefresh. A failed refresh keeps the last good copy.
func (sp *ServiceProvider) Run(ctx context.Context) {
	if sp.cfg.IDPMetadataURL == "" {
		return
	}
	for {
		c, stop := sp.newTimer(sp.nextRefresh())
		select {
		case <-ctx.Done():
			stop()
			return
		case <-c:
		}
		_ = sp.Refresh(ctx)
	}
}

func (sp *ServiceProvider) newTimer(d time.Duration) (<-chan time.Time, func() bool) {
	if sp.refresh.timer != nil {
		return sp.refresh.timer(d)
	}
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// nextRefresh is how long Run waits before the next refresh: the regular
// delay of the copy in use; after failures the backoff, or the regular
// delay when a copy still valid would otherwise expire first.
func (sp *ServiceProvider) nextRefresh() time.Duration {
	r := &sp.refresh
	r.mu.Lock()
	failures := r.failures
	r.mu.Unlock()
	interval := sp.cfg.MetadataRefresh
	st := sp.state.Installed()
	if st == nil {
		return backoff(max(failures, 1), interval)
	}
	d := refreshDelay(st.md, sp.cfg.Now(), interval)
	if failures > 0 {
		if b := backoff(failures, interval); b < d || sp.state.Load() == nil {
			return b
		}
	}
	return d
}

// refreshDelay is when md wants refreshing after a success: every
// interval, sooner for its cacheDuration, and well before its validUntil
// (at three quarters of the time left), never sooner than 30 s.
func refreshDelay(md *saml.EntityDescriptor, now time.Time, interval time.Duration) time.Duration {
	d := interval
	if cd := md.CacheDuration; cd > 0 && cd < d {
		d = cd
	}
	if vu := md.ValidUntil; !vu.IsZero() {
		if left := vu.Sub(now) * 3 / 4; left < d {
			d = left
		}
	}
	return max(d, min(retryBase, interval))
}

// backoff is the wait after n failed refreshes in a row: 30 s, 1 m, 2 m,
// ... capped at limit.
func backoff(n int, limit time.Duration) time.Duration {
	d := retryBase
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Refresh loads the metadata now. On failure the previous copy stays in
// use; for URL metadata, a newer stored copy (from an earlier run or
// another instance) is used instead when there is one. The error is the
// failure to load from the configured source.
func (sp *ServiceProvider) Refresh(ctx context.Context) error {
	sp.refresh.mu.Lock()
	defer sp.refresh.mu.Unlock()
	now := sp.cfg.Now()
	data, source, err := sp.readMetadata(ctx)
	var md *saml.EntityDescriptor
	if err == nil {
		md, err = sp.acceptMetadata(data, now)
	}
	if err != nil {
		sp.refreshFailed(ctx, err)
		return err
	}
	sp.refreshed(ctx, md, data, source, now)
	return nil
}

// refreshed installs a fresh copy, says when it ends a run of failures,
// and saves URL metadata as the last good copy.
func (sp *ServiceProvider) refreshed(ctx context.Context, md *saml.EntityDescriptor, data []byte, source string, now time.Time) {
	r := &sp.refresh
	var stored *copyInfo
	if source == sourceURL {
		stored = sp.storedInfo(ctx)
	}
	sp.installCopy(ctx, md, source, now, stored)
	if r.failures > 0 {
		sp.log.Info(fmt.Sprintf("saml: metadata loaded again, recovered after %d failures", r.failures),
			"failures", r.failures, "entity_id", md.EntityID)
	}
	r.failures = 0
	sp.lastErr.Store(nil)
	if source == sourceURL {
		sp.saveCopy(ctx, data, now)
	}
}

// refreshFailed records a failed refresh, falls back to the stored copy
// where there is a newer usable one, and logs what is in use now.
func (sp *ServiceProvider) refreshFailed(ctx context.Context, err error) {
	r := &sp.refresh
	r.failures++
	sp.lastErr.Store(&err)
	sp.cfg.Metrics.IdPRefreshFailed(metrics.KindSAML, sp.cfg.ID)
	retry := backoff(r.failures, sp.cfg.MetadataRefresh)
	if sp.cfg.IDPMetadataURL == "" {
		sp.log.Error("saml: metadata unavailable", "err", err)
		return
	}
	if md, fetched := sp.useStoredCopy(ctx); md != nil {
		sp.log.Warn("saml: metadata refresh failed; using the stored copy", "fetched", fetched, "valid_until", validUntil(md),
			"entity_id", md.EntityID, "err", err, "failures", r.failures, "retry_in", retry)
		return
	}
	switch st := sp.state.Installed(); {
	case st == nil:
		sp.log.Error("saml: metadata unavailable", "err", err, "failures", r.failures, "retry_in", retry)
	case sp.state.Load() == nil:
		sp.log.Error("saml: metadata refresh failed and the last good copy has expired; sign-in is unavailable", "err", err,
			"valid_until", validUntil(st.md), "failures", r.failures, "retry_in", retry)
	default:
		sp.log.Warn("saml: metadata refresh failed, keeping the last good copy", "err", err, "fetched", r.fetched,
			"failures", r.failures, "retry_in", retry)
	}
}

// validUntil is md's validUntil for a log line ("none" when it has none).
func validUntil(md *saml.EntityDescriptor) any {
	if md.ValidUntil.IsZero() {
		return "none"
	}
	return md.ValidUntil
}
