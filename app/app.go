package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/console"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store/sqlstore"
	"github.com/broker-dev/broker/sts"
	"github.com/broker-dev/broker/web"
)

// Options are process-level dependencies.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// HTTPClient is used for outbound calls (IdP metadata, STS, sign-in);
	// nil = a keep-alive client with sane timeouts.
	HTTPClient *http.Client
}

// App is a wired broker.
type App struct {
	cfg        *config.Config
	log        *slog.Logger
	Store      *sqlstore.DB
	SAML       map[string]*saml.ServiceProvider
	OIDC       map[string]*oidc.Provider
	Issuer     *issuer.SAML
	OIDCIssuer *issuer.OIDC
	Rules      *ruleset.Source
	Access     *access.Service
	Web        *web.Server
	closeOnce  sync.Once
}

// New builds the broker from cfg. The store must be reachable; IdPs need
// not be (a provider whose metadata URL is down is reported on /readyz and
// retried in the background).
func New(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = newHTTPClient()
	}
	a := &App{cfg: cfg, log: log, SAML: map[string]*saml.ServiceProvider{}, OIDC: map[string]*oidc.Provider{}}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	var err error
	if a.Store, err = OpenStore(ctx, cfg, log, now); err != nil {
		return nil, err
	}

	if is := cfg.Issuer.SAML; is.Key.IsSet() {
		kp, err := cfg.KeyPair(is.Key, is.Certificate)
		if err != nil {
			return nil, fmt.Errorf("issuer.saml: %w", err)
		}
		var prev []issuer.KeyPair
		for i, ref := range is.PreviousCertificates {
			pemBytes, err := ref.Resolve(cfg.Dir())
			if err != nil {
				return nil, fmt.Errorf("issuer.saml.previous_certificates[%d]: %w", i, err)
			}
			cert, err := parseCertificatePEM(pemBytes)
			if err != nil {
				return nil, fmt.Errorf("issuer.saml.previous_certificates[%d]: %w", i, err)
			}
			prev = append(prev, issuer.KeyPair{Certificate: cert})
		}
		a.Issuer, err = issuer.NewSAML(issuer.SAMLConfig{
			EntityID: is.EntityID, SSOURL: cfg.Server.ExternalURL + "/idp/saml/sso",
			Signing: kp, Previous: prev, AssertionLifetime: time.Duration(is.AssertionLifetime),
			Now: now, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("issuer.saml: %w", err)
		}
	}

	if err := a.newOIDCIssuer(now); err != nil {
		return nil, err
	}
	var providers []web.Provider
	for _, p := range cfg.Providers {
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

	// The store holds the rules; the config file's rules and accounts seed
	// an empty store once (see README, "Rules in the store").
	if ps := ruleset.Check(cfg.Rules, cfg.MappingOptions()); ps != nil {
		return nil, fmt.Errorf("rules: %w", ps)
	}
	if seeded, err := seedRules(ctx, a.Store, cfg, log, now); err != nil {
		return nil, fmt.Errorf("seed rules: %w", err)
	} else if seeded {
		log.Info("seeded the store with the config file's rules", "rules", len(cfg.Rules), "accounts", len(cfg.Accounts))
	}
	a.Rules, err = ruleset.New(ctx, ruleset.Config{Store: a.Store, Options: cfg.MappingOptions(), Logger: log, Now: now})
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	if st := a.Rules.State(); len(cfg.Rules) > 0 && st.Revision > 0 && !sameRules(cfg.Rules, st.Rules) {
		log.Warn("the config file's rules differ from the store's; the store's are in force (edit them in the admin UI or with broker rules apply)",
			"config_rules", len(cfg.Rules), "store_rules", len(st.Rules), "revision", st.Revision)
	}
	adminMatcher, err := cfg.AdminMatcher()
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	stsClient, err := sts.New(sts.Config{
		Endpoint: cfg.AWS.STSEndpoint, Regions: cfg.AWS.STSRegions, HTTPClient: hc,
		Timeout: time.Duration(cfg.AWS.Timeout), Logger: log, Now: now,
	})
	if err != nil {
		return nil, fmt.Errorf("sts: %w", err)
	}
	consoleClient, err := console.New(console.Config{
		Issuer: cfg.Server.ExternalURL + "/", FederationURL: cfg.AWS.FederationURL, HTTPClient: hc,
		Timeout: time.Duration(cfg.AWS.Timeout), Logger: log, Now: now,
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	acc := access.Config{
		Rules: a.Rules, STS: stsClient, Console: consoleClient, Audit: a.Store, Logger: log, Now: now,
	}
	if a.Issuer != nil {
		acc.SAMLIssuer = a.Issuer
	}
	if a.OIDCIssuer != nil {
		acc.OIDCIssuer = a.OIDCIssuer
	}
	if a.Access, err = access.New(acc); err != nil {
		return nil, err
	}

	sessionKeys, err := resolveKeys(cfg, cfg.Server.SessionKeys)
	if err != nil {
		return nil, fmt.Errorf("server.session_keys: %w", err)
	}
	var proxies []*net.IPNet
	for _, c := range cfg.Server.TrustedProxies {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("server.trusted_proxies: %w", err)
		}
		proxies = append(proxies, n)
	}
	wc := web.Config{
		ExternalURL: cfg.Server.ExternalURL, Title: cfg.Portal.Title, Providers: providers,
		Access: a.Access, Sessions: a.Store, SessionKeys: sessionKeys,
		SessionLifetime: time.Duration(cfg.Server.SessionLifetime), MaxBodyBytes: cfg.Server.MaxBodyBytes,
		TrustedProxies: proxies, AutoSelectSingleRole: *cfg.Portal.AutoSelectSingleRole,
		FormActionOrigins: formActionOrigins(cfg.AWS.FederationURL),
		Replay:            a.Store,
		Admin:             &web.AdminConfig{Matcher: adminMatcher, Rules: a.Rules, Store: a.Store},
		SignIns:           a.Store,
		Logger:            log, Now: now,
	}
	if a.Issuer != nil {
		wc.IDPMetadata = a.Issuer.Metadata
	}
	if a.OIDCIssuer != nil {
		wc.OIDCDiscovery, wc.OIDCJWKS = a.OIDCIssuer.Discovery, a.OIDCIssuer.JWKS
	}
	if a.Web, err = web.New(wc); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

// OpenStore opens (and migrates) the store cfg names.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger, now func() time.Time) (*sqlstore.DB, error) {
	storeKeys, err := resolveKeys(cfg, cfg.Store.EncryptionKeys)
	if err != nil {
		return nil, fmt.Errorf("store.encryption_keys: %w", err)
	}
	dsn, err := cfg.Store.DSN.Resolve(cfg.Dir())
	if err != nil {
		return nil, fmt.Errorf("store.dsn: %w", err)
	}
	dsnStr := string(dsn)
	if cfg.Store.Driver == "sqlite" && cfg.Store.DSN.Kind() == "inline" {
		dsnStr = cfg.ResolvePath(dsnStr)
	}
	db, err := sqlstore.Open(ctx, sqlstore.Config{Driver: cfg.Store.Driver, DSN: dsnStr, Keys: storeKeys, Now: now, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return db, nil
}

// seedRules seeds an empty store with the config file's rules and
// accounts through the rule-administration service (actor "seed").
func seedRules(ctx context.Context, st *sqlstore.DB, cfg *config.Config, log *slog.Logger, now func() time.Time) (bool, error) {
	admin, err := ruleset.NewAdmin(ruleset.AdminConfig{Store: st, Options: cfg.MappingOptions(), Logger: log, Now: now})
	if err != nil {
		return false, err
	}
	return admin.Seed(ctx, cfg.Rules, cfg.Accounts)
}

// sameRules reports whether the config's rules equal the stored ones.
func sameRules(cfg []mapping.Rule, stored []ruleset.Rule) bool {
	if len(cfg) != len(stored) {
		return false
	}
	for i := range cfg {
		if string(ruleset.Encode(cfg[i])) != string(ruleset.Encode(stored[i].Rule)) {
			return false
		}
	}
	return true
}

func resolveKeys(cfg *config.Config, refs []config.Secret) ([][]byte, error) {
	var keys [][]byte
	for i, ref := range refs {
		b, err := ref.Resolve(cfg.Dir())
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		k, err := config.DecodeKey(b, 32)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		keys = append(keys, k[:32])
	}
	if len(keys) == 0 {
		return nil, errors.New("no key configured")
	}
	return keys, nil
}

// formActionOrigins lists where a form post may be redirected: the AWS
// sign-in hosts of every partition, or the configured federation endpoint.
func formActionOrigins(federationURL string) []string {
	if federationURL != "" {
		if o := originOf(federationURL); o != "" {
			return []string{o}
		}
	}
	var out []string
	for _, id := range []string{"aws", "aws-us-gov", "aws-cn"} {
		p, _ := broker.LookupPartition(id)
		out = append(out, "https://"+p.SigninHost, "https://*."+p.SigninHost)
	}
	return out
}

func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	t.ResponseHeaderTimeout = 15 * time.Second
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}
