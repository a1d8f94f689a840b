package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// needTool finds a command; without it the test skips, or fails where CI
// asks for it (BROKER_REQUIRE_DEPLOY_TOOLS=1, .ci/run).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("BROKER_REQUIRE_DEPLOY_TOOLS") == "1" {
			t.Fatalf("%s is required here (BROKER_REQUIRE_DEPLOY_TOOLS=1): %v", name, err)
		}
		t.Skipf("no %s: %v", name, err)
	}
	return p
}

// broker.service is sandboxed: systemd-analyze's exposure score at most
// 2.0 ("OK"), and every directive known to this systemd.
func TestSystemdUnit(t *testing.T) {
	sa := needTool(t, "systemd-analyze")
	unit := filepath.Join(repoRoot(t), "deploy", "broker.service")
	out, err := exec.Command(sa, "security", "--offline=yes", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for broker\.service: ([0-9.]+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security: %.1f %s", score, m[2])
	if score > 2.0 {
		t.Errorf("exposure %.1f %s, want at most 2.0:\n%s", score, m[2], out)
	}
	// verify: unknown keys and bad values. The binary is not installed
	// here; that one complaint is expected.
	out, _ = exec.Command(sa, "verify", "--man=no", unit).CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" || strings.Contains(line, "/usr/local/bin/broker is not executable") {
			continue
		}
		t.Errorf("systemd-analyze verify: %s", line)
	}
	// The sandbox leaves the data directory writable, and the binary's
	// config where README puts it.
	data, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ReadWritePaths=/var/lib/broker", "StateDirectory=broker", "User=broker", "--config /etc/broker/broker.yaml", "UMask=0077"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("broker.service lacks %q", want)
		}
	}
}
