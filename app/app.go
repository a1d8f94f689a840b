package app

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/metrics"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/partition"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/site"
)

// Options are process-level dependencies.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// HTTPClient is used for outbound calls (IdP metadata, STS, sign-in);
	// nil = a keep-alive client with sane timeouts.
	HTTPClient *http.Client
	// Version is the broker's version for broker_build_info ("" = the
	// binary's module version).
	Version string
}

// App is a wired broker.
type App struct {
	cfg   *config.Config
	log   *slog.Logger
	Store *sqlstore.DB
	// st is Store as the broker's parts use it: every operation measured.
	st store.Store
	// Metrics are the broker's Prometheus series (/metrics).
	Metrics    *metrics.Metrics
	SAML       map[string]*saml.ServiceProvider
	OIDC       map[string]*oidc.Provider
	Issuer     *issuer.SAML
	OIDCIssuer *issuer.OIDC
	// Apps is the OpenID Provider for apps (nil without apps.clients).
	Apps      *apps.Provider
	oidcKey   *rsa.PrivateKey
	now       func() time.Time
	Rules     *ruleset.Source
	Access    *access.Service
	Sessions  *access.Sessions
	Web       *site.Site
	closeOnce sync.Once
	draining  atomic.Bool
}

// New builds the broker from cfg. The store must be reachable; IdPs need
// not be (a provider whose metadata URL is down is reported on /readyz and
// retried in the background).
//
// The steps, in order: open the store, build the broker's own issuers and
// the upstream providers, check and seed the config file's rules, load the
// rules in force, build the access use case (STS, console) and the web
// server. On any error whatever was built is closed again.
func New(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	opts = opts.withDefaults()
	log, now, hc := opts.Logger, opts.Now, opts.HTTPClient
	// Every line logged with a request's context carries its request id.
	log = slog.New(web.LogHandler(log.Handler()))
	a := &App{cfg: cfg, log: log, now: now, SAML: map[string]*saml.ServiceProvider{}, OIDC: map[string]*oidc.Provider{}}
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
	a.Metrics = metrics.New(metrics.Config{Version: opts.Version})
	a.st = meter(a.Store, a.Metrics, now)
	if err := a.buildIssuers(now); err != nil {
		return nil, err
	}
	providers, err := a.buildProviders(ctx, hc, now)
	if err != nil {
		return nil, err
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
	if err := a.loadRules(ctx, now); err != nil {
		return nil, err
	}
	if err := a.buildAccess(hc, now); err != nil {
		return nil, err
	}
	if err := a.buildWeb(providers, now); err != nil {
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
	for _, p := range partition.All() {
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
