package oidc

import (
	"context"
	"testing"
	"time"

	"github.com/broker-dev/broker/metrics"
)

// TestDiscoveryInMetrics: a failed discovery is counted; the success
// records its time.
func TestDiscoveryInMetrics(t *testing.T) {
	f := newFakeOP(t)
	m := metrics.New(metrics.Config{})
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.mu.Lock()
	f.issuer = "https://not-the-configured-issuer.example.com"
	f.mu.Unlock()
	p := newRP(t, f, func(c *Config) { c.Metrics, c.Now = m, func() time.Time { return at } })
	if _, err := p.discover(context.Background(), true); err == nil {
		t.Fatal("discovery with the wrong issuer succeeded")
	}
	f.mu.Lock()
	f.issuer = ""
	f.mu.Unlock()
	if _, err := p.discover(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	s, _ := m.Snapshot()
	match := map[string]string{"kind": "oidc", "provider": p.ID()}
	if got := metrics.Sum(s, "broker_idp_metadata_refresh_failures_total", match); got != 1 {
		t.Errorf("failures = %v, want 1", got)
	}
	if got := metrics.Sum(s, "broker_idp_metadata_last_success_timestamp_seconds", match); got != float64(at.Unix()) {
		t.Errorf("discovered at %v, want %v", got, at.Unix())
	}
}
