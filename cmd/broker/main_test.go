package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker/issuer"
)

// Two keys from `openssl rand -base64 32`: the cookie key and the store's.
const (
	key32      = "74ZfCQCUuU92AOqaQCcRrfgvmsIJ4NupDVpU7E6jsFc="
	storeKey32 = "4ZSLQtpY4p9gzvIJQpeznn96/+GQjF0jwUDHM4K1AGM="
)

// writeConfig writes a config with a file-metadata IdP and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	kp, err := issuer.GenerateKeyPair("idp", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"idp.key": kp.KeyPEM(), "idp.crt": kp.CertificatePEM(), "session.key": []byte(key32), "store.key": []byte(storeKey32),
		"md.xml": []byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
			strings.TrimSpace(strings.NewReplacer("-----BEGIN CERTIFICATE-----", "", "-----END CERTIFICATE-----", "", "\n", "").Replace(string(kp.CertificatePEM()))) +
			`</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>`),
		"broker.yaml": []byte(body)}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "broker.yaml")
}

const goodConfig = `server:
  listen: 127.0.0.1:0
  external_url: http://localhost:8080
  session_keys: ["file:session.key"]
store:
  dsn: broker.db
  encryption_keys: ["file:store.key"]
issuer:
  saml: {key: "file:idp.key", certificate: "file:idp.crt"}
providers:
  - {id: okta, metadata_file: md.xml}
rules:
  - name: devs
    when: {all: [{attribute: groups, equals: dev}]}
    grant: {account: "111122223333", role: Developer}
`

func TestCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"check", "--config", writeConfig(t, goodConfig)}, &out, &errb); err != nil {
		t.Fatalf("check failed on a good config: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok (1 provider(s), 1 rule(s)") {
		t.Errorf("output %q", out.String())
	}
	bad := strings.NewReplacer("equals: dev", "regex: '(dev'", "http://localhost:8080", "http://example.com").Replace(goodConfig)
	out.Reset()
	path := writeConfig(t, bad)
	err := run(context.Background(), []string{"check", "--config", path}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "2 error(s)") {
		t.Fatalf("err %v\n%s", err, out.String())
	}
	for _, want := range []string{path + ":3:3: error: server.external_url", path + ":14:38: error: rules[0].when.all[0].regex: rule devs: invalid regular expression"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while serve writes logs to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeStartsAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", writeConfig(t, goodConfig)}, &out, &errb) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "broker started") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), `"msg":"broker started"`) {
		t.Fatalf("no start log:\n%s", errb.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{nil, {"frobnicate"}, {"serve"}, {"check"}, {"serve", "--nope"}} {
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if err := run(context.Background(), []string{"version"}, &out, &errb); err != nil || !strings.Contains(out.String(), "broker") {
		t.Errorf("version: %v %q", err, out.String())
	}
}
