package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store"
)

// Two brokers starting together on one empty store: the config file's
// rules are seeded once, through the rule-administration service, with
// one audit event as "seed".
func TestSeedOnceWithAnAuditEventWhenTwoInstancesStart(t *testing.T) {
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
accounts:
  - {id: "111122223333", alias: sandbox}
  - {id: "444455556666", alias: prod}
rules:
  - {name: devs, when: {all: [{attribute: groups, equals: dev}]}, grant: {account: sandbox, role: Developer}}
  - {name: ops, when: {all: [{attribute: groups, equals: ops}]}, grant: {account: prod, role: Operator}}
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
	apps := make([]*App, 2)
	errs := make([]error, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range apps {
		wg.Go(func() {
			<-start
			apps[i], errs[i] = New(context.Background(), cfg, Options{})
		})
	}
	close(start)
	wg.Wait()
	for i, a := range apps {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		defer a.Close()
	}
	ctx := context.Background()
	evs, err := apps[0].Store.ListAudit(ctx, store.AuditFilter{Event: ruleset.EventRulesSeeded})
	if err != nil || len(evs) != 1 || evs[0].Subject != ruleset.SeedActor || evs[0].Message != "2 rules, 2 accounts" {
		t.Fatalf("seed audit: %+v %v", evs, err)
	}
	for _, name := range []string{"devs", "ops"} {
		h, _ := apps[1].Store.RuleHistory(ctx, name)
		if len(h) != 1 || h[0].Actor != ruleset.SeedActor {
			t.Fatalf("history of %s: %+v", name, h)
		}
	}
	for i, a := range apps {
		if err := a.Rules.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if st := a.Rules.State(); len(st.Rules) != 2 || st.CompileErr != nil {
			t.Fatalf("instance %d: %+v", i, st)
		}
	}
}
