package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/saml"
)

// SAMLProvider is what the web layer needs of a SAML service provider
// (saml.ServiceProvider).
type SAMLProvider interface {
	Metadata() ([]byte, error)
	LoginRedirect(relayState string, opts saml.LoginOptions) (redirectURL, requestID string, err error)
	ParseResponse(ctx context.Context, in saml.ACSInput) (*saml.Result, error)
	Ready() error
	MFARequest() []string
	// Single logout (saml/slo.go).
	SingleLogoutSupported() bool
	LogoutRequest(id *broker.Identity, relayState string) (*saml.Outbound, string, error)
	ParseLogout(r *http.Request, pendingRequestIDs []string) (*saml.LogoutMessage, error)
	RememberLogoutRequest(ctx context.Context, req *saml.LogoutRequestInfo) error
	LogoutResponse(req *saml.LogoutRequestInfo, success bool, relayState string) (*saml.Outbound, error)
}

// OIDCProvider is what the web layer needs of an OpenID Connect relying
// party (oidc.Provider).
type OIDCProvider interface {
	Ready() error
	AuthURL(ctx context.Context, req oidc.AuthRequest) (string, error)
	Exchange(ctx context.Context, code, verifier, nonce string, opts ...oidc.ExchangeOption) (*oidc.Result, error)
	Refresh(ctx context.Context, refreshToken, subject string) (*oidc.Result, error)
	// Logout (oidc/logout.go).
	EndSessionURL(ctx context.Context, idTokenHint, postLogoutRedirectURI, state string) (string, error)
	VerifyLogoutToken(ctx context.Context, raw string) (*oidc.LogoutToken, error)
}

var (
	_ SAMLProvider = (*saml.ServiceProvider)(nil)
	_ OIDCProvider = (*oidc.Provider)(nil)
)

// Provider is one upstream IdP as the portal lists it: SAML or OIDC.
type Provider struct {
	ID    string
	Label string
	SAML  SAMLProvider
	OIDC  OIDCProvider
}

// Ready reports whether the provider can be used now.
func (p Provider) Ready() error {
	if p.OIDC != nil {
		return p.OIDC.Ready()
	}
	return p.SAML.Ready()
}

// LoginPath is where sign-in with this provider starts.
func (p Provider) LoginPath() string {
	if p.OIDC != nil {
		return "/oidc/" + url.PathEscape(p.ID) + "/login"
	}
	return "/saml/" + url.PathEscape(p.ID) + "/login"
}

// Providers is the set of upstream IdPs, in the order the sign-in page
// lists them (by label).
type Providers struct {
	byID  map[string]Provider
	order []string
}

// NewProviders checks the ids are unique and orders the providers by label.
func NewProviders(list []Provider) (*Providers, error) {
	ps := &Providers{byID: map[string]Provider{}}
	for _, p := range list {
		if _, dup := ps.byID[p.ID]; dup {
			return nil, errors.New("web: duplicate provider " + p.ID)
		}
		ps.byID[p.ID] = p
		ps.order = append(ps.order, p.ID)
	}
	sort.SliceStable(ps.order, func(i, j int) bool { return ps.byID[ps.order[i]].Label < ps.byID[ps.order[j]].Label })
	return ps, nil
}

// Get returns the provider with the id.
func (ps *Providers) Get(id string) (Provider, bool) {
	p, ok := ps.byID[id]
	return p, ok
}

// List returns the providers in sign-in page order.
func (ps *Providers) List() []Provider {
	out := make([]Provider, 0, len(ps.order))
	for _, id := range ps.order {
		out = append(out, ps.byID[id])
	}
	return out
}

// IDs returns the provider ids, sorted.
func (ps *Providers) IDs() []string {
	ids := append([]string(nil), ps.order...)
	sort.Strings(ids)
	return ids
}
