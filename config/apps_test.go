package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
)

const appSecret = "q7Vf3kPz9mWx2LcR8tYh4NbJ6sDa1GeU0oKi5ZwXyQ"

const appsYAML = `
apps:
  clients:
    - id: demo-app
      name: Demo app
      secret: file:app.secret
      redirect_uris: ["https://app.example.com/callback", "http://127.0.0.1:8084/callback"]
      scopes: [openid, email, groups, offline_access, "aws:roles"]
      refresh_token_lifetime: 12h
      when: {all: [{attribute: groups, equals: dev}]}
      first_party: true
    - id: native-app
      public: true
      redirect_uris: ["http://127.0.0.1/callback", "http://[::1]/callback"]
`

func parseApps(t *testing.T, clients string) (*Config, Problems) {
	t.Helper()
	dir := writeIssuerKeys(t)
	if err := os.WriteFile(filepath.Join(dir, "app.secret"), []byte(appSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return parse(t, dir, validYAML+clients)
}

func TestAppClientsValid(t *testing.T) {
	cfg, probs := parseApps(t, appsYAML)
	if len(probs) != 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	cl, err := cfg.AppClients()
	if err != nil {
		t.Fatal(err)
	}
	if len(cl) != 3 || cl[2].ID != apps.CLIClientID {
		t.Fatalf("clients (two configured, then the built-in CLI) %+v", cl)
	}
	d := cl[0]
	if d.ID != "demo-app" || d.Name != "Demo app" || d.SecretHash != apps.HashSecret(appSecret) || d.Public() || d.Source != apps.SourceConfig ||
		time.Duration(d.RefreshTokenLifetime) != 12*time.Hour || d.When == nil || len(d.Scopes) != 5 {
		t.Errorf("demo-app: %+v", d)
	}
	if ok, _ := d.When.Match(&broker.Identity{Provider: "okta", Subject: "a", Attributes: map[string][]string{"groups": {"dev"}}}); !ok {
		t.Error("demo-app's condition refuses a dev")
	}
	if ok, _ := d.When.Match(&broker.Identity{Provider: "okta", Subject: "b", Attributes: map[string][]string{"groups": {"sales"}}}); ok {
		t.Error("demo-app's condition admits a non-dev")
	}
	c := cl[1]
	if !d.FirstParty || c.FirstParty {
		t.Errorf("first_party: demo-app %v (set), native-app %v (default: third-party)", d.FirstParty, c.FirstParty)
	}
	if !c.Public() || c.Name != "native-app" || c.When != nil || strings.Join(c.Scopes, " ") != strings.Join(DefaultAppScopes, " ") {
		t.Errorf("native-app defaults: %+v", c)
	}
	for _, s := range c.Scopes {
		if s == apps.ScopeAWSRoles {
			t.Error("aws:roles is not a default scope")
		}
	}
}

func TestAppClientsProblems(t *testing.T) {
	client := func(fields string) string {
		return "apps:\n  clients:\n    - id: app\n      secret: file:app.secret\n      redirect_uris: [\"https://app.example.com/cb\"]\n" + fields
	}
	tests := []struct {
		name, yaml, path, msg string
	}{
		{"bad id", strings.Replace(client(""), "id: app", "id: 'my app!'", 1), "apps.clients[0].id", "letters, digits"},
		{"duplicate id", client("    - id: app\n      public: true\n      redirect_uris: [\"http://127.0.0.1/cb\"]\n"), "apps.clients[1].id", "duplicate client id"},
		{"no redirect", strings.Replace(client(""), "      redirect_uris: [\"https://app.example.com/cb\"]\n", "", 1), "apps.clients[0].redirect_uris", "at least one"},
		{"http not loopback", strings.Replace(client(""), "https://app.example.com/cb", "http://app.example.com/cb", 1), "apps.clients[0].redirect_uris[0]", "must use https"},
		{"wildcard", strings.Replace(client(""), "https://app.example.com/cb", "https://*.example.com/cb", 1), "apps.clients[0].redirect_uris[0]", "wildcards"},
		{"fragment", strings.Replace(client(""), "https://app.example.com/cb", "https://app.example.com/cb#x", 1), "apps.clients[0].redirect_uris[0]", "fragment"},
		{"relative", strings.Replace(client(""), "https://app.example.com/cb", "/cb", 1), "apps.clients[0].redirect_uris[0]", "absolute"},
		{"custom scheme", strings.Replace(client(""), "https://app.example.com/cb", "myapp://cb", 1), "apps.clients[0].redirect_uris[0]", "https"},
		{"bad post-logout", client("      post_logout_redirect_uris: [\"http://evil.example/\"]\n"), "apps.clients[0].post_logout_redirect_uris[0]", "must use https"},
		{"unknown scope", client("      scopes: [openid, admin]\n"), "apps.clients[0].scopes[1]", "unknown scope \"admin\""},
		{"no openid", client("      scopes: [email]\n"), "apps.clients[0].scopes", "must include openid"},
		{"access lifetime too long", client("      access_token_lifetime: 2h\n"), "apps.clients[0].access_token_lifetime", "between 1m0s and 1h0m0s"},
		{"id lifetime too short", client("      id_token_lifetime: 10s\n"), "apps.clients[0].id_token_lifetime", "between"},
		{"refresh lifetime too long", client("      refresh_token_lifetime: 1000h\n"), "apps.clients[0].refresh_token_lifetime", "between 5m0s and 720h0m0s"},
		{"no secret, not public", strings.Replace(client(""), "      secret: file:app.secret\n", "", 1), "apps.clients[0].secret", "public: true"},
		{"public with secret", client("      public: true\n"), "apps.clients[0].secret", "public client has no secret"},
		{"secret unset env", strings.Replace(client(""), "file:app.secret", "env:NOPE_UNSET_APP_SECRET", 1), "apps.clients[0].secret", "NOPE_UNSET_APP_SECRET is not set"},
		{"secret too short", strings.Replace(client(""), "file:app.secret", "env:TEST_SHORT_APP_SECRET", 1), "apps.clients[0].secret", "need at least 32"},
		{"bad condition", client("      when: {any: [{attribute: groups, glob: '[oops'}]}\n"), "apps.clients[0].when.any[0].glob", "glob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TEST_SHORT_APP_SECRET", "short")
			_, probs := parseApps(t, tt.yaml)
			for _, p := range probs.Errors() {
				if p.Path == tt.path && strings.Contains(p.Message, tt.msg) {
					if p.Pos.Line == 0 {
						t.Errorf("problem %v has no line", p)
					}
					return
				}
			}
			t.Errorf("want a problem at %s containing %q; got:\n%v", tt.path, tt.msg, probs)
		})
	}
}

