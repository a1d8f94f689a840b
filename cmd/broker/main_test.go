package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
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

// Every command in the dispatch table (and each of its subcommands) answers
// --help with exit 0, its usage line and its own flags, each described;
// the top-level usage names it.
func TestEveryCommandHelp(t *testing.T) {
	for _, c := range commands() {
		names := [][]string{{c.name}}
		if len(c.subs) > 0 {
			names = nil
			for _, s := range c.subs {
				names = append(names, []string{c.name, s})
			}
		}
		if !strings.Contains(usage, "broker "+c.name) {
			t.Errorf("the usage does not mention broker %s", c.name)
		}
		for _, name := range names {
			for _, help := range []string{"--help", "-h"} {
				t.Run(strings.Join(name, " ")+" "+help, func(t *testing.T) {
					var out, errb bytes.Buffer
					if err := run(context.Background(), append(slices.Clone(name), help), &out, &errb); err != nil {
						t.Fatalf("exit: %v\n%s", err, errb.String())
					}
					text := out.String() + errb.String()
					if c.name == "help" || c.name == "version" {
						return
					}
					if !strings.HasPrefix(text, "Usage: broker "+strings.Join(name, " ")) {
						t.Fatalf("help does not start with its usage line:\n%s", text)
					}
					lines := strings.Split(text, "\n")
					for i, l := range lines {
						if !strings.HasPrefix(l, "  -") {
							continue
						}
						desc := ""
						if _, d, ok := strings.Cut(l, "\t"); ok {
							desc = d
						} else if i+1 < len(lines) {
							desc = strings.TrimSpace(lines[i+1])
						}
						if len(desc) < 8 {
							t.Errorf("flag %q has no description", l)
						}
						// Only this subcommand's flags: none described as another's.
						for _, other := range c.subs {
							if strings.HasPrefix(desc, other+":") {
								t.Errorf("%v shows %s's flag %q", name, other, l)
							}
						}
					}
				})
			}
		}
	}
}

// Each of rules' and clients' subcommands shows only the flags it takes.
func TestSubcommandsShowOnlyTheirFlags(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		want, notWant []string
	}{
		{[]string{"rules", "export"}, []string{"-o FILE", "-config FILE", "-url URL"}, []string{"-f ", "-dry-run", "-allow-empty"}},
		{[]string{"rules", "apply"}, []string{"-f FILE", "-dry-run", "-allow-empty"}, []string{"-o "}},
		{[]string{"clients", "export"}, []string{"-o FILE"}, []string{"-f ", "-dry-run", "-allow-empty"}},
		{[]string{"clients", "apply"}, []string{"-f FILE", "-dry-run", "-allow-empty"}, []string{"-o "}},
		{[]string{"roles"}, []string{"-json", "-url URL"}, []string{"-role", "-config"}},
	} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), append(tc.args, "--help"), &out, &errb); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(errb.String(), "  "+w) {
				t.Errorf("%v --help lacks %q:\n%s", tc.args, w, errb.String())
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(errb.String(), "  "+w) {
				t.Errorf("%v --help shows %q:\n%s", tc.args, w, errb.String())
			}
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `broker: unknown command "frobnicate"`},
		{[]string{"rules", "frobnicate"}, `broker rules: unknown command "frobnicate"`},
		{[]string{"clients", "frobnicate"}, `broker clients: unknown command "frobnicate"`},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errb)
		var ue usageError
		if !errors.As(err, &ue) || !strings.HasPrefix(errb.String(), tc.want) {
			t.Errorf("%v: %v\n%s", tc.args, err, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"help", "check"}, &out, &errb); err != nil || !strings.Contains(errb.String(), "Usage: broker check --config FILE") {
		t.Errorf("help check: %v\n%s", err, errb.String())
	}
}

// TestLibraryLogsFollowTheBrokers: what a library logs through slog's
// default (zitadel's OP does) comes out in the broker's format and level,
// on the broker's stream, marked as a library's.
func TestLibraryLogsFollowTheBrokers(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	var buf bytes.Buffer
	if _, err := newLogger(&buf, "json", "warn"); err != nil {
		t.Fatal(err)
	}
	slog.Info("below the level")
	slog.Warn("from a library", "k", "v")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, buf.String())
	}
	if rec["msg"] != "from a library" || rec["component"] != "library" || rec["k"] != "v" {
		t.Fatalf("library log line: %v", rec)
	}
}

// TestServeGCPercent: broker serve collects at defaultGCPercent unless
// the operator set GOGC (any value, "off" included), which Go applies.
func TestServeGCPercent(t *testing.T) {
	for in, want := range map[string]int{"": defaultGCPercent, "100": 0, "off": 0, "800": 0} {
		if got := serveGCPercent(in); got != want {
			t.Errorf("GOGC=%q: %d, want %d", in, got, want)
		}
	}
}
