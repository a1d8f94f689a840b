package config

import (
	"strings"
	"testing"
)

func TestMetricsListen(t *testing.T) {
	dir := writeIssuerKeys(t)
	with := func(v string) string {
		return strings.Replace(validYAML, "server:\n", "server:\n  metrics_listen: \""+v+"\"\n", 1)
	}
	cfg, probs := parse(t, dir, validYAML)
	if len(probs) != 0 || cfg.Server.MetricsListen != "" {
		t.Fatalf("default: %q %v", cfg.Server.MetricsListen, probs)
	}
	cfg, probs = parse(t, dir, with("127.0.0.1:9090"))
	if len(probs) != 0 || cfg.Server.MetricsListen != "127.0.0.1:9090" {
		t.Fatalf("127.0.0.1:9090: %q %v", cfg.Server.MetricsListen, probs)
	}
	for _, bad := range []string{"9090", ":8080"} {
		_, probs = parse(t, dir, with(bad))
		if !strings.Contains(probs.Error(), "server.metrics_listen") {
			t.Errorf("%q accepted: %v", bad, probs)
		}
	}
}
