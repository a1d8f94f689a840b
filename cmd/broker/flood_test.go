package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

// A small flood runs to its count, on loopback, and reports the store.
func TestLoadtestFlood(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"loadtest", "--flood", "--requests", "60", "--concurrency", "4", "--duration", "60s", "--data-dir", t.TempDir()}, &out, &errb)
	if err != nil {
		t.Fatalf("flood: %v\n%s%s", err, out.String(), errb.String())
	}
	t.Log("\n" + out.String())
	// Half the posts are not SAML at all (400, malformed), half a signed
	// response with one byte changed (401, signature).
	m := regexp.MustCompile(`posted +(\d+) in .*answers: 400 x(\d+), 401 x(\d+)\n`).FindStringSubmatch(out.String())
	if m == nil || m[1] != "60" || m[2] != "30" || m[3] != "30" {
		t.Fatalf("want 60 posts answered 400 x30, 401 x30:\n%s", out.String())
	}
	a := regexp.MustCompile(`audit +(\d+) failed sign-ins recorded in (\d+) audit events`).FindStringSubmatch(out.String())
	if a == nil || a[1] != "60" {
		t.Fatalf("want the 60 failures in the audit log:\n%s", out.String())
	}
	// Two kinds of bad response from one address: the first of each is
	// audited as it is, the rest counted into one event each.
	if events, _ := strconv.Atoi(a[2]); events != 4 {
		t.Fatalf("%d audit events for 60 failures of 2 kinds, want 4", events)
	}
	for _, want := range []string{"store before  db ", "after   db ", "upkeep  db "} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}

// The flood's bounds are enforced.
func TestLoadtestFloodBounds(t *testing.T) {
	for _, args := range [][]string{
		{"--requests", "0"}, {"--requests", "1000001"}, {"--duration", "11m"}, {"--concurrency", "0"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"loadtest", "--flood", "--data-dir", t.TempDir()}, args...), &out, &errb)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}
