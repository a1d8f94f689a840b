package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// --report-every prints a line per interval with RSS, goroutines, open
// files and the store's size.
func TestLoadtestReportEvery(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"loadtest", "--duration", "3500ms", "--report-every", "1s", "--concurrency", "2", "--data-dir", t.TempDir()}, &out, &errb)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s%s", err, out.String(), errb.String())
	}
	t.Log("\n" + out.String())
	lines := regexp.MustCompile(`(?m)^  \d+s +(\d+) +[\d.]+ +[\d.]+ MiB +[\d.]+ MiB +(\d+) +(\d+) +[\d.]+ MiB$`).FindAllStringSubmatch(out.String(), -1)
	if len(lines) < 3 {
		t.Fatalf("want a report line a second:\n%s", out.String())
	}
	for _, l := range lines {
		if l[1] == "0" || l[3] == "0" {
			t.Errorf("a report line with no logins or no open files: %q", l[0])
		}
	}
	// Under each line, where the memory is: the live heap, what Go has
	// mapped, and what is outside Go; and no CPU profile in a soak (its
	// own memory grows with the run).
	mem := regexp.MustCompile(`(?m)^ +live heap [\d.]+ MiB, Go-managed [\d.]+ MiB, outside Go \(SQLite's C memory, binary\) [\d.]+ MiB$`).FindAllString(out.String(), -1)
	if len(mem) != len(lines) {
		t.Errorf("%d memory lines for %d report lines:\n%s", len(mem), len(lines), out.String())
	}
	if !strings.Contains(out.String(), "CPU per login: not measured in a soak") {
		t.Errorf("a soak ran the CPU profile:\n%s", out.String())
	}
}
