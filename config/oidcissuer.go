package config

import (
	"net/url"
	"slices"

	"github.com/broker-dev/broker"
)

// maxOIDCProviderURL is the longest OIDC provider URL IAM registers.
const maxOIDCProviderURL = 255

// warnOIDCIssuerURL warns when server.external_url, which is the issuer
// of the broker's web-identity tokens, is a URL IAM would not register as
// an OIDC provider. The IAM User Guide ("Creating OpenID Connect (OIDC)
// identity providers"): the URL must begin with https:// and "cannot
// include a colon (:) character, and therefore cannot specify a port
// number"; a path is allowed (IAM's API takes URLs of up to 255
// characters). checkBaseURL already refuses a query or fragment and plain
// http off loopback; a loopback URL (broker dev and its local AWS) is not
// warned about, since AWS can never reach it anyway.
//
// Only when the broker issues web-identity tokens: issuer.oidc.key is set,
// or a rule grants a broker-issued web-identity role.
func (c *Config) warnOIDCIssuerURL(p *problems) {
	if !c.issuesWebIdentity() {
		return
	}
	u, err := url.Parse(c.Server.ExternalURL)
	if err != nil || u.Host == "" || IsLoopback(u.Hostname()) {
		return
	}
	if u.Port() != "" {
		p.warn("server.external_url", "%q has a port: it is the issuer of the broker's web-identity tokens, and IAM refuses an OIDC provider URL with a port (it must be https:// on port 443); broker-issued web-identity roles cannot be set up in IAM until the broker answers at a URL without one", c.Server.ExternalURL)
	}
	if len(c.Server.ExternalURL) > maxOIDCProviderURL {
		p.warn("server.external_url", "is %d characters: it is the issuer of the broker's web-identity tokens, and IAM takes OIDC provider URLs of at most %d", len(c.Server.ExternalURL), maxOIDCProviderURL)
	}
}

// issuesWebIdentity reports whether the broker mints web-identity tokens.
func (c *Config) issuesWebIdentity() bool {
	if c.Issuer.OIDC.Key.IsSet() {
		return true
	}
	for _, r := range c.Rules {
		if broker.Downstream(r.Grant.Downstream) != broker.DownstreamWebIdentity {
			continue
		}
		switch broker.Mode(r.Grant.Mode) {
		case broker.ModeBrokerIssued:
			return true
		case "": // the provider's default mode, else broker-issued
			for _, pr := range c.Providers {
				if (len(r.Providers) == 0 || slices.Contains(r.Providers, pr.ID)) && broker.Mode(pr.Mode) != broker.ModePassThrough {
					return true
				}
			}
		}
	}
	return false
}
