package oidc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/metrics"
)

// Provider is the relying party for one OP. It is safe for concurrent use.
type Provider struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	op       *gooidc.Provider
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	logout   LogoutSupport
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
		p.cfg.Metrics.IdPRefreshFailed(metrics.KindOIDC, p.cfg.ID)
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
	logout, err := logoutSupport(op)
	if err != nil {
		p.cfg.Metrics.IdPRefreshFailed(metrics.KindOIDC, p.cfg.ID)
		p.lastErr = fmt.Errorf("oidc: %s: discovery: %w", p.cfg.ID, err)
		p.log.Warn("oidc: discovery failed", "provider", p.cfg.ID, "err", err)
		return nil, p.unavailable(p.lastErr)
	}
	p.op, p.lastErr, p.logout = op, nil, logout
	p.oauth = &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: ep, RedirectURL: p.cfg.RedirectURL, Scopes: scopes}
	// Expiry is checked by us with the configured skew and injected clock.
	p.verifier = op.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID, SupportedSigningAlgs: p.cfg.SigningAlgorithms, SkipExpiryCheck: true})
	p.cfg.Metrics.IdPRefreshed(metrics.KindOIDC, p.cfg.ID, p.cfg.Now())
	p.log.Info("oidc: discovered", "provider", p.cfg.ID, "issuer", p.cfg.Issuer)
	return p.oauth, nil
}

func (p *Provider) unavailable(err error) error {
	return broker.Wrap(err, broker.EUNAVAILABLE, "discovery_failed", "Sign-in with this identity provider is not available right now: it could not be reached. Try again in a few minutes.")
}

// AuthRequest is what one authorization request asks of the OP. State,
// Nonce and Verifier are generated and kept by the caller.
type AuthRequest struct {
	State, Nonce, Verifier string
	// Prompt is "", "none" (silent) or "login" (sign in again).
	Prompt string
	// MaxAge > 0 sends max_age (whole seconds, at least 1): the OP must
	// have authenticated the person within it. Pass the same value to
	// Exchange (WithMaxAge), which then refuses an older auth_time.
	MaxAge time.Duration
	// ACRValues are sent as acr_values, in order.
	ACRValues []string
	// MFA asks for a multi-factor sign-in: Config.MFARequest is added to
	// acr_values, or, when none is configured, prompt=login is sent so the
	// OP's own policy runs again.
	MFA bool
}

// AuthURL returns the authorization request URL: code flow with PKCE
// (S256), state and nonce, and prompt, max_age and acr_values as req
// says. Errors: EUNAVAILABLE before discovery has succeeded.
func (p *Provider) AuthURL(ctx context.Context, req AuthRequest) (string, error) {
	oc, err := p.discover(ctx, false)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(req.Nonce), oauth2.S256ChallengeOption(req.Verifier)}
	acr := append([]string(nil), req.ACRValues...)
	prompt := req.Prompt
	if req.MFA {
		for _, v := range p.cfg.MFARequest {
			if !slices.Contains(acr, v) {
				acr = append(acr, v)
			}
		}
		if len(p.cfg.MFARequest) == 0 && prompt == "" {
			prompt = "login"
		}
	}
	if prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	if req.MaxAge > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(maxAgeSeconds(req.MaxAge), 10)))
	}
	if len(acr) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(acr, " ")))
	}
	return oc.AuthCodeURL(req.State, opts...), nil
}

// maxAgeSeconds is d in whole seconds, rounded up, at least 1.
func maxAgeSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// NewVerifier returns a fresh PKCE code verifier.
func NewVerifier() string { return oauth2.GenerateVerifier() }
