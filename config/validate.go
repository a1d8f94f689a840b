package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/partition"
)

var providerIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

func (c *Config) applyDefaults() {
	if c.Server.Listen == "" {
		c.Server.Listen = ":8080"
	}
	c.Server.ExternalURL = strings.TrimRight(c.Server.ExternalURL, "/")
	if c.Server.SessionLifetime == 0 {
		c.Server.SessionLifetime = mapping.Duration(8 * time.Hour)
	}
	if c.Server.SessionIdle == 0 {
		c.Server.SessionIdle = mapping.Duration(min(time.Hour, time.Duration(c.Server.SessionLifetime)))
	}
	if c.Server.ReauthAfter == 0 {
		c.Server.ReauthAfter = mapping.Duration(min(time.Hour, time.Duration(c.Server.SessionLifetime)))
	}
	if c.Admin.APITokens.DefaultLifetime == 0 {
		c.Admin.APITokens.DefaultLifetime = Period(90 * Day)
	}
	if c.Admin.APITokens.MaxLifetime == 0 {
		c.Admin.APITokens.MaxLifetime = Period(max(365*Day, time.Duration(c.Admin.APITokens.DefaultLifetime)))
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = 512 << 10
	}
	c.Server.RateLimits.SignIn.defaults(600, 200)
	c.Server.RateLimits.APIToken.defaults(120, 60)
	if c.Store.Driver == "" {
		c.Store.Driver = "sqlite"
	}
	// An explicit 0 stays, for validation to refuse: it is not "forever".
	if _, set := c.positions["store.retention.audit"]; !set {
		c.Store.Retention.Audit = Period(DefaultAuditRetention)
	}
	if _, set := c.positions["store.retention.sign_ins"]; !set {
		c.Store.Retention.SignIns = Period(DefaultSignInRetention)
	}
	if c.AWS.Timeout == 0 {
		c.AWS.Timeout = mapping.Duration(10 * time.Second)
	}
	// An explicit 0 drain stays: no drain (a single instance, tests).
	if _, set := c.positions["server.shutdown_drain"]; !set {
		c.Server.ShutdownDrain = mapping.Duration(DefaultShutdownDrain)
	}
	if c.Server.ShutdownGrace == 0 {
		c.Server.ShutdownGrace = mapping.Duration(DefaultShutdownGrace)
	}
	if c.Issuer.SAML.ProviderName == "" {
		c.Issuer.SAML.ProviderName = "broker"
	}
	if c.Issuer.SAML.EntityID == "" && c.Server.ExternalURL != "" {
		c.Issuer.SAML.EntityID = c.Server.ExternalURL + "/idp/saml/metadata"
	}
	if c.Issuer.SAML.AssertionLifetime == 0 {
		c.Issuer.SAML.AssertionLifetime = mapping.Duration(5 * time.Minute)
	}
	if c.Issuer.OIDC.Audience == "" {
		c.Issuer.OIDC.Audience = partition.DefaultWebIdentityAudience
	}
	if c.Issuer.OIDC.TokenLifetime == 0 {
		c.Issuer.OIDC.TokenLifetime = mapping.Duration(5 * time.Minute)
	}
	if c.Portal.Title == "" {
		c.Portal.Title = "AWS sign-in"
	}
	if c.Portal.AutoSelectSingleRole == nil {
		t := true
		c.Portal.AutoSelectSingleRole = &t
	}
	if c.Defaults.Partition == "" {
		c.Defaults.Partition = partition.DefaultID
	}
	c.applyAppDefaults()
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.Type == "" {
			p.Type = ProviderSAML
		}
		if p.Mode == "" {
			p.Mode = string(broker.ModeBrokerIssued)
		}
		if p.Label == "" {
			p.Label = p.ID
		}
		if p.Type == ProviderSAML {
			if p.SAML.EntityID == "" && c.Server.ExternalURL != "" {
				p.SAML.EntityID = c.Server.ExternalURL + "/saml/" + p.ID + "/metadata"
			}
			if p.SAML.MetadataRefresh == 0 {
				p.SAML.MetadataRefresh = mapping.Duration(time.Hour)
			}
			if p.ClockSkew == 0 {
				p.ClockSkew = mapping.Duration(90 * time.Second)
			}
		}
		if p.Type == ProviderOIDC && p.ClockSkew == 0 {
			p.ClockSkew = mapping.Duration(60 * time.Second)
		}
	}
}

// problems collects problems with their positions.
type problems struct {
	c   *Config
	out Problems
}

