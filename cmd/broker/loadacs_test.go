package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/broker-dev/broker/devstack"
)

// loadACSStack is a dev stack and an IdP directory holding its demo IdP's
// key: responses signed with it are ones the broker trusts.
func loadACSStack(t *testing.T) (*devstack.Stack, string, []string) {
	t.Helper()
	data := t.TempDir()
	st, err := devstack.Start(context.Background(), devstack.Options{DataDir: data, NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	idp := t.TempDir()
	for from, to := range map[string]string{"demo-idp.key": loadIdPKey, "demo-idp.crt": loadIdPCert} {
		b, err := os.ReadFile(filepath.Join(data, "keys", from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(idp, to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(idp, loadIdPMetadata), st.IdP.Metadata(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"loadtest", "acs", "--sp-entity-id", st.BrokerURL + "/saml/demo/metadata", "--acs-url", st.BrokerURL + "/saml/demo/acs",
		"--count", "30", "--concurrency", "4", "--accept", "status=303 location=^/arrive$", "--pids", "self"}
	return st, idp, args
}

// A small run against an in-process broker: every fresh signed response
// is accepted (303 to /arrive) and the report has all its figures.
func TestLoadACSAccepted(t *testing.T) {
	_, idp, args := loadACSStack(t)
	var out, errb bytes.Buffer
	if err := run(context.Background(), append(args, "--idp", idp), &out, &errb); err != nil {
		t.Fatalf("loadtest acs: %v\n%s%s", err, out.String(), errb.String())
	}
	t.Log("\n" + out.String())
	s := out.String()
	// The responses are the shape: about 12 KB each.
	m := regexp.MustCompile(`30 responses \((\d+)\.\d KB each`).FindStringSubmatch(s)
	if m == nil || (m[1] != "11" && m[1] != "12" && m[1] != "13") {
		t.Errorf("responses are not about 12 KB:\n%s", s)
	}
	res := regexp.MustCompile(`result: accepted=30 refused=0 cpu_ms=(\d+\.\d+) rps=\d+\.\d p50_ms=\d+\.\d p90_ms=\d+\.\d p99_ms=\d+\.\d max_ms=\d+\.\d\n`).FindStringSubmatch(s)
	if res == nil || res[1] == "0.00" {
		t.Fatalf("want 30 accepted, none refused, a CPU figure above 0 and every latency:\n%s", s)
	}
	for _, want := range []string{"  accepted     30\n", "  refused      0\n", "  responses/s  ", "  latency      p50 ", " per accepted response ("} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in:\n%s", want, s)
		}
	}
}

// Responses from the broker's IdP's entity ID signed with a key the broker
// does not trust are refused, counted, and the command fails.
func TestLoadACSRefusedUntrustedKey(t *testing.T) {
	st, _, args := loadACSStack(t)
	other := t.TempDir()
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"loadtest", "acs", "--write-idp", other, "--idp-entity-id", st.IdP.EntityID()}, &out, &errb); err != nil {
		t.Fatalf("--write-idp: %v\n%s", err, errb.String())
	}
	for _, f := range []string{loadIdPKey, loadIdPCert, loadIdPMetadata} {
		if fi, err := os.Stat(filepath.Join(other, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi, err)
		}
	}
	out.Reset()
	err := run(context.Background(), append(args, "--idp", other), &out, &errb)
	t.Log("\n" + out.String())
	if err == nil || !strings.Contains(err.Error(), "30 of 30 responses not accepted") {
		t.Fatalf("err %v, want 30 of 30 not accepted", err)
	}
	// The broker answers a bad signature 401 (see TestLoadtestFlood).
	if !strings.Contains(out.String(), "  refused      30\n") || !strings.Contains(out.String(), "   30 x status 401\n") ||
		!strings.Contains(out.String(), "result: accepted=0 refused=30 ") {
		t.Fatalf("want 30 refused with status 401:\n%s", out.String())
	}
}

// The load test only targets loopback and refuses unbounded runs.
func TestLoadACSBounds(t *testing.T) {
	base := []string{"loadtest", "acs", "--idp", t.TempDir(), "--sp-entity-id", "https://sp.example.com"}
	for _, extra := range [][]string{
		{"--acs-url", "https://sp.example.com/acs"},
		{"--acs-url", "http://10.0.0.1/acs"},
		{"--acs-url", "http://127.0.0.1:1/acs", "--count", "0"},
		{"--acs-url", "http://127.0.0.1:1/acs", "--count", "100001"},
		{"--acs-url", "http://127.0.0.1:1/acs", "--max-duration", "2h"},
		{"--acs-url", "http://127.0.0.1:1/acs", "--accept", "status=abc"},
		{"--acs-url", "http://127.0.0.1:1/acs", "--accept", "colour=red"},
		{"--acs-url", "http://127.0.0.1:1/acs", "--pids", "x"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), append(append([]string{}, base...), extra...), &out, &errb)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: err %v, want a usage error", extra, err)
		}
		// main exits 2 on a usage error without printing it: the
		// command says what is wrong.
		if err != nil && !strings.Contains(errb.String(), err.Error()) {
			t.Errorf("%v: stderr %q does not say %q", extra, errb.String(), err)
		}
	}
}

// --process finds processes by name (this test binary) and counts the CPU
// they use between the first and the last sample.
func TestLoadACSProcessCPU(t *testing.T) {
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skip("no /proc")
	}
	p, err := newProcSet("", "^"+regexp.QuoteMeta(strings.TrimSpace(string(comm)))+"$")
	if err != nil {
		t.Fatal(err)
	}
	p.sample()
	// Burn 300 ms of this process's CPU (getrusage), however long the
	// shared machine takes to give it.
	used := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	x, from := 0, used()
	for deadline := time.Now().Add(20 * time.Second); used()-from < 300*time.Millisecond && time.Now().Before(deadline); {
		x++
	}
	burnt := used() - from
	p.sample()
	cpu, n := p.total()
	// /proc counts in 10 ms ticks; the test binary's other goroutines
	// may add a little.
	if n < 1 || cpu < burnt-50*time.Millisecond || cpu > burnt+2*time.Second {
		t.Fatalf("%d processes, %s of CPU after burning %s (x=%d)", n, cpu, burnt, x)
	}
	if q, _ := newProcSet("", "^no-such-process-name$"); func() bool { q.sample(); _, n := q.total(); return n != 0 }() {
		t.Fatal("a name nothing has matched a process")
	}
}