func TestAppClientsNeedASigningKey(t *testing.T) {
	dir := writeIssuerKeys(t)
	yml := strings.Replace(strings.Replace(validYAML, "    key: file:idp.key\n", "", 1), "    certificate: file:idp.crt\n", "", 1)
	_, probs := parse(t, dir, yml+"apps:\n  clients:\n    - {id: cli, public: true, redirect_uris: [\"http://127.0.0.1/cb\"]}\n")
	for _, p := range probs.Errors() {
		if p.Path == "apps.clients" && strings.Contains(p.Message, "issuer.oidc.key") {
			return
		}
	}
	t.Errorf("no problem about the signing key: %v", probs)
}

// The device flow: on by default for public clients, off for
// confidential ones; device: says otherwise.
func TestAppClientsDevice(t *testing.T) {
	cfg, probs := parseApps(t, appsYAML+`    - id: tv
      public: true
      device: false
      redirect_uris: ["http://127.0.0.1/callback"]
    - id: bot
      secret: file:app.secret
      device: true
      redirect_uris: ["https://bot.example.com/cb"]
`)
	if len(probs) != 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	cl, err := cfg.AppClients()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"demo-app": false, "native-app": true, "tv": false, "bot": true, apps.CLIClientID: true}
	for _, c := range cl {
		if c.Device != want[c.ID] {
			t.Errorf("%s: Device %v, want %v", c.ID, c.Device, want[c.ID])
		}
	}
}

// The built-in client of the broker's command line: on by default, with
// the settings `broker login` needs; apps.cli turns it off, shortens its
// refresh lifetime or restricts it; a configured app of its id replaces it
// (with a warning).
func TestAppCLIClient(t *testing.T) {
	find := func(t *testing.T, yml string) (*apps.Client, Problems) {
		t.Helper()
		cfg, probs := parseApps(t, yml)
		if len(probs.Errors()) != 0 {
			t.Fatalf("problems:\n%v", probs)
		}
		cl, err := cfg.AppClients()
		if err != nil {
			t.Fatal(err)
		}
		for i := range cl {
			if cl[i].ID == apps.CLIClientID {
				return &cl[i], probs
			}
		}
		return nil, probs
	}
	c, _ := find(t, "")
	if c == nil {
		t.Fatal("no built-in CLI client by default")
	}
	if !c.Public() || !c.Device || !c.FirstParty || c.Source != apps.SourceBuiltIn || c.RefreshTokenLifetime != apps.DefaultCLIRefreshLifetime ||
		strings.Join(c.RedirectURIs, " ") != "http://127.0.0.1/callback http://[::1]/callback" ||
		!strings.Contains(strings.Join(c.Scopes, " "), "offline_access aws:roles aws:credentials") {
		t.Errorf("built-in CLI client: %+v", c)
	}
	if c, _ := find(t, "apps:\n  cli: {enabled: false}\n"); c != nil {
		t.Error("apps.cli.enabled: false left the CLI client on")
	}
	c, _ = find(t, "apps:\n  cli:\n    refresh_token_lifetime: 2h\n    when: {all: [{attribute: groups, equals: dev}]}\n")
	if c == nil || c.RefreshTokenLifetime != 2*time.Hour || c.When == nil {
		t.Fatalf("apps.cli settings not applied: %+v", c)
	}
	if ok, _ := c.When.Match(&broker.Identity{Provider: "okta", Subject: "b", Attributes: map[string][]string{"groups": {"sales"}}}); ok {
		t.Error("apps.cli.when admits a non-dev")
	}
	c, probs := find(t, "apps:\n  clients:\n    - {id: broker-cli, public: true, redirect_uris: [\"http://127.0.0.1/cli\"]}\n")
	if c == nil || c.Source != apps.SourceConfig || c.RedirectURIs[0] != "http://127.0.0.1/cli" {
		t.Errorf("configured broker-cli does not replace the built-in one: %+v", c)
	}
	if !strings.Contains(probs.Error(), "replaces the built-in client") {
		t.Errorf("no warning about replacing the built-in CLI client: %v", probs)
	}
	_, probs = parseApps(t, "apps:\n  cli: {refresh_token_lifetime: 1000h}\n")
	if !strings.Contains(probs.Error(), "apps.cli.refresh_token_lifetime") {
		t.Errorf("no problem for a refresh lifetime out of bounds: %v", probs)
	}
}
