package ruleset

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/metrics"
)

// TestRulesInMetrics: the revision and number of rules in force; a rule
// set that does not compile is a failure and leaves the previous numbers;
// a closed store is a failure of the store stage; a fresh instance on
// broken rules has no rules loaded.
func TestRulesInMetrics(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "m.db"))
	rev, err := apply(t, db, []mapping.Rule{devRule("devs", "dev", "Developer"), devRule("ops", "ops", "Operator")}, accounts)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(metrics.Config{})
	src, err := New(ctx, Config{Store: db, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	value := func(m *metrics.Metrics, name string, match map[string]string) float64 {
		s, _ := m.Snapshot()
		return metrics.Sum(s, name, match)
	}
	if r, n := value(m, "broker_rules_revision", nil), value(m, "broker_rules_loaded", nil); r != float64(rev) || n != 2 {
		t.Fatalf("revision %v rules %v, want %v and 2", r, n, rev)
	}
	if _, err := db.PutRule(ctx, "bad", []byte(`{"name":"bad","when":{"all":[{"attribute":"g","regex":"("}]},"grant":{"account":"sandbox","role":"X"}}`), 0, "mallory", ""); err != nil {
		t.Fatal(err)
	}
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f := value(m, "broker_rules_reload_failures_total", map[string]string{"stage": "compile"}); f != 1 {
		t.Errorf("compile failures %v, want 1", f)
	}
	if r, n := value(m, "broker_rules_revision", nil), value(m, "broker_rules_loaded", nil); r != float64(rev) || n != 2 {
		t.Errorf("after a broken edit: revision %v rules %v, want the previous %v and 2", r, n, rev)
	}

	fresh := metrics.New(metrics.Config{})
	if _, err := New(ctx, Config{Store: db, Metrics: fresh}); err != nil {
		t.Fatal(err)
	}
	if n := value(fresh, "broker_rules_loaded", nil); n != 0 || value(fresh, "broker_rules_reload_failures_total", nil) != 1 {
		t.Errorf("fresh instance on broken rules: %v rules loaded", n)
	}

	db.Close()
	if err := src.Refresh(ctx); err == nil {
		t.Fatal("refresh on a closed store succeeded")
	}
	if f := value(m, "broker_rules_reload_failures_total", map[string]string{"stage": "store"}); f != 1 {
		t.Errorf("store failures %v, want 1", f)
	}
}
