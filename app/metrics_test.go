package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/store"
)

// By default /metrics is on the public listener, with the broker's series.
func TestMetricsOnThePublicListener(t *testing.T) {
	a, err := New(context.Background(), testConfig(t, ""), Options{Version: "v9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rec := httptest.NewRecorder()
	a.Web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{`broker_build_info{go_version=`, `version="v9.9.9"`, "broker_rules_loaded 1", `broker_store_operation_duration_seconds_count{operation="Rules"}`} {
		if rec.Code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics %d lacks %q", rec.Code, want)
		}
	}
}

// With server.metrics_listen, /metrics is served there alone and the
// public listener has none; live sessions are counted at start.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Server.MetricsListen = "127.0.0.1:0"
	a, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now()
	for _, id := range []string{"a", "b"} {
		if err := a.Store.CreateSession(context.Background(), &store.Session{ID: id, Subject: "alice", Provider: "saml-idp", Data: []byte("x"),
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.ServeWith(ctx, ln, mln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	get := func(addr string) (int, string) {
		t.Helper()
		// The listener is open before ServeWith: a connection waits in its
		// backlog until the server accepts it.
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get(mln.Addr().String())
	if code != http.StatusOK || !strings.Contains(body, "broker_active_sessions 2") {
		t.Errorf("metrics listener: %d, active sessions line missing:\n%.400s", code, body)
	}
	if code, _ := get(ln.Addr().String()); code != http.StatusNotFound {
		t.Errorf("public listener /metrics: %d, want 404 with metrics_listen set", code)
	}
}
