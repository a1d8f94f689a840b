package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The alert rules pass Prometheus's own checks (promtool check rules:
// PromQL parses, templates compile, no duplicate rules) and their unit
// tests (promtool test rules prometheus/alerts_test.yaml: every alert
// fires on synthetic series made to trip it and stays quiet on its
// nearest harmless case and before its for: has passed).
func TestAlertRulesPromtool(t *testing.T) {
	promtool := needTool(t, "promtool")
	dir := filepath.Join(repoRoot(t), "deploy", "prometheus")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("check", "rules", "alerts.yaml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules: no SUCCESS in\n%s", out)
	}
	out = run("test", "rules", "alerts_test.yaml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: no SUCCESS in\n%s", out)
	}

	// Every alert has a unit test that expects it to fire.
	rules, err := os.ReadFile(filepath.Join(dir, "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join(dir, "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\S+)$`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 5 {
		t.Fatalf("only %d alerts in alerts.yaml", len(alerts))
	}
	for _, a := range alerts {
		fires := regexp.MustCompile(`alertname: ` + regexp.QuoteMeta(a[1]) + `\n\s+exp_alerts:`)
		nfire := len(fires.FindAllIndex(tests, -1))
		nall := strings.Count(string(tests), "alertname: "+a[1]+"\n")
		if nfire == 0 || nall-nfire == 0 {
			t.Errorf("alerts_test.yaml: %s fires in %d cases and stays quiet in %d, want at least one of each", a[1], nfire, nall-nfire)
		}
	}
}