func (p *problems) add(path, format string, args ...any) {
	p.out = append(p.out, Problem{File: p.c.path, Pos: p.c.position(path), Path: path, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) warn(path, format string, args ...any) {
	p.out = append(p.out, Problem{File: p.c.path, Pos: p.c.position(path), Path: path, Message: fmt.Sprintf(format, args...), Warning: true})
}

func (c *Config) validate() Problems {
	p := &problems{c: c}
	c.validateServer(p)
	c.warnOIDCIssuerURL(p)
	c.validateStore(p)
	c.validateKeyReuse(p)
	c.validateAWS(p)
	c.validateProviders(p)
	c.validateIssuer(p)
	c.validateRules(p)
	c.validateAdmin(p)
	c.validateApps(p)
	c.warnReadableFiles(p)
	return p.out
}

func (c *Config) validateServer(p *problems) {
	s := c.Server
	if s.ExternalURL == "" {
		p.add("server.external_url", "required: the broker's public URL, e.g. https://aws.example.com")
	} else if err := checkBaseURL(s.ExternalURL); err != nil {
		p.add("server.external_url", "%v", err)
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		p.add("server.listen", "must be host:port, e.g. :8080 (%v)", err)
	}
	if s.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(s.MetricsListen); err != nil {
			p.add("server.metrics_listen", "must be host:port, e.g. 127.0.0.1:9090 (%v)", err)
		} else if s.MetricsListen == s.Listen {
			p.add("server.metrics_listen", "must differ from server.listen (%s); leave it empty to serve /metrics there", s.Listen)
		}
	}
	if d := time.Duration(s.SessionLifetime); d < 5*time.Minute || d > 7*24*time.Hour {
		p.add("server.session_lifetime", "must be between 5m and 168h, got %s", d)
	}
	if d := time.Duration(s.SessionIdle); d < time.Minute || d > time.Duration(s.SessionLifetime) {
		p.add("server.session_idle", "must be between 1m and server.session_lifetime (%s), got %s", time.Duration(s.SessionLifetime), d)
	}
	if d := time.Duration(s.ReauthAfter); d < time.Minute || d > time.Duration(s.SessionLifetime) {
		p.add("server.reauth_after", "must be between 1m and server.session_lifetime (%s), got %s", time.Duration(s.SessionLifetime), d)
	}
	if d := time.Duration(s.ShutdownDrain); d < 0 || d > 5*time.Minute {
		p.add("server.shutdown_drain", "must be between 0s and 5m, got %s", d)
	}
	if d := time.Duration(s.ShutdownGrace); d < time.Second || d > 10*time.Minute {
		p.add("server.shutdown_grace", "must be between 1s and 10m, got %s", d)
	}
	if len(s.SessionKeys) == 0 {
		p.add("server.session_keys", "required: at least one key (e.g. env:BROKER_SESSION_KEY holding 32 random bytes, base64; generate with `openssl rand -base64 32`)")
	}
	for i, k := range s.SessionKeys {
		c.checkKey(p, fmt.Sprintf("server.session_keys[%d]", i), k, 32)
	}
	for i, cidr := range s.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			p.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "not a CIDR: %v", err)
		}
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		p.add("server.tls_cert_file", "tls_cert_file and tls_key_file go together")
	}
	if s.MaxBodyBytes < 64<<10 || s.MaxBodyBytes > 16<<20 {
		p.add("server.max_body_bytes", "must be between 65536 and 16777216")
	}
	for _, l := range []struct {
		path string
		l    RateLimit
	}{{"server.rate_limits.signin", s.RateLimits.SignIn}, {"server.rate_limits.api_token", s.RateLimits.APIToken}} {
		if l.l.Off {
			continue
		}
		if l.l.PerMinute < 1 || l.l.PerMinute > 1_000_000 {
			p.add(l.path+".per_minute", "must be between 1 and 1000000 (or set off: true)")
		}
		if l.l.Burst < 1 || l.l.Burst > 1_000_000 {
			p.add(l.path+".burst", "must be between 1 and 1000000")
		}
	}
}

func (c *Config) checkKey(p *problems, path string, s Secret, min int) {
	if s.Kind() == "inline" {
		p.warn(path, "key is written inline in the config file; prefer env:NAME or file:PATH")
	}
	b, err := s.Resolve(c.Dir())
	if err != nil {
		p.add(path, "%v", err)
		return
	}
	k, err := DecodeKey(b, min)
	if err != nil {
		p.add(path, "%v (want %d random bytes, base64-encoded)", err, min)
		return
	}
	if why := weakKey(k[:min]); why != "" {
		p.add(path, "the key is not random: %s (generate one with `openssl rand -base64 %d`)", why, min)
	}
}

func (c *Config) validateStore(p *problems) {
	switch c.Store.Driver {
	case "sqlite":
	case "postgres":
	default:
		p.add("store.driver", "must be sqlite or postgres, got %q", c.Store.Driver)
	}
	if !c.Store.DSN.IsSet() {
		if c.Store.Driver == "postgres" {
			p.add("store.dsn", "required: the PostgreSQL connection string, e.g. env:DATABASE_URL")
		} else {
			p.add("store.dsn", "required: the SQLite file, e.g. /var/lib/broker/broker.db")
		}
	}
	if len(c.Store.EncryptionKeys) == 0 {
		p.add("store.encryption_keys", "required: at least one 32-byte key (env:BROKER_STORE_KEY, base64)")
	}
	for i, k := range c.Store.EncryptionKeys {
		c.checkKey(p, fmt.Sprintf("store.encryption_keys[%d]", i), k, 32)
	}
	c.validateRetention(p)
}

