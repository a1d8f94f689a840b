package simplesamlphp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/issuer"
)

// providerID is the broker's id for the SimpleSAMLphp IdP: its SP
// endpoints are EXTERNAL/saml/ssp/{metadata,acs,login,slo}.
const providerID = "ssp"

// The AWS account and role the test's rule grants to members.
const (
	account = "111122223333"
	role    = "Developer"
)

// stack is a broker whose SAML provider is a running SimpleSAMLphp.
type stack struct {
	BrokerURL string
	App       *app.App
	IdP       *ssp
	spKey     issuer.KeyPair // the broker's SP key (tests sign as the broker with it)
	log       *syncBuffer
}

// syncBuffer collects the broker's log for failure messages.
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

// people are SimpleSAMLphp's users in every test.
func people(t *testing.T) []person {
	return []person{
		{Username: "alice", Password: randomHex(t, 8), Attributes: map[string][]string{
			"uid": {"alice"}, "mail": {"alice@example.org"}, "displayName": {"Alice Interop"},
			"eduPersonAffiliation": {"member", "staff"}, "groups": {"engineering"},
		}},
		{Username: "bob", Password: randomHex(t, 8), Attributes: map[string][]string{
			"uid": {"bob"}, "mail": {"bob@example.org"}, "displayName": {"Bob Interop"},
			"eduPersonAffiliation": {"affiliate"}, "groups": {"visitors"},
		}},
	}
}

// startStack starts SimpleSAMLphp and a broker (SQLite store in a temp
// directory) that uses it as its SAML IdP "ssp", with an SP key that signs
// AuthnRequests (and logout messages), and waits until the broker has
// loaded SimpleSAMLphp's metadata.
func startStack(t *testing.T) *stack {
	t.Helper()
	needSSP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() }) // Serve closes it too; this is for a failure before
	// The broker is named localhost and SimpleSAMLphp 127.0.0.1: two hosts,
	// so their cookies stay apart in the browser's jar, as on two sites.
	s := &stack{BrokerURL: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port), log: &syncBuffer{}}
	spBase := s.BrokerURL + "/saml/" + providerID
	spKey, err := issuer.GenerateKeyPair("broker interop SP", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.spKey = spKey
	s.IdP = startSSP(t, people(t), sp{
		EntityID: spBase + "/metadata", ACS: spBase + "/acs", SLO: spBase + "/slo", CertificatePEM: spKey.CertificatePEM(),
	})

	dir := t.TempDir()
	issuerKey, err := issuer.GenerateKeyPair("broker interop issuer", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"session.key": randomKey(t), "store.key": randomKey(t),
		"sp.key": spKey.KeyPEM(), "sp.crt": spKey.CertificatePEM(),
		"issuer.key": issuerKey.KeyPEM(), "issuer.crt": issuerKey.CertificatePEM(),
		"broker.yaml": []byte(brokerYAML(ln.Addr().String(), s.BrokerURL, s.IdP.MetadataURL)),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, probs := config.Load(filepath.Join(dir, "broker.yaml"))
	if errs := probs.Errors(); len(errs) > 0 {
		t.Fatalf("broker config: %v", errs)
	}
	logger := slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s.App, err = app.New(ctx, cfg, app.Options{Logger: logger})
	if err != nil {
		t.Fatalf("start the broker: %v", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.App.Serve(runCtx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("broker: %v", err)
		}
		s.App.Close()
		if t.Failed() {
			t.Logf("broker log:\n%s", clip(s.log.String(), 20000))
		}
	})
	waitReady(t, s)
	return s
}

// waitReady waits until the broker has SimpleSAMLphp's metadata.
func waitReady(t *testing.T, s *stack) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := s.App.SAML[providerID].Ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker did not load SimpleSAMLphp's metadata: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func brokerYAML(listen, external, metadataURL string) string {
	return fmt.Sprintf(`server:
  listen: %q
  external_url: %q
  session_keys: [file:session.key]
store:
  driver: sqlite
  dsn: broker.db
  encryption_keys: [file:store.key]
issuer:
  saml: {key: file:issuer.key, certificate: file:issuer.crt}
portal:
  # The portal lists the one role instead of opening the AWS console
  # (there is no AWS here).
  auto_select_single_role: false
providers:
  - id: %s
    label: SimpleSAMLphp
    type: saml
    metadata_url: %q
    sp_key: file:sp.key
    sp_certificate: file:sp.crt
    sign_requests: true
accounts:
  - {id: %q, alias: sandbox, label: Sandbox}
rules:
  - name: members
    providers: [%s]
    when:
      all:
        - {attribute: eduPersonAffiliation, equals: member}
    grant: {account: sandbox, role: %s, label: Developer}
`, listen, external, providerID, metadataURL, account, providerID, role)
}

// randomKey is 32 random bytes, base64 (session and store keys).
func randomKey(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(b))
}
