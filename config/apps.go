package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/mapping"
)

// Apps configures the broker as an OpenID Provider for apps: the apps
// (clients) that may send people to the broker to sign in.
type Apps struct {
	Clients []AppClient `yaml:"clients"`
}

// AppClient is an app registered with the broker (apps.Client).
type AppClient struct {
	// ID is the OAuth client_id: letters, digits, '.', '_', '-' (at most 64).
	ID string `yaml:"id"`
	// Name is shown to people (default: the id).
	Name string `yaml:"name"`
	// Secret authenticates a confidential client (client_secret_basic or
	// client_secret_post): a secret reference (env:, file:) to at least
	// 32 characters. Without it the client must say public: true.
	Secret Secret `yaml:"secret"`
	// Public: a client that cannot keep a secret (a CLI, a native app):
	// PKCE (S256) is required, and loopback redirect URIs match on any
	// port (RFC 8252).
	Public bool `yaml:"public"`
	// RedirectURIs are matched exactly (no prefixes, no wildcards): https,
	// or http on a loopback address.
	RedirectURIs []string `yaml:"redirect_uris"`
	// PostLogoutRedirectURIs are where /oauth/end_session may send the browser.
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	// Scopes the client may ask for (default openid, profile, email,
	// groups); aws:roles adds the roles the rules grant to the ID token,
	// offline_access allows refresh tokens.
	Scopes []string `yaml:"scopes"`
	// AccessTokenLifetime and IDTokenLifetime: 1m to 1h (default 5m).
	AccessTokenLifetime mapping.Duration `yaml:"access_token_lifetime"`
	IDTokenLifetime     mapping.Duration `yaml:"id_token_lifetime"`
	// RefreshTokenLifetime is how long the app may keep refreshing after
	// the person signed in to it: absolute, rotation does not extend it
	// (5m to 720h, default 8h).
	RefreshTokenLifetime mapping.Duration `yaml:"refresh_token_lifetime"`
	// When says who may use the app (the rules' condition syntax); empty:
	// everyone who can sign in to the broker. A refused person goes back
	// to the app with access_denied.
	When mapping.Group `yaml:"when"`
	// Device allows the device authorization grant (RFC 8628): the app
	// shows a code the person types at the broker's /device page (a CLI
	// in an SSH session). Default: true for public clients, false for
	// confidential ones.
	Device *bool `yaml:"device"`
	// FirstParty: the organisation's own app, trusted with what it asks:
	// no consent screen. Otherwise (the default) the broker shows the
	// person the app and the scopes it asks for, with Allow and Deny, once
	// per person (again for a scope not yet granted, or prompt=consent).
	FirstParty bool `yaml:"first_party"`
}

// DeviceAllowed reports whether the client may use the device flow.
func (a *AppClient) DeviceAllowed() bool {
	if a.Device != nil {
		return *a.Device
	}
	return a.Public
}

// Bounds of an app client's token lifetimes.
const (
	MinAppTokenLifetime     = time.Minute
	MaxAppTokenLifetime     = time.Hour
	MinAppRefreshLifetime   = 5 * time.Minute
	MaxAppRefreshLifetime   = 720 * time.Hour
	minAppClientSecretChars = 32
)

// DefaultAppScopes are a client's scopes when it lists none.
var DefaultAppScopes = []string{apps.ScopeOpenID, apps.ScopeProfile, apps.ScopeEmail, apps.ScopeGroups}

var appClientIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (c *Config) applyAppDefaults() {
	for i := range c.Apps.Clients {
		a := &c.Apps.Clients[i]
		if a.Name == "" {
			a.Name = a.ID
		}
		if len(a.Scopes) == 0 {
			a.Scopes = slices.Clone(DefaultAppScopes)
		}
	}
}

