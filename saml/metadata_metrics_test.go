package saml

import (
	"context"
	"testing"
	"time"

	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/metrics"
)

// TestMetadataAgeInMetrics: the metrics say when the copy in use was
// fetched (the stored copy's time while the URL is down) and count each
// failed refresh.
func TestMetadataAgeInMetrics(t *testing.T) {
	clock := newTestClock(t, t0)
	doc := mdDoc{keys: []issuer.KeyPair{newKey(t, "idp")}, validUntil: t0.Add(24 * time.Hour)}.xml()
	srv := newMDServer(t, doc)
	cache := newMemCache()
	m := metrics.New(metrics.Config{})
	withMetrics := func(c *Config) { c.Metrics = m }
	fetchedAt := func() float64 {
		s, _ := m.Snapshot()
		return metrics.Sum(s, "broker_idp_metadata_last_success_timestamp_seconds", map[string]string{"kind": "saml", "provider": "okta"})
	}
	failures := func() float64 {
		s, _ := m.Snapshot()
		return metrics.Sum(s, "broker_idp_metadata_refresh_failures_total", map[string]string{"kind": "saml", "provider": "okta"})
	}

	urlSP(t, srv.URL, clock, cache, withMetrics)
	if got := fetchedAt(); got != float64(t0.Unix()) {
		t.Fatalf("fetched at %v, want %v", got, t0.Unix())
	}
	srv.setDown(true)
	clock.Advance(time.Hour)
	sp, _, _ := urlSP(t, srv.URL, clock, cache, withMetrics) // starts on the stored copy
	if got := fetchedAt(); got != float64(t0.Unix()) {
		t.Errorf("on the stored copy: fetched at %v, want the stored copy's %v", got, t0.Unix())
	}
	clock.Advance(time.Minute)
	_ = sp.Refresh(context.Background())
	if got := failures(); got != 2 {
		t.Errorf("failures = %v, want 2 (the start and the refresh)", got)
	}
	srv.setDown(false)
	clock.Advance(time.Minute)
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fetchedAt(); got != float64(clock.Now().Unix()) {
		t.Errorf("after recovery: fetched at %v, want %v", got, clock.Now().Unix())
	}
}
