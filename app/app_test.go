package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/issuer"
)

// The broker starts while an OpenID Provider is down, says so on /readyz,
// and stays ready through its other IdPs.
func TestStartsWhileAnOPIsDown(t *testing.T) {
	dir := t.TempDir()
	kp, err := issuer.GenerateKeyPair("t", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert := strings.NewReplacer("-----BEGIN CERTIFICATE-----", "", "-----END CERTIFICATE-----", "", "\n", "").Replace(string(kp.CertificatePEM()))
	files := map[string]string{
		"key.pem": string(kp.KeyPEM()), "cert.pem": string(kp.CertificatePEM()),
		"k":      "74ZfCQCUuU92AOqaQCcRrfgvmsIJ4NupDVpU7E6jsFc=",
		"sk":     "4ZSLQtpY4p9gzvIJQpeznn96/+GQjF0jwUDHM4K1AGM=",
		"md.xml": `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` + cert + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>`,
		"broker.yaml": `server:
  external_url: http://localhost:8080
  session_keys: [file:k]
store:
  dsn: broker.db
  encryption_keys: [file:sk]
issuer:
  saml: {key: file:key.pem, certificate: file:cert.pem}
providers:
  - {id: saml-idp, metadata_file: md.xml}
  - {id: down-op, type: oidc, issuer: "http://127.0.0.1:1", client_id: broker}
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
	start := time.Now()
	a, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatalf("the broker did not start with an OP down: %v", err)
	}
	defer a.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("start-up took %s with an OP down", d)
	}
	rec := httptest.NewRecorder()
	a.Web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusOK || body.Checks["provider:down-op"] != "unavailable" || body.Checks["provider:saml-idp"] != "ok" || body.Checks["store"] != "ok" {
		t.Fatalf("readyz %d %s", rec.Code, rec.Body)
	}
	// Its sign-in link answers with a clear 503, not a hang or a crash.
	rec = httptest.NewRecorder()
	a.Web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oidc/down-op/login", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("login with the OP down: %d", rec.Code)
	}
}
