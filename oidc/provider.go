package oidc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
)

// Provider is the relying party for one OP. It is safe for concurrent use.
type Provider struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	op       *gooidc.Provider
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	lastErr  error
	lastTry  time.Time
}

// New validates cfg. It does no I/O: discovery happens on first use and in Run.
func New(cfg Config) (*Provider, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, log: cfg.Logger}, nil
}

// ID returns the provider id.
func (p *Provider) ID() string { return p.cfg.ID }

// Ready reports whether discovery has succeeded, and why not.
func (p *Provider) Ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return nil
	}
	if p.lastErr != nil {
		return p.lastErr
	}
	return fmt.Errorf("oidc: %s: discovery not done yet", p.cfg.ID)
}

// Run retries discovery until it succeeds or ctx ends.
func (p *Provider) Run(ctx context.Context) {
	for {
		if _, err := p.discover(ctx, true); err == nil {
			return
		}
		t := time.NewTimer(p.cfg.DiscoveryRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (p *Provider) httpContext(ctx context.Context) context.Context {
	return context.WithValue(gooidc.ClientContext(ctx, p.cfg.HTTPClient), oauth2.HTTPClient, p.cfg.HTTPClient)
}

// discover loads the OP's metadata once. A failure is remembered and not
// retried by requests for DiscoveryRetry (force: retry now).
func (p *Provider) discover(ctx context.Context, force bool) (*oauth2.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p.oauth, nil
	}
	if !force && p.lastErr != nil && time.Since(p.lastTry) < p.cfg.DiscoveryRetry {
		return nil, p.unavailable(p.lastErr)
	}
	p.lastTry = time.Now()
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	op, err := gooidc.NewProvider(p.httpContext(dctx), p.cfg.Issuer)
	if err != nil {
		p.lastErr = fmt.Errorf("oidc: %s: discovery: %w", p.cfg.ID, err)
		p.log.Warn("oidc: discovery failed", "provider", p.cfg.ID, "err", err)
		return nil, p.unavailable(p.lastErr)
	}
	style := oauth2.AuthStyleInHeader
	if p.cfg.AuthMethod != AuthBasic {
		style = oauth2.AuthStyleInParams
	}
	ep := op.Endpoint()
	ep.AuthStyle = style
	scopes := append([]string(nil), p.cfg.Scopes...)
	if p.cfg.OfflineAccess {
		scopes = append(scopes, "offline_access")
	}
	p.op, p.lastErr = op, nil
	p.oauth = &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: ep, RedirectURL: p.cfg.RedirectURL, Scopes: scopes}
	// Expiry is checked by us with the configured skew and injected clock.
	p.verifier = op.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID, SupportedSigningAlgs: p.cfg.SigningAlgorithms, SkipExpiryCheck: true})
	p.log.Info("oidc: discovered", "provider", p.cfg.ID, "issuer", p.cfg.Issuer)
	return p.oauth, nil
}

func (p *Provider) unavailable(err error) error {
	return broker.Wrap(err, broker.EUNAVAILABLE, "discovery_failed", "Sign-in with this identity provider is not available right now: it could not be reached. Try again in a few minutes.")
}

// AuthURL returns the authorization request URL: code flow with PKCE
// (S256), state and nonce. prompt is "", "none" (silent) or "login".
func (p *Provider) AuthURL(ctx context.Context, state, nonce, verifier, prompt string) (string, error) {
	oc, err := p.discover(ctx, false)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	return oc.AuthCodeURL(state, opts...), nil
}

// NewVerifier returns a fresh PKCE code verifier.
func NewVerifier() string { return oauth2.GenerateVerifier() }
