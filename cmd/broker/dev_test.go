package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// broker dev says what it is waiting for before the slow steps: on a
// fresh data directory that it is generating keys, then which servers it
// starts; a second run does not generate again.
func TestDevSaysWhatItIsWaitingFor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	start := func() (string, string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out, errb syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"dev", "--data-dir", dir, "--port", "0", "--idp-port", "0", "--oidc-port", "0", "--aws-port", "0", "--app-port", "0", "--log-level", "error"}, &out, &errb)
		}()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), "broker dev is running") && time.Now().Before(deadline) {
			select {
			case err := <-done:
				t.Fatalf("dev stopped: %v\n%s", err, errb.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("dev: %v\n%s", err, errb.String())
		}
		return out.String(), errb.String()
	}
	out, progress := start()
	if !strings.Contains(out, "broker dev is running") {
		t.Fatalf("never ran:\n%s\n%s", out, progress)
	}
	first := "broker dev: first run: generating signing keys and demo passwords in " + dir
	starting := "broker dev: starting the demo IdP on 127.0.0.1:0, the demo OP on 127.0.0.1:0"
	if !strings.HasPrefix(progress, first) || !strings.Contains(progress, starting) {
		t.Fatalf("first run says:\n%s", progress)
	}
	_, progress = start()
	if strings.Contains(progress, "first run") || !strings.HasPrefix(progress, starting) {
		t.Fatalf("second run says:\n%s", progress)
	}
}
