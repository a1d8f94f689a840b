package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/store"
)

// testConfig writes a config with one SAML IdP (metadata in a file), a
// rule and extra appended, in a directory of its own, and loads it.
func testConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	return testConfigAfterProviders(t, "rules:\n  - {name: r, always: true, grant: {account: \"111122223333\", role: R}}\n"+extra)
}

// testConfigAfterProviders is testConfig with tail written right after the
// saml-idp provider: more providers, accounts, rules.
func testConfigAfterProviders(t *testing.T, tail string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	kp, err := issuer.GenerateKeyPair("t", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert := strings.NewReplacer("-----BEGIN CERTIFICATE-----", "", "-----END CERTIFICATE-----", "", "\n", "").Replace(string(kp.CertificatePEM()))
	files := map[string]string{
		"key.pem": string(kp.KeyPEM()), "cert.pem": string(kp.CertificatePEM()),
		"session.key": randomKey(t), "store.key": randomKey(t),
		"md.xml": `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` + cert + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>`,
		"broker.yaml": `server:
  external_url: http://localhost:8080
  session_keys: [file:session.key]
store:
  dsn: broker.db
  encryption_keys: [file:store.key]
issuer:
  saml: {key: file:key.pem, certificate: file:cert.pem}
providers:
  - {id: saml-idp, metadata_file: md.xml}
` + tail,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, probs := config.Load(filepath.Join(dir, "broker.yaml"))
	if len(probs.Errors()) > 0 {
		t.Fatal(probs)
	}
	return cfg
}

// randomKey is 32 random bytes, base64.
func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Upkeep applies store.retention and compacts the SQLite file.
func TestUpkeepAppliesRetention(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	c := testConfig(t, "")
	c.Store.Retention.Audit = config.Period(30 * config.Day)
	a, err := New(ctx, c, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, age := range []time.Duration{31 * config.Day, 30 * config.Day, 29 * config.Day} {
		if err := a.Store.AppendAudit(ctx, &store.AuditEvent{Event: "signin", Result: store.ResultFailure, Reason: "r" + age.String(), Time: now.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	a.Upkeep(ctx)
	evs, err := a.Store.ListAudit(ctx, store.AuditFilter{Event: "signin"})
	if err != nil || len(evs) != 1 || evs[0].Reason != "r696h0m0s" {
		t.Fatalf("after upkeep %+v, %v; want the 29-day-old event only", evs, err)
	}
	u, err := a.Store.DiskUsage(ctx)
	if err != nil || u.WAL != 0 {
		t.Fatalf("after upkeep the WAL is %d bytes (%v), want truncated", u.WAL, err)
	}
}

// Repeated failed sign-ins are counted into one audit event, written at
// shutdown at the latest.
func TestServeFlushesFailedSignInCountsAtShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, testConfig(t, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	for range 5 {
		resp, err := http.PostForm("http://"+ln.Addr().String()+"/saml/saml-idp/acs", url.Values{"SAMLResponse": {"bm90IFNBTUw="}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Fatalf("a bad response got %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	evs, err := a.Store.ListAudit(context.Background(), store.AuditFilter{Event: "signin"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[1].Details != nil || evs[0].Details["count"] != "4" || evs[0].Reason != evs[1].Reason || evs[0].RemoteAddr != "127.0.0.1" {
		t.Fatalf("audit after 5 failures and a shutdown: %+v", evs)
	}
}
