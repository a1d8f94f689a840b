package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
)

// idpMetadata is an IdP's metadata listing kp as its signing key.
func idpMetadata(kp issuer.KeyPair, id string) string {
	return `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" ID="` + id + `" entityID="https://idp.example.com"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
		base64.StdEncoding.EncodeToString(kp.Certificate.Raw) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>`
}

// signed signs metadata with the broker's own XML signer.
func signed(t *testing.T, kp issuer.KeyPair, md string) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(md); err != nil {
		t.Fatal(err)
	}
	s, err := issuer.NewSigner(kp)
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.Sign(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	doc.SetRoot(root)
	out, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fingerprint(kp issuer.KeyPair) string {
	sum := sha256.Sum256(kp.Certificate.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// switchable serves a body the test changes, or 503.
type switchable struct {
	mu   sync.Mutex
	body string
}

func (s *switchable) set(b string) { s.mu.Lock(); s.body = b; s.mu.Unlock() }
func (s *switchable) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.body == "" {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte(s.body))
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func readyChecks(t *testing.T, a *App) map[string]string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("readyz %d %s", rec.Code, rec.Body)
	}
	return body.Checks
}

// The broker keeps each IdP's last good metadata in the store: restarted
// while the IdP's metadata URL is down, it uses that copy; a key rotation
// is audited; a provider that requires signed metadata refuses unsigned.
func TestIdPMetadataLastGoodCopyAndAudit(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	brokerKP, _ := issuer.GenerateKeyPair("broker", time.Hour, now)
	k1, _ := issuer.GenerateKeyPair("idp 1", time.Hour, now)
	k2, _ := issuer.GenerateKeyPair("idp 2", time.Hour, now)
	fed, _ := issuer.GenerateKeyPair("federation", time.Hour, now)
	okta, fedIdP := &switchable{body: idpMetadata(k1, "_a")}, &switchable{body: idpMetadata(k1, "_f")}
	oktaSrv, fedSrv := httptest.NewServer(okta), httptest.NewServer(fedIdP)
	defer oktaSrv.Close()
	defer fedSrv.Close()
	files := map[string]string{
		"key.pem": string(brokerKP.KeyPEM()), "cert.pem": string(brokerKP.CertificatePEM()), "fed.crt": string(fed.CertificatePEM()),
		"k": randomKey(t), "sk": randomKey(t),
		"broker.yaml": `server:
  external_url: http://localhost:8080
  session_keys: [file:k]
store:
  dsn: broker.db
  encryption_keys: [file:sk]
issuer:
  saml: {key: file:key.pem, certificate: file:cert.pem}
providers:
  - {id: okta, metadata_url: "` + oktaSrv.URL + `"}
  - {id: fed, metadata_url: "` + fedSrv.URL + `", metadata_signing_certificate: "file:fed.crt"}
rules:
  - {name: r, always: true, grant: {account: "111122223333", role: R}}
`,
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
	ctx := context.Background()

	// First start: okta loads and is stored; fed's metadata is unsigned.
	a, err := New(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := readyChecks(t, a); c["provider:okta"] != "ok" || c["provider:fed"] != "unavailable" {
		t.Fatalf("first start: %v", c)
	}
	fedIdP.set(signed(t, fed, idpMetadata(k1, "_f2")))
	if err := a.SAML["fed"].Refresh(ctx); err != nil {
		t.Fatalf("signed metadata refused: %v", err)
	}
	a.Close()

	// Both IdPs' metadata URLs are down; the broker restarts on the stored copies.
	okta.set("")
	fedIdP.set("")
	logs := &syncBuf{}
	a, err = New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if c := readyChecks(t, a); c["provider:okta"] != "ok" || c["provider:fed"] != "ok" {
		t.Fatalf("restart with the IdPs down: %v\n%s", c, logs)
	}
	if n := strings.Count(logs.String(), "using the stored copy"); n != 2 {
		t.Errorf("%d log lines say a stored copy is used, want 2:\n%s", n, logs)
	}

	// okta rotates its key: audited with the fingerprints before and after.
	okta.set(idpMetadata(k2, "_b"))
	if err := a.SAML["okta"].Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := a.Store.ListAudit(ctx, store.AuditFilter{Event: saml.EventMetadataChanged})
	if err != nil || len(events) != 1 {
		t.Fatalf("audit events %+v, %v; want one", events, err)
	}
	e := events[0]
	if e.Provider != "okta" || e.Result != store.ResultSuccess || e.Details["provider"] != "okta" || e.Details["keys_before"] != fingerprint(k1) ||
		e.Details["keys_after"] != fingerprint(k2) || e.Details["keys_changed"] != "true" || e.Details["source"] != oktaSrv.URL {
		t.Fatalf("audit event %+v", e)
	}
	if !strings.Contains(logs.String(), "recovered after 1 failures") || !strings.Contains(logs.String(), "IdP signing keys changed") {
		t.Errorf("recovery or key change not logged:\n%s", logs)
	}
}