func (c *Config) validateApps(p *problems) {
	if len(c.Apps.Clients) > 0 && !c.Issuer.OIDC.Key.IsSet() && !c.Issuer.SAML.Key.IsSet() {
		p.add("apps.clients", "the broker signs apps' tokens with its OIDC issuer key: set issuer.oidc.key (or issuer.saml.key)")
	}
	seen := map[string]bool{}
	for i, a := range c.Apps.Clients {
		at := fmt.Sprintf("apps.clients[%d]", i)
		switch {
		case !appClientIDRe.MatchString(a.ID):
			p.add(at+".id", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; got %q", a.ID)
		case seen[a.ID]:
			p.add(at+".id", "duplicate client id %q", a.ID)
		}
		seen[a.ID] = true
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
		if len(a.RedirectURIs) == 0 {
			p.add(at+".redirect_uris", "required: at least one redirect URI, matched exactly")
		}
		for j, u := range a.RedirectURIs {
			if err := checkAppRedirectURI(u); err != nil {
				p.add(fmt.Sprintf("%s.redirect_uris[%d]", at, j), "%v", err)
			}
		}
		for j, u := range a.PostLogoutRedirectURIs {
			if err := checkAppRedirectURI(u); err != nil {
				p.add(fmt.Sprintf("%s.post_logout_redirect_uris[%d]", at, j), "%v", err)
			}
		}
		for j, s := range a.Scopes {
			if !slices.Contains(apps.KnownScopes, s) {
				p.add(fmt.Sprintf("%s.scopes[%d]", at, j), "unknown scope %q (known: %s)", s, strings.Join(apps.KnownScopes, ", "))
			}
		}
		if !slices.Contains(a.Scopes, apps.ScopeOpenID) {
			p.add(at+".scopes", "must include openid")
		}
		for _, l := range []struct {
			path     string
			d        mapping.Duration
			min, max time.Duration
		}{
			{".access_token_lifetime", a.AccessTokenLifetime, MinAppTokenLifetime, MaxAppTokenLifetime},
			{".id_token_lifetime", a.IDTokenLifetime, MinAppTokenLifetime, MaxAppTokenLifetime},
			{".refresh_token_lifetime", a.RefreshTokenLifetime, MinAppRefreshLifetime, MaxAppRefreshLifetime},
		} {
			if d := time.Duration(l.d); d != 0 && (d < l.min || d > l.max) {
				p.add(at+l.path, "must be between %s and %s, got %s", l.min, l.max, d)
			}
		}
		if len(a.When.All) > 0 || len(a.When.Any) > 0 {
			if _, err := mapping.CompileMatcher(at, a.When, nil); err != nil {
				var ces mapping.CompileErrors
				if !errors.As(err, &ces) {
					p.add(at+".when", "%v", err)
					continue
				}
				for _, ce := range ces {
					p.add(at+"."+ce.Field, "%s", ce.Reason)
				}
			}
		}
	}
}

// checkAppRedirectURI accepts an absolute https URL, or http on a loopback
// address (a native app's local server, RFC 8252); no fragment, user info
// or wildcard: redirect URIs are matched exactly.
func checkAppRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	switch {
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q must not have a fragment", s)
	case u.User != nil:
		return fmt.Errorf("%q must not have user info", s)
	case strings.Contains(s, "*"):
		return fmt.Errorf("%q: wildcards are not allowed, redirect URIs match exactly", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q must use https (plain http is allowed only on a loopback address such as 127.0.0.1)", s)
	}
	return fmt.Errorf("%q must be an https URL (or http on a loopback address)", s)
}

// AppClients returns the configured apps as the OpenID Provider's
// clients: secrets resolved, conditions compiled.
func (c *Config) AppClients() ([]apps.Client, error) {
	var out []apps.Client
	for i, a := range c.Apps.Clients {
		at := fmt.Sprintf("apps.clients[%d]", i)
		cl := apps.Client{
			ID: a.ID, Name: a.Name, RedirectURIs: a.RedirectURIs, PostLogoutRedirectURIs: a.PostLogoutRedirectURIs,
			Scopes: a.Scopes, AccessTokenLifetime: time.Duration(a.AccessTokenLifetime),
			IDTokenLifetime: time.Duration(a.IDTokenLifetime), RefreshTokenLifetime: time.Duration(a.RefreshTokenLifetime),
			FirstParty: a.FirstParty, Device: a.DeviceAllowed(),
		}
		if a.Secret.IsSet() {
			b, err := a.Secret.Resolve(c.Dir())
			if err != nil {
				return nil, fmt.Errorf("%s.secret: %w", at, err)
			}
			cl.Secret = bytes.TrimSpace(b)
		}
		if len(a.When.All) > 0 || len(a.When.Any) > 0 {
			m, err := mapping.CompileMatcher(at, a.When, nil)
			if err != nil {
				return nil, fmt.Errorf("%s.when: %w", at, err)
			}
			cl.When = m
		}
		out = append(out, cl)
	}
	return out, nil
}
