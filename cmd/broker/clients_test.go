package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/store"
)

const twoClients = `clients:
  - id: wiki
    name: Team wiki
    redirect_uris: [https://wiki.example.com/cb]
    scopes: [openid, email, groups]
    when: {all: [{attribute: groups, equals: dev}]}
  - id: tool
    public: true
    redirect_uris: ["http://127.0.0.1/cb"]
`

var secretLine = regexp.MustCompile(`secret of wiki: (\S+)`)

// export → apply round trip on SQLite stores: dry-run changes nothing,
// a new confidential app's secret is printed once, the exported file
// (hashes, not secrets) recreates the apps elsewhere with the same secret,
// problems are named by field, and an empty file needs --allow-empty.
func TestClientsExportApply(t *testing.T) {
	ctx := context.Background()
	cfg := writeConfig(t, goodConfig)
	dir := filepath.Dir(cfg)
	var out, errb bytes.Buffer
	clients := func(args ...string) error {
		t.Helper()
		out.Reset()
		errb.Reset()
		return run(ctx, append([]string{"clients"}, args...), &out, &errb)
	}
	file := filepath.Join(dir, "clients.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := clients("export", "--config", cfg); err != nil || !strings.Contains(out.String(), "clients: []") {
		t.Fatalf("export of a fresh store: %v\n%s%s", err, out.String(), errb.String())
	}
	write(twoClients)
	if err := clients("apply", "--config", cfg, "-f", file, "--dry-run"); err != nil {
		t.Fatalf("dry run: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "+ create wiki") || !strings.Contains(out.String(), "+ create tool") || !strings.Contains(out.String(), "dry run: nothing applied") || secretLine.MatchString(out.String()) {
		t.Fatalf("dry run:\n%s", out.String())
	}
	if err := clients("export", "--config", cfg); err != nil || !strings.Contains(out.String(), "clients: []") {
		t.Fatalf("dry run changed the store:\n%s", out.String())
	}
	if err := clients("apply", "--config", cfg, "-f", file); err != nil {
		t.Fatalf("apply: %v\n%s", err, errb.String())
	}
	m := secretLine.FindStringSubmatch(out.String())
	if m == nil || strings.Contains(out.String(), "secret of tool") || !strings.Contains(errb.String(), "store the secret of wiki now") {
		t.Fatalf("apply:\n%s\n%s", out.String(), errb.String())
	}
	secret := m[1]
	if err := clients("apply", "--config", cfg, "-f", file); err != nil || !strings.Contains(out.String(), "clients: no change") {
		t.Fatalf("apply again: %v\n%s", err, out.String())
	}

	exported := filepath.Join(dir, "exported.yaml")
	if err := clients("export", "--config", cfg, "-o", exported); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(exported)
	var f clientsFile
	if err := yaml.Unmarshal(raw, &f); err != nil || len(f.Clients) != 2 || strings.Contains(string(raw), secret) {
		t.Fatalf("exported (%v):\n%s", err, raw)
	}
	byID := map[string]apps.Exported{}
	for _, c := range f.Clients {
		byID[c.ID] = c
	}
	if byID["wiki"].SecretSHA256 != apps.HashSecret(secret) || byID["tool"].SecretSHA256 != "" || byID["wiki"].When.All[0].Equals != "dev" {
		t.Fatalf("exported %+v", f.Clients)
	}
	// Applied to another broker's store: the same apps, the same secret, no new one printed.
	other := writeConfig(t, goodConfig)
	if err := clients("apply", "--config", other, "-f", exported); err != nil || secretLine.MatchString(out.String()) || !strings.Contains(out.String(), "+ create wiki") {
		t.Fatalf("apply exported: %v\n%s", err, out.String())
	}
	if err := clients("export", "--config", other); err != nil || !strings.Contains(out.String(), "secret_sha256: "+apps.HashSecret(secret)) {
		t.Fatalf("other store:\n%s", out.String())
	}

	// Problems named by field; a typo refused; nothing applied.
	write("clients:\n  - id: bad\n    redirect_uris: [http://evil.example.com/cb]\n")
	if err := clients("apply", "--config", cfg, "-f", file); err == nil || !strings.Contains(errb.String(), "clients[0].redirect_uris[0]") {
		t.Fatalf("bad file: %v\n%s", err, errb.String())
	}
	write("clients:\n  - id: x\n    redirect_urls: [https://a.example.com/]\n")
	if err := clients("apply", "--config", cfg, "-f", file); err == nil || !strings.Contains(err.Error(), "redirect_urls") {
		t.Fatalf("typo: %v", err)
	}
	write("clients: []\n")
	if err := clients("apply", "--config", cfg, "-f", file); err == nil || !strings.Contains(err.Error(), "--allow-empty") {
		t.Fatalf("empty: %v", err)
	}
	if err := clients("apply", "--config", cfg, "-f", file, "--allow-empty"); err != nil || !strings.Contains(out.String(), "- delete wiki") {
		t.Fatalf("empty allowed: %v\n%s", err, out.String())
	}
	if err := clients("export", "--config", cfg); err != nil || !strings.Contains(out.String(), "clients: []") {
		t.Fatalf("after emptying:\n%s", out.String())
	}
	if err := clients("export"); err == nil {
		t.Fatal("export without a target succeeded")
	}
}

// Through a running broker's API: a token with the apps scopes applies a
// file; the confidential app's printed secret then authenticates it at the
// broker's OAuth endpoints (introspection), a wrong secret does not.
func TestClientsThroughAPI(t *testing.T) {
	ctx := context.Background()
	st, _ := stackWithToken(t)
	token := "brk_cli-apps-token-0123456789"
	sum := sha256.Sum256([]byte(token))
	if err := st.App.Store.CreateAPIToken(ctx, &store.APIToken{ID: "apps", Name: "apps", Hash: sum[:], CreatedBy: "demo/alice", CreatorProvider: "demo",
		CreatorSubject: "alice", Scopes: []string{"apps:read", "apps:write"}, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROKER_TOKEN", token)
	file := filepath.Join(t.TempDir(), "clients.yaml")
	if err := os.WriteFile(file, []byte(twoClients), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"clients", "apply", "--url", st.BrokerURL, "-f", file, "--dry-run"}, &out, &errb); err != nil || !strings.Contains(out.String(), "dry run") {
		t.Fatalf("dry run: %v\n%s%s", err, out.String(), errb.String())
	}
	out.Reset()
	if err := run(ctx, []string{"clients", "apply", "--url", st.BrokerURL, "-f", file}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s", err, errb.String())
	}
	m := secretLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no secret:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"clients", "export", "--url", st.BrokerURL}, &out, &errb); err != nil || !strings.Contains(out.String(), "secret_sha256: "+apps.HashSecret(m[1])) {
		t.Fatalf("export: %v\n%s", err, out.String())
	}
	// A bad file: the broker's problems, by field.
	if err := os.WriteFile(file, []byte("clients:\n  - id: bad\n    redirect_uris: [http://evil.example.com/cb]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if err := run(ctx, []string{"clients", "apply", "--url", st.BrokerURL, "-f", file}, &out, &errb); err == nil || !strings.Contains(errb.String(), "clients[0].redirect_uris[0]") {
		t.Fatalf("bad file through the API: %v\n%s", err, errb.String())
	}
	// Introspection needs the app's own authentication: the printed
	// secret passes (an unknown token is just inactive), a wrong one not.
	introspect := func(secret string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "POST", st.BrokerURL+apps.PathIntrospect, strings.NewReader(url.Values{"token": {"bogus"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("wiki", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Active *bool }
		if resp.StatusCode == http.StatusOK && (json.NewDecoder(resp.Body).Decode(&body) != nil || body.Active == nil || *body.Active) {
			t.Errorf("introspection answer %d %+v", resp.StatusCode, body)
		}
		return resp.StatusCode
	}
	if got := introspect(m[1]); got != http.StatusOK {
		t.Errorf("the printed secret: %d, want 200 (the app authenticated)", got)
	}
	if got := introspect("wrong-secret"); got == http.StatusOK {
		t.Errorf("a wrong secret: %d, want a refusal", got)
	}
}
