package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBroker answers /healthz 200 and /readyz with readyStatus.
func fakeBroker(readyStatus int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(readyStatus)
		w.Write([]byte(`{"status":"not ready"}`))
	})
	mux.HandleFunc("/moved/healthz", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/healthz", http.StatusFound) })
	return mux
}

func healthcheck(args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"healthcheck"}, args...), &out, &errb)
	return out.String() + errb.String(), err
}

func TestHealthcheckURL(t *testing.T) {
	srv := httptest.NewServer(fakeBroker(http.StatusServiceUnavailable))
	defer srv.Close()
	out, err := healthcheck("--url", srv.URL)
	if err != nil || !strings.Contains(out, srv.URL+"/healthz: 200 OK") {
		t.Fatalf("healthy broker: %v %q", err, out)
	}
	// Not ready: exit 1 (a plain error, not a usage error), with the status.
	_, err = healthcheck("--url", srv.URL+"/", "--ready")
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "/readyz") {
		t.Fatalf("not ready: %v", err)
	}
	// A redirect is not healthy.
	if _, err := healthcheck("--url", srv.URL+"/moved"); err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("redirect: %v", err)
	}
	// Nobody listening.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := healthcheck("--url", "http://"+addr); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("nobody listening: %v", err)
	}
	for _, bad := range [][]string{{"--url", "ftp://x"}, {"--url", "http://"}, {"--url", srv.URL, "--config", "x.yaml"}} {
		if _, err := healthcheck(bad...); !errors.As(err, &ue) {
			t.Errorf("%v: want a usage error, got %v", bad, err)
		}
	}
}

func TestHealthcheckConfig(t *testing.T) {
	srv := httptest.NewServer(fakeBroker(http.StatusOK))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// ":PORT" (all interfaces) is checked on 127.0.0.1; the rest of the
	// config (secrets from the environment, here unset) is not loaded.
	cfg := write("broker.yaml", "server:\n  listen: \":"+port+"\"\n  session_keys: [\"env:BROKER_UNSET_FOR_TEST\"]\nstore: {dsn: broker.db}\n")
	out, err := healthcheck("--config", cfg, "--ready")
	if err != nil || !strings.Contains(out, "http://127.0.0.1:"+port+"/readyz: 200 OK") {
		t.Fatalf("--config: %v %q", err, out)
	}
	if _, err := healthcheck("--config", write("bad.yaml", "server:\n  listen: nope\n")); err == nil || !strings.Contains(err.Error(), "server.listen") {
		t.Errorf("bad listen: %v", err)
	}
	if _, err := healthcheck("--config", filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing config: no error")
	}
}

// A broker that serves HTTPS itself is checked over HTTPS, trusting the
// certificate of its tls_cert_file for the host of its external_url.
func TestHealthcheckTLS(t *testing.T) {
	srv := httptest.NewTLSServer(fakeBroker(http.StatusOK))
	defer srv.Close()
	dir := t.TempDir()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := func(external string) string {
		p := filepath.Join(dir, "broker.yaml")
		body := "server:\n  listen: " + srv.Listener.Addr().String() + "\n  external_url: " + external + "\n  tls_cert_file: tls.crt\n  tls_key_file: tls.key\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// httptest's certificate names example.com.
	if out, err := healthcheck("--config", cfg("https://example.com")); err != nil || !strings.Contains(out, "https://") {
		t.Fatalf("TLS: %v %q", err, out)
	}
	if _, err := healthcheck("--config", cfg("https://other.example.org")); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("TLS with a name the certificate lacks: %v", err)
	}
}
