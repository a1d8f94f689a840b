package config

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/mapping"
)

// Apps configures the broker as an OpenID Provider for apps. Admins
// register most apps in the admin UI, the JSON API or `broker clients
// apply` (package apps' Registry, kept in the store); the config file can
// register some too (read-only there), and configures the built-in client
// of the broker's own command line.
type Apps struct {
	// CLI is the built-in public client `broker login` uses.
	CLI AppCLI `yaml:"cli"`
	// Clients are apps registered in the config file.
	Clients []AppClient `yaml:"clients"`
}

// AppCLI configures the built-in client of the broker's command line
// (client_id broker-cli): public, PKCE, a loopback redirect on any port,
// the device flow, first-party, every scope.
type AppCLI struct {
	// Enabled: default true (whenever the broker has an OIDC issuer key to
	// sign tokens with).
	Enabled *bool `yaml:"enabled"`
	// RefreshTokenLifetime is how long `broker login` lasts (default 12h,
	// 5m to 720h); ending a person's sessions ends it too.
	RefreshTokenLifetime mapping.Duration `yaml:"refresh_token_lifetime"`
	// When says who may use the CLI (the rules' condition syntax).
	When mapping.Group `yaml:"when"`
}

// CLIEnabled reports whether the built-in CLI client is on.
func (a *Apps) CLIEnabled() bool { return a.CLI.Enabled == nil || *a.CLI.Enabled }

// AppClient is an app registered in the config file: its registration
// and, for a confidential app, a reference to its secret.
type AppClient struct {
	apps.ClientSpec `yaml:",inline"`
	// Secret authenticates a confidential client (client_secret_basic or
	// client_secret_post): a secret reference (env:, file:) to at least
	// 32 characters. Without it the client must say public: true.
	Secret Secret `yaml:"secret"`
}

const minAppClientSecretChars = 32

// DefaultAppScopes are a client's scopes when it lists none.
var DefaultAppScopes = apps.DefaultScopes

func (c *Config) applyAppDefaults() {
	for i := range c.Apps.Clients {
		c.Apps.Clients[i].Normalize()
	}
}

// OIDCSigning reports whether the broker has a key to sign OIDC tokens
// with (issuer.oidc.key, or the SAML issuer's key it falls back to).
func (c *Config) OIDCSigning() bool { return c.Issuer.OIDC.Key.IsSet() || c.Issuer.SAML.Key.IsSet() }

func (c *Config) validateApps(p *problems) {
	if len(c.Apps.Clients) > 0 && !c.OIDCSigning() {
		p.add("apps.clients", "the broker signs apps' tokens with its OIDC issuer key: set issuer.oidc.key (or issuer.saml.key)")
	}
	if d := time.Duration(c.Apps.CLI.RefreshTokenLifetime); d != 0 && (d < apps.MinRefreshLifetime || d > apps.MaxRefreshLifetime) {
		p.add("apps.cli.refresh_token_lifetime", "must be between %s and %s, got %s", apps.MinRefreshLifetime, apps.MaxRefreshLifetime, d)
	}
	if cli := c.cliSpec(); cli.HasCondition() {
		for _, pr := range cli.Check() {
			p.add("apps.cli."+pr.Field, "%s", pr.Reason)
		}
	}
	seen := map[string]bool{}
	for i, a := range c.Apps.Clients {
		at := fmt.Sprintf("apps.clients[%d]", i)
		for _, pr := range a.Check() {
			p.add(at+"."+pr.Field, "%s", pr.Reason)
		}
		if seen[a.ID] {
			p.add(at+".id", "duplicate client id %q", a.ID)
		}
		seen[a.ID] = true
		if a.ID == apps.CLIClientID && c.Apps.CLIEnabled() {
			p.warn(at+".id", "%q replaces the built-in client of the broker's command line: `broker login` uses this registration", a.ID)
		}
		switch {
		case a.Public && a.Secret.IsSet():
			p.add(at+".secret", "a public client has no secret: remove secret, or public: true for a confidential client")
		case !a.Public && !a.Secret.IsSet():
			p.add(at+".secret", "required for a confidential client (e.g. env:APP_SECRET holding 32+ random characters; `openssl rand -base64 32`), or say public: true for an app that cannot keep a secret (PKCE is then required)")
		case a.Secret.IsSet():
			if a.Secret.Kind() == "inline" {
				p.warn(at+".secret", "the client secret is written inline in the config file; prefer env:NAME or file:PATH")
			}
			if b, err := a.Secret.Resolve(c.Dir()); err != nil {
				p.add(at+".secret", "%v", err)
			} else if n := len(bytes.TrimSpace(b)); n < minAppClientSecretChars {
				p.add(at+".secret", "the client secret is %d characters, need at least %d (generate one with `openssl rand -base64 32`)", n, minAppClientSecretChars)
			}
		}
	}
}

// cliSpec is the built-in CLI client with the config's settings.
func (c *Config) cliSpec() apps.ClientSpec {
	s := apps.CLIClientSpec()
	if c.Apps.CLI.RefreshTokenLifetime != 0 {
		s.RefreshTokenLifetime = c.Apps.CLI.RefreshTokenLifetime
	}
	s.When = c.Apps.CLI.When
	return s
}

// AppClients returns the apps of the config file and the built-in CLI
// client (unless disabled, or replaced by a configured app of its id) as
// the OpenID Provider's clients: secrets resolved and hashed, conditions
// compiled.
func (c *Config) AppClients() ([]apps.Client, error) {
	var out []apps.Client
	for i, a := range c.Apps.Clients {
		at := fmt.Sprintf("apps.clients[%d]", i)
		var secret []byte
		if a.Secret.IsSet() {
			b, err := a.Secret.Resolve(c.Dir())
			if err != nil {
				return nil, fmt.Errorf("%s.secret: %w", at, err)
			}
			secret = bytes.TrimSpace(b)
		}
		cl, err := apps.ClientFromSpec(a.ClientSpec, secret, apps.SourceConfig)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		out = append(out, cl)
	}
	if c.Apps.CLIEnabled() && !slices.ContainsFunc(out, func(cl apps.Client) bool { return cl.ID == apps.CLIClientID }) {
		cl, err := apps.ClientFromSpec(c.cliSpec(), nil, apps.SourceBuiltIn)
		if err != nil {
			return nil, fmt.Errorf("apps.cli: %w", err)
		}
		out = append(out, cl)
	}
	return out, nil
}
