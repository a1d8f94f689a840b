package app

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/console"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/sts"
	"github.com/broker-dev/broker/web"
	webapps "github.com/broker-dev/broker/web/apps"
	"github.com/broker-dev/broker/web/ratelimit"
	"github.com/broker-dev/broker/web/site"
)

// The steps of New, in the order it takes them.

// withDefaults fills in what the caller left nil: a logger that discards,
// the wall clock, a keep-alive HTTP client with sane timeouts.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newHTTPClient()
	}
	return o
}

// buildIssuers builds the broker's own identity providers toward AWS: the
// SAML IdP (when issuer.saml.key is set) and the OIDC issuer (when a key
// for it is available).
func (a *App) buildIssuers(now func() time.Time) error {
	if err := a.newSAMLIssuer(now); err != nil {
		return err
	}
	return a.newOIDCIssuer(now)
}

// buildProviders builds every upstream IdP of the config (SAML service
// providers and OIDC relying parties), in config order, as the web
// server's sign-in choices.
func (a *App) buildProviders(ctx context.Context, hc *http.Client, now func() time.Time) ([]web.Provider, error) {
	var providers []web.Provider
	for _, p := range a.cfg.Providers {
		if p.Type == config.ProviderOIDC {
			op, err := a.newOIDCProvider(p, hc, now)
			if err != nil {
				return nil, fmt.Errorf("providers[%s]: %w", p.ID, err)
			}
			a.OIDC[p.ID] = op
			providers = append(providers, web.Provider{ID: p.ID, Label: p.Label, OIDC: op})
			continue
		}
		sp, err := a.newSAMLProvider(ctx, p, hc, now)
		if err != nil {
			return nil, fmt.Errorf("providers[%s]: %w", p.ID, err)
		}
		a.SAML[p.ID] = sp
		providers = append(providers, web.Provider{ID: p.ID, Label: p.Label, SAML: sp})
	}
	return providers, nil
}

// loadRules loads the rules in force from the store and warns when the
// config file's rules differ from them.
func (a *App) loadRules(ctx context.Context, now func() time.Time) error {
	cfg := a.cfg
	var err error
	a.Rules, err = ruleset.New(ctx, ruleset.Config{Store: a.st, Options: cfg.MappingOptions(), Metrics: a.Metrics, Logger: a.log, Now: now})
	if err != nil {
		return fmt.Errorf("load rules: %w", err)
	}
	if st := a.Rules.State(); len(cfg.Rules) > 0 && st.Revision > 0 && !sameRules(cfg.Rules, st.Rules) {
		a.log.Warn("the config file's rules differ from the store's; the store's are in force (edit them in the admin UI or with broker rules apply)",
			"config_rules", len(cfg.Rules), "store_rules", len(st.Rules), "revision", st.Revision)
	}
	return nil
}

// buildAccess builds the STS and console clients and, on them, the access
// use case with the rules and whichever issuers exist.
func (a *App) buildAccess(hc *http.Client, now func() time.Time) error {
	cfg := a.cfg
	stsClient, err := sts.New(sts.Config{
		Endpoint: cfg.AWS.STSEndpoint, Regions: cfg.AWS.STSRegions, HTTPClient: hc,
		Timeout: time.Duration(cfg.AWS.Timeout), Metrics: a.Metrics, Logger: a.log, Now: now,
	})
	if err != nil {
		return fmt.Errorf("sts: %w", err)
	}
	consoleClient, err := console.New(console.Config{
		Issuer: cfg.Server.ExternalURL + "/", FederationURL: cfg.AWS.FederationURL, HTTPClient: hc,
		Timeout: time.Duration(cfg.AWS.Timeout), Metrics: a.Metrics, Logger: a.log, Now: now,
	})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	acc := access.Config{
		Rules: a.Rules, STS: stsClient, Console: consoleClient, Audit: a.st, Metrics: a.Metrics, Logger: a.log, Now: now,
	}
	// Only set the issuers that exist: a nil pointer in an interface is not nil.
	if a.Issuer != nil {
		acc.SAMLIssuer = a.Issuer
	}
	if a.OIDCIssuer != nil {
		acc.OIDCIssuer = a.OIDCIssuer
	}
	a.Access, err = access.New(acc)
	return err
}