func (c *Config) validateAWS(p *problems) {
	for path, u := range map[string]string{"aws.sts_endpoint": c.AWS.STSEndpoint, "aws.federation_url": c.AWS.FederationURL} {
		if u == "" {
			continue
		}
		if err := checkBaseURL(u); err != nil {
			p.add(path, "%v", err)
		}
	}
	for part, region := range c.AWS.STSRegions {
		if !partition.Known(part) {
			p.add("aws.sts_regions."+part, "unknown partition %q (%s)", part, strings.Join(partition.IDs(), ", "))
		}
		if !partition.ValidRegion(region) {
			p.add("aws.sts_regions."+part, "%q is not a region name", region)
		}
	}
	if d := time.Duration(c.AWS.Timeout); d < time.Second || d > 2*time.Minute {
		p.add("aws.timeout", "must be between 1s and 2m")
	}
}

// checkBaseURL accepts absolute http(s) URLs without query or fragment;
// plain http only for loopback hosts.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must not have a query, fragment or user info", s)
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return fmt.Errorf("%q must use https (plain http is allowed only on localhost)", s)
	}
	return nil
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) validateRules(p *problems) {
	if d := c.Defaults.Destination; d != "" {
		if err := partition.ValidateConsoleURL(c.Defaults.Partition, d); err != nil {
			p.add("defaults.destination", "%v", err)
		}
	}
	if r := c.Defaults.Region; r != "" && !partition.ValidRegion(r) {
		p.add("defaults.region", "%q is not a region name", r)
	}
	if !partition.Known(c.Defaults.Partition) {
		p.add("defaults.partition", "unknown partition %q", c.Defaults.Partition)
	}
	// The rules themselves are checked by their owner, ruleset.Check, with
	// MappingOptions; Locate places its problems in the file.
}

func (c *Config) validateAdmin(p *problems) {
	t := c.Admin.APITokens
	if d := time.Duration(t.MaxLifetime); d < Day || d > 3650*Day {
		p.add("admin.api_tokens.max_lifetime", "must be between 1d and 3650d, got %s", t.MaxLifetime)
	}
	if d := time.Duration(t.DefaultLifetime); d < time.Hour || d > time.Duration(t.MaxLifetime) {
		p.add("admin.api_tokens.default_lifetime", "must be between 1h and admin.api_tokens.max_lifetime (%s), got %s", t.MaxLifetime, t.DefaultLifetime)
	}
	if !c.Admin.Enabled() {
		if len(c.Admin.Providers) > 0 {
			p.add("admin.when", "required when admin.providers is set: the condition that makes someone an admin")
		}
		return
	}
	known := map[string]bool{}
	for _, pr := range c.Providers {
		known[pr.ID] = true
	}
	for i, id := range c.Admin.Providers {
		if !known[id] {
			p.add(fmt.Sprintf("admin.providers[%d]", i), "unknown provider %q", id)
		}
	}
	if _, err := c.AdminMatcher(); err != nil {
		var ces mapping.CompileErrors
		if !errors.As(err, &ces) {
			p.add("admin", "%v", err)
			return
		}
		for _, ce := range ces {
			p.add("admin."+ce.Field, "%s", ce.Reason)
		}
	}
}

// AdminMatcher compiles the admin condition (nil, nil when there is none).
func (c *Config) AdminMatcher() (*mapping.Matcher, error) {
	if !c.Admin.Enabled() {
		return nil, nil
	}
	return mapping.CompileMatcher("admin", c.Admin.When, c.Admin.Providers)
}

// MappingOptions returns the rules engine options this config implies.
func (c *Config) MappingOptions() mapping.Options {
	modes := map[string]broker.Mode{}
	for _, pr := range c.Providers {
		modes[pr.ID] = broker.Mode(pr.Mode)
	}
	return mapping.Options{
		Accounts: c.Accounts,
		ProviderMode: func(provider string) broker.Mode {
			if m, ok := modes[provider]; ok {
				return m
			}
			return broker.ModeBrokerIssued
		},
		BrokerSAMLProviderName: c.Issuer.SAML.ProviderName,
		DefaultAudience:        c.Issuer.OIDC.Audience,
		DefaultPartition:       c.Defaults.Partition,
		Defaults: mapping.GrantDefaults{
			CredentialDuration: time.Duration(c.Defaults.Duration),
			ConsoleDuration:    time.Duration(c.Defaults.ConsoleDuration),
			Region:             c.Defaults.Region,
			Destination:        c.Defaults.Destination,
		},
	}
}

// defaults fills an unset limit.
func (l *RateLimit) defaults(perMinute, burst int) {
	if l.PerMinute == 0 {
		l.PerMinute = perMinute
	}
	if l.Burst == 0 {
		l.Burst = burst
	}
}
