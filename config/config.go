package config

import (
	"time"

	"github.com/broker-dev/broker/mapping"
)

// Config is the whole configuration file.
type Config struct {
	Server    Server            `yaml:"server"`
	Store     Store             `yaml:"store"`
	AWS       AWS               `yaml:"aws"`
	Issuer    Issuer            `yaml:"issuer"`
	Portal    Portal            `yaml:"portal"`
	Providers []Provider        `yaml:"providers"`
	Accounts  []mapping.Account `yaml:"accounts"`
	Defaults  Defaults          `yaml:"defaults"`
	Rules     []mapping.Rule    `yaml:"rules"`
	Admin     Admin             `yaml:"admin"`
	// Apps are the apps that may send people to the broker to sign in
	// (the broker as an OpenID Provider; see README, "Sign in with the broker").
	Apps Apps `yaml:"apps"`

	// path is the file the config was read from (for relative paths).
	path string
	// positions maps a YAML path (e.g. "providers[0].metadata_url") to its place.
	positions map[string]Position
	// failed holds the paths whose values could not be decoded.
	failed map[string]bool
}

// Server configures the HTTP listener and browser sessions.
type Server struct {
	// Listen is the address to listen on, e.g. ":8080" or "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// MetricsListen serves the Prometheus metrics (/metrics) on a listener
	// of their own, e.g. "127.0.0.1:9090" or ":9090" behind a network
	// policy; "" (default) serves /metrics on the public listener. When
	// set, the public listener has no /metrics.
	MetricsListen string `yaml:"metrics_listen"`
	// ExternalURL is the broker's public base URL as browsers and IdPs see
	// it, e.g. https://aws.example.com. ACS URLs, entity IDs and the console
	// Issuer derive from it. Must be https unless the host is loopback.
	ExternalURL string `yaml:"external_url"`
	// SessionLifetime is the longest a portal sign-in lasts (default 8h).
	// A session also ends earlier when the IdP says so: the assertion's
	// SessionNotOnOrAfter, single logout, back-channel logout.
	SessionLifetime mapping.Duration `yaml:"session_lifetime"`
	// SessionIdle ends a portal session nobody used for this long
	// (default 1h; at most session_lifetime).
	SessionIdle mapping.Duration `yaml:"session_idle"`
	// ReauthAfter is how old a session's verified attributes may be before
	// the broker asks the IdP again (silently where it can) before it
	// grants a role or admin access (default 1h; at most session_lifetime).
	ReauthAfter mapping.Duration `yaml:"reauth_after"`
	// SessionKeys sign and encrypt the session cookie: the first is used for
	// new cookies, all are accepted (rotation). Secret references (env:, file:)
	// to at least 32 random bytes, base64-encoded.
	SessionKeys []Secret `yaml:"session_keys"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// TLSCertFile and TLSKeyFile serve HTTPS directly (else use a TLS proxy).
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// MaxBodyBytes bounds request bodies (default 512 KiB; SAML responses
	// for AWS are at most 100,000 base64 characters).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RateLimits bound how often one client address may use the sign-in
	// routes and present an admin API token.
	RateLimits RateLimits `yaml:"rate_limits"`
	// ShutdownDrain is how long, after SIGTERM, /readyz answers 503 while
	// the listener still serves, so a load balancer stops sending before
	// connections are refused (default 5s; 0 = none).
	ShutdownDrain mapping.Duration `yaml:"shutdown_drain"`
	// ShutdownGrace is how long requests still in flight after the drain
	// may take to finish; the ones left then are cut and audited
	// (request_cut). Default 20s. Keep drain + grace under the platform's
	// own limit (compose stop_grace_period, Kubernetes
	// terminationGracePeriodSeconds).
	ShutdownGrace mapping.Duration `yaml:"shutdown_grace"`
}

// Default shutdown periods (server.shutdown_drain, server.shutdown_grace):
// 25 s together, under the 30 s Kubernetes and compose give by default.
const (
	DefaultShutdownDrain = 5 * time.Second
	DefaultShutdownGrace = 20 * time.Second
)

// RateLimits are per client address (behind trusted_proxies, the address
// X-Forwarded-For names) and per instance.
type RateLimits struct {
	// SignIn covers the login routes, the SAML ACS and the OIDC callback
	// (default 600 a minute, bursts of 200: a whole office behind one NAT
	// address signing in at nine is about 2 requests a person).
	SignIn RateLimit `yaml:"signin"`
	// APIToken covers API requests that present a token (default 120 a
	// minute, bursts of 60).
	APIToken RateLimit `yaml:"api_token"`
}

// RateLimit is a token bucket: PerMinute on average, Burst at once; Off
// disables it.
type RateLimit struct {
	PerMinute int  `yaml:"per_minute"`
	Burst     int  `yaml:"burst"`
	Off       bool `yaml:"off"`
}

// Admin decides who may use the admin UI and API: people whose verified
// sign-in satisfies When (the rules' condition syntax), optionally only
// from Providers. Without it the admin UI is closed to everyone.
type Admin struct {
	When      mapping.Group `yaml:"when"`
	Providers []string      `yaml:"providers"`
	// RequireMFA admits only sessions whose sign-in the IdP asserted as
	// multi-factor (see providers[].mfa_values); others are sent to sign
	// in again asking for MFA.
	RequireMFA bool `yaml:"require_mfa"`
	// APITokens bounds admin API token lifetimes.
	APITokens APITokens `yaml:"api_tokens"`
}

// APITokens bounds admin API token lifetimes: every token expires.
type APITokens struct {
	// DefaultLifetime is a new token's lifetime when none is asked for (default 90d).
	DefaultLifetime Period `yaml:"default_lifetime"`
	// MaxLifetime is the longest lifetime a token may be given (default 365d).
	MaxLifetime Period `yaml:"max_lifetime"`
}

// Enabled reports whether an admin condition is configured.
func (a Admin) Enabled() bool { return len(a.When.All) > 0 || len(a.When.Any) > 0 }

// Store configures persistence.
type Store struct {
	// Driver is "sqlite" (default, embedded) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is the SQLite file path or the PostgreSQL connection string
	// (a secret reference is allowed: env:DATABASE_URL).
	DSN Secret `yaml:"dsn"`
	// EncryptionKeys encrypt secrets at rest (AES-256-GCM): the first
	// encrypts, all decrypt. Secret references to 32 bytes, base64-encoded.
	EncryptionKeys []Secret `yaml:"encryption_keys"`
	// Retention is how long audit events and sign-ins are kept.
	Retention Retention `yaml:"retention"`
}

// AWS configures the AWS endpoints the broker calls.
type AWS struct {
	// STSEndpoint overrides the STS endpoint for every partition (testing).
	STSEndpoint string `yaml:"sts_endpoint"`
	// FederationURL overrides the sign-in federation endpoint (testing).
	FederationURL string `yaml:"federation_url"`
	// STSRegions maps a partition to the STS region to call (default: the
	// partition's STSRegion).
	STSRegions map[string]string `yaml:"sts_regions"`
	// Timeout bounds each call to AWS (default 10s).
	Timeout mapping.Duration `yaml:"timeout"`
}

// Issuer configures the broker as an identity provider toward AWS.
type Issuer struct {
	SAML SAMLIssuer `yaml:"saml"`
	OIDC OIDCIssuer `yaml:"oidc"`
}

// OIDCIssuer configures the broker's OpenID Connect issuer (broker-issued
// web identity). Its issuer URL is server.external_url; register it in IAM
// as an OIDC provider with Audience as its client id.
type OIDCIssuer struct {
	// Key signs ID tokens (RSA PEM); default: the SAML issuer's key.
	Key Secret `yaml:"key"`
	// PreviousKeys stay in the JWKS until their tokens have expired.
	PreviousKeys []Secret `yaml:"previous_keys"`
	// Audience is the default aud of minted tokens (default
	// partition.DefaultWebIdentityAudience).
	Audience      string           `yaml:"audience"`
	TokenLifetime mapping.Duration `yaml:"token_lifetime"`
}

// SAMLIssuer configures the broker's SAML IdP (broker-issued mode).
type SAMLIssuer struct {
	// ProviderName is the name of the IAM SAML provider that holds the
	// broker's metadata in each account (default "broker").
	ProviderName string `yaml:"provider_name"`
	// EntityID defaults to EXTERNAL_URL/idp/saml/metadata.
	EntityID string `yaml:"entity_id"`
	// Key is the signing key (PEM), a secret reference.
	Key Secret `yaml:"key"`
	// Certificate is the signing certificate: a PEM file path or reference.
	Certificate Secret `yaml:"certificate"`
	// PreviousCertificates stay in the metadata during a key rotation.
	PreviousCertificates []Secret `yaml:"previous_certificates"`
	// AssertionLifetime bounds each minted assertion (default 5m).
	AssertionLifetime mapping.Duration `yaml:"assertion_lifetime"`
}

// Portal configures what people see.
type Portal struct {
	Title string `yaml:"title"`
	// AutoSelectSingleRole opens the console directly when a person has
	// exactly one role (default true).
	AutoSelectSingleRole *bool `yaml:"auto_select_single_role"`
}

// Defaults apply to grants that do not set a value.
type Defaults struct {
	Duration        mapping.Duration `yaml:"duration"`
	ConsoleDuration mapping.Duration `yaml:"console_duration"`
	Region          string           `yaml:"region"`
	Destination     string           `yaml:"destination"`
	Partition       string           `yaml:"partition"`
}