// buildWeb builds the web server: portal, IdP endpoints and admin UI.
func (a *App) buildWeb(providers []web.Provider, now func() time.Time) error {
	cfg := a.cfg
	adminMatcher, err := cfg.AdminMatcher()
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	sessionKeys, err := resolveKeys(cfg, cfg.Server.SessionKeys)
	if err != nil {
		return fmt.Errorf("server.session_keys: %w", err)
	}
	proxies, err := trustedProxies(cfg.Server.TrustedProxies)
	if err != nil {
		return err
	}
	adminSvc, err := admins.New(admins.Config{Matcher: adminMatcher, RequireMFA: cfg.Admin.RequireMFA, Store: a.st, Logger: a.log, Now: now,
		DefaultLifetime: time.Duration(cfg.Admin.APITokens.DefaultLifetime), MaxLifetime: time.Duration(cfg.Admin.APITokens.MaxLifetime)})
	if err != nil {
		return err
	}
	ruleAdmin, err := ruleset.NewAdmin(ruleset.AdminConfig{Store: a.st, Source: a.Rules, Logger: a.log, Now: now})
	if err != nil {
		return err
	}
	a.Sessions, err = access.NewSessions(access.SessionsConfig{
		Store: a.st, Access: a.Access, RecordSignIns: true, Replay: a.st, AppTokens: a.st,
		Lifetime: time.Duration(cfg.Server.SessionLifetime), Idle: time.Duration(cfg.Server.SessionIdle),
		ReauthAfter: time.Duration(cfg.Server.ReauthAfter), Logger: a.log, Now: now,
	})
	if err != nil {
		return err
	}
	wc := site.Config{
		ExternalURL: cfg.Server.ExternalURL, Title: cfg.Portal.Title, Providers: providers,
		Access: a.Access, Sessions: a.Sessions, Health: a.st, SessionKeys: sessionKeys,
		SessionLifetime: time.Duration(cfg.Server.SessionLifetime), MaxBodyBytes: cfg.Server.MaxBodyBytes,
		TrustedProxies: proxies, AutoSelectSingleRole: *cfg.Portal.AutoSelectSingleRole,
		SignInLimit: rateLimit(cfg.Server.RateLimits.SignIn), APITokenLimit: rateLimit(cfg.Server.RateLimits.APIToken),
		FormActionOrigins: formActionOrigins(cfg.AWS.FederationURL),
		Admin:             &site.AdminConfig{Admins: adminSvc, Rules: a.Rules, Admin: ruleAdmin},
		Personal:          a.st,
		Metrics:           a.Metrics, MetricsOnSite: cfg.Server.MetricsListen == "",
		Draining:   a.Draining,
		AWSWarning: a.Access.AWSWarning,
		Logger:     a.log, Now: now,
	}
	if a.Issuer != nil {
		wc.IDPMetadata = a.Issuer.Metadata
		wc.IDPMetadataValidUntil = a.Issuer.MetadataValidUntil()
		wc.IDPMetadataWarning = func() string { return a.Issuer.MetadataExpiryWarning(now()) }
	}
	if a.OIDCIssuer != nil {
		wc.OIDCDiscovery, wc.OIDCJWKS = a.OIDCIssuer.Discovery, a.OIDCIssuer.JWKS
	}
	if err := a.buildApps(sessionKeys[0], now); err != nil {
		return err
	}
	if a.Apps != nil {
		// One discovery document: the issuer's (IAM reads issuer and
		// jwks_uri) with the OP's endpoints.
		wc.Apps, wc.OIDCDiscovery = a.Apps, a.Apps.Discovery(a.OIDCIssuer.Discovery)
		wc.AppBearers = a.Apps // the credentials API for apps
	}
	a.Web, err = site.New(wc)
	return err
}

// codeKeyInfo labels the HKDF derivation of the OP's code key.
const codeKeyInfo = "broker apps: authorization code key v1"

// buildApps builds the OpenID Provider for apps whenever the broker has an
// OIDC issuer key to sign its tokens with (one JWKS): apps registered by
// admins live in the store, so the provider is on even when the config
// file lists none; the store's AppStore, the rules and audit log of access.
//
// Its CodeKey (zitadel encrypts the auth request id into the code) is
// derived with HKDF-SHA256 from the first session key, not the store
// key: a code travels through the browser like the session cookie and
// lives ten minutes at most, so it belongs with the keys that seal what
// browsers carry; the store's keys stay for data at rest (the store keeps
// only the code's SHA-256 hash anyway). Rotating the session keys ends
// the codes in flight, as it ends the cookies. Deriving (rather than using
// the key itself) keeps the two uses of that secret apart.
func (a *App) buildApps(sessionKey []byte, now func() time.Time) error {
	cfg := a.cfg
	if !cfg.OIDCSigning() {
		return nil
	}
	if a.OIDCIssuer == nil || a.oidcKey == nil {
		return fmt.Errorf("apps.clients: the OpenID Provider signs with the broker's OIDC issuer key: set issuer.oidc.key (or issuer.saml.key)")
	}
	clients, err := cfg.AppClients()
	if err != nil {
		return err
	}
	codeKey, err := hkdf.Key(sha256.New, sessionKey, nil, codeKeyInfo, 32)
	if err != nil {
		return fmt.Errorf("apps: code key: %w", err)
	}
	a.Apps, err = apps.New(apps.Config{
		Issuer: cfg.Server.ExternalURL, Signing: a.oidcKey, KeyID: issuer.KeyID(&a.oidcKey.PublicKey),
		Clients: clients, Store: a.st, Rules: a.Access, Audit: a.Access, LoginPath: webapps.LoginPath,
		CodeKey: codeKey, Logger: a.log.With("component", "apps"), Now: now,
	})
	return err
}

// trustedProxies parses server.trusted_proxies.
func trustedProxies(cidrs []string) ([]*net.IPNet, error) {
	var proxies []*net.IPNet
	for _, c := range cidrs {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("server.trusted_proxies: %w", err)
		}
		proxies = append(proxies, n)
	}
	return proxies, nil
}

// rateLimit turns a configured limit into the web's (off: no limit).
func rateLimit(l config.RateLimit) ratelimit.Limit {
	if l.Off {
		return ratelimit.Limit{}
	}
	return ratelimit.Limit{PerMinute: l.PerMinute, Burst: l.Burst}
}
