package main

import (
	"bytes"
	"context"
	"regexp"
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
}
