package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/partition"
)

func (c *Config) validateProviders(p *problems) {
	if len(c.Providers) == 0 {
		p.add("providers", "at least one identity provider is required")
	}
	seen := map[string]bool{}
	for i := range c.Providers {
		pr := &c.Providers[i]
		base := fmt.Sprintf("providers[%d]", i)
		if !providerIDRe.MatchString(pr.ID) {
			p.add(base+".id", "must be 1..32 of [a-z0-9-] starting with a letter or digit (it is part of URLs), got %q", pr.ID)
		} else if seen[pr.ID] {
			p.add(base+".id", "duplicate provider id %q", pr.ID)
		}
		seen[pr.ID] = true
		switch broker.Mode(pr.Mode) {
		case broker.ModeBrokerIssued, broker.ModePassThrough:
		default:
			p.add(base+".mode", "must be broker-issued or pass-through, got %q", pr.Mode)
		}
		for j, v := range append(append([]string(nil), pr.MFAValues...), pr.MFARequest...) {
			if strings.TrimSpace(v) == "" || len(v) > 1024 {
				field := "mfa_values"
				if j >= len(pr.MFAValues) {
					field, j = "mfa_request", j-len(pr.MFAValues)
				}
				p.add(fmt.Sprintf("%s.%s[%d]", base, field, j), "must be a non-empty value of at most 1024 characters")
			}
		}
		if d := time.Duration(pr.ClockSkew); d < 0 || d > 180*time.Second {
			p.add(base+".clock_skew", "must be between 0s and 180s, got %s", d)
		}
		switch pr.Type {
		case ProviderSAML:
			c.validateSAMLProvider(p, base, pr)
		case ProviderOIDC:
			c.validateOIDCProvider(p, base, pr)
		default:
			p.add(base+".type", "must be saml or oidc, got %q", pr.Type)
		}
	}
}

func (c *Config) validateSAMLProvider(p *problems, base string, pr *Provider) {
	s := pr.SAML
	n := 0
	for _, v := range []string{s.MetadataURL, s.MetadataFile, s.MetadataXML} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		p.add(base, "set exactly one of metadata_url, metadata_file, metadata_xml (the IdP's SAML metadata)")
	}
	if s.MetadataURL != "" {
		u, err := url.Parse(s.MetadataURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && IsLoopback(u.Hostname()))) {
			p.add(base+".metadata_url", "must be an https URL (http only on localhost), got %q", s.MetadataURL)
		}
	}
	if s.MetadataFile != "" {
		if _, err := os.Stat(c.resolvePath(s.MetadataFile)); err != nil {
			p.add(base+".metadata_file", "%v", err)
		}
	}
	if d := time.Duration(s.MetadataRefresh); d < time.Minute || d > 7*24*time.Hour {
		p.add(base+".metadata_refresh", "must be between 1m and 168h")
	}
	if s.MetadataSigningCertificate.IsSet() {
		if _, err := c.Certificate(s.MetadataSigningCertificate); err != nil {
			p.add(base+".metadata_signing_certificate", "%v", err)
		}
	}
	if s.SPKey.IsSet() != s.SPCertificate.IsSet() {
		p.add(base+".sp_key", "sp_key and sp_certificate go together")
	}
	if s.SignRequests && !s.SPKey.IsSet() {
		p.add(base+".sign_requests", "signing AuthnRequests needs sp_key and sp_certificate")
	}
	if s.SPKey.IsSet() && s.SPCertificate.IsSet() {
		if _, err := c.keyPair(s.SPKey, s.SPCertificate); err != nil {
			p.add(base+".sp_key", "%v", err)
		}
	}
	c.checkEncryption(p, base, s)
	c.checkAWSRecipients(p, base, s.AWSRecipients)
}

// rsa15 is the one XML Encryption algorithm named here, to refuse it in
// `broker check`: the saml package judges the allow-list in full when the
// provider starts.
const rsa15 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"

// checkEncryption checks the settings of encrypted assertions: what needs
// the SP key, the previous key pairs, the algorithm list's shape, the
// NameID format.
func (c *Config) checkEncryption(p *problems, base string, s SAMLProvider) {
	if !s.SPKey.IsSet() {
		if s.RequireEncryption {
			p.add(base+".require_encryption", "requiring encrypted assertions needs sp_key and sp_certificate (the IdP encrypts to sp_certificate)")
		}
		if len(s.PreviousSPKeys) > 0 {
			p.add(base+".previous_sp_keys", "previous SP keys need a current sp_key and sp_certificate")
		}
	}
	var current *rsa.PrivateKey
	if s.SPKey.IsSet() {
		current, _ = c.RSAKey(s.SPKey)
	}
	for i, pk := range s.PreviousSPKeys {
		at := fmt.Sprintf("%s.previous_sp_keys[%d]", base, i)
		if !pk.Key.IsSet() || !pk.Certificate.IsSet() {
			p.add(at, "each previous SP key needs key and certificate (the sp_key and sp_certificate it replaced)")
			continue
		}
		kp, err := c.keyPair(pk.Key, pk.Certificate)
		if err != nil {
			p.add(at+".key", "%v", err)
			continue
		}
		if current != nil && current.Equal(kp.Key) {
			p.add(at+".key", "is the current sp_key: list only the keys sp_key replaced")
		}
		if pk.Key.Kind() == "inline" {
			p.warn(at+".key", "the key is written inline in the config file; prefer env:NAME or file:PATH")
		}
	}
	for i, a := range s.EncryptionAlgorithms {
		at := fmt.Sprintf("%s.encryption_algorithms[%d]", base, i)
		switch u, err := url.Parse(a); {
		case a == rsa15:
			p.add(at, "RSA PKCS#1 v1.5 key transport is never accepted (padding-oracle attacks); the IdP must use RSA-OAEP")
		case err != nil || u.Scheme == "" || u.Fragment == "":
			p.add(at, "must be an XML Encryption algorithm URI such as http://www.w3.org/2009/xmlenc11#aes256-gcm, got %q", a)
		}
	}
	switch u, err := url.Parse(s.NameIDFormat); {
	case s.NameIDFormat == "":
	case err != nil || u.Scheme == "":
		p.add(base+".name_id_format", "must be a NameID format URI such as urn:oasis:names:tc:SAML:2.0:nameid-format:persistent, got %q", s.NameIDFormat)
	case strings.HasSuffix(s.NameIDFormat, ":nameid-format:transient"):
		p.warn(base+".name_id_format", "a transient NameID changes at every sign-in: rules and the audit log cannot follow a person by subject")
	}
}

// checkAWSRecipients warns about Recipients a pass-through assertion could
// carry that AWS would refuse: the IdP must address its assertions to an
// AWS sign-in SAML endpoint, which the broker forwards unchanged; one
// addressed to the broker itself (its ACS) never works at AWS.
func (c *Config) checkAWSRecipients(p *problems, base string, recipients []string) {
	var self string
	if u, err := url.Parse(c.Server.ExternalURL); err == nil {
		self = strings.ToLower(u.Hostname())
	}
	for i, r := range recipients {
		path := fmt.Sprintf("%s.aws_recipients[%d]", base, i)
		u, err := url.Parse(r)
		switch {
		case err != nil || u.Host == "":
			p.add(path, "must be an absolute URL, got %q", r)
		case self != "" && strings.EqualFold(u.Hostname(), self):
			p.warn(path, "%q is the broker itself: AWS refuses pass-through assertions whose Recipient is not an AWS sign-in endpoint (e.g. %s)", r, partition.Default().SAMLEndpoint())
		case !partition.IsSAMLEndpoint(r):
			p.warn(path, "%q is not an AWS sign-in SAML endpoint: AWS would refuse assertions addressed to it (e.g. %s)", r, partition.Default().SAMLEndpoint())
		}
	}
}

func (c *Config) validateOIDCProvider(p *problems, base string, pr *Provider) {
	o := pr.OIDC
	if o.Issuer == "" {
		p.add(base+".issuer", "required: the OpenID Provider's issuer URL, e.g. https://example.okta.com")
	} else if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && IsLoopback(u.Hostname()))) {
		p.add(base+".issuer", "must be an https URL (http only on localhost), got %q", o.Issuer)
	}
	if o.ClientID == "" {
		p.add(base+".client_id", "required: the client id registered at the provider")
	}
	switch o.ClientAuth {
	case "", "client_secret_basic", "client_secret_post":
		if o.ClientAuth != "" && !o.ClientSecret.IsSet() {
			p.add(base+".client_secret", "%s needs a client_secret", o.ClientAuth)
		}
	case "none":
		if o.ClientSecret.IsSet() {
			p.add(base+".client_secret", "a public client (client_auth: none) has no secret")
		}
	default:
		p.add(base+".client_auth", "must be client_secret_basic, client_secret_post or none, got %q", o.ClientAuth)
	}
	if o.ClientSecret.IsSet() {
		if o.ClientSecret.Kind() == "inline" {
			p.warn(base+".client_secret", "the client secret is written inline in the config file; prefer env:NAME or file:PATH")
		}
		if _, err := o.ClientSecret.Resolve(c.Dir()); err != nil {
			p.add(base+".client_secret", "%v", err)
		}
	}
	for i, alg := range o.IDTokenAlgorithms {
		if alg == "none" || strings.HasPrefix(alg, "HS") {
			p.add(fmt.Sprintf("%s.id_token_algorithms[%d]", base, i), "%q is not allowed: ID tokens must be signed with the provider's private key", alg)
		}
	}
	if pr.SAML.MetadataURL != "" || pr.SAML.MetadataFile != "" || pr.SAML.MetadataXML != "" || pr.SAML.MetadataSigningCertificate.IsSet() {
		p.add(base, "metadata_* settings belong to SAML providers")
	}
}

func (c *Config) validateIssuer(p *problems) {
	is := c.Issuer.SAML
	if is.Key.IsSet() != is.Certificate.IsSet() {
		p.add("issuer.saml.key", "key and certificate go together")
		return
	}
	if is.Key.IsSet() {
		if is.Key.Kind() == "inline" {
			p.warn("issuer.saml.key", "the signing key is written inline in the config file; prefer env:NAME or file:PATH")
		}
		if _, err := c.keyPair(is.Key, is.Certificate); err != nil {
			p.add("issuer.saml.key", "%v", err)
		}
	} else if c.usesBrokerIssued() && !c.Issuer.OIDC.Key.IsSet() {
		p.add("issuer.saml", "broker-issued roles need the broker's signing key (issuer.saml.key and certificate, or issuer.oidc.key for web identity only)")
	}
	if d := time.Duration(is.AssertionLifetime); d < time.Minute || d > time.Hour {
		p.add("issuer.saml.assertion_lifetime", "must be between 1m and 1h")
	}
	if d := time.Duration(c.Issuer.OIDC.TokenLifetime); d < time.Minute || d > time.Hour {
		p.add("issuer.oidc.token_lifetime", "must be between 1m and 1h")
	}
	if c.Issuer.OIDC.Key.IsSet() {
		if _, err := c.RSAKey(c.Issuer.OIDC.Key); err != nil {
			p.add("issuer.oidc.key", "%v", err)
		}
	}
	for i, k := range c.Issuer.OIDC.PreviousKeys {
		if _, err := c.RSAPublicKey(k); err != nil {
			p.add(fmt.Sprintf("issuer.oidc.previous_keys[%d]", i), "%v", err)
		}
	}
	for i, cert := range is.PreviousCertificates {
		if _, err := cert.Resolve(c.Dir()); err != nil {
			p.add(fmt.Sprintf("issuer.saml.previous_certificates[%d]", i), "%v", err)
		}
	}
}

func (c *Config) usesBrokerIssued() bool {
	for _, pr := range c.Providers {
		if broker.Mode(pr.Mode) == broker.ModeBrokerIssued {
			return true
		}
	}
	for _, r := range c.Rules {
		if broker.Mode(r.Grant.Mode) == broker.ModeBrokerIssued {
			return true
		}
	}
	return false
}

// keyPair resolves and parses a key and certificate reference.
func (c *Config) keyPair(key, cert Secret) (issuer.KeyPair, error) {
	k, err := key.Resolve(c.Dir())
	if err != nil {
		return issuer.KeyPair{}, fmt.Errorf("key: %w", err)
	}
	crt, err := cert.Resolve(c.Dir())
	if err != nil {
		return issuer.KeyPair{}, fmt.Errorf("certificate: %w", err)
	}
	return issuer.ParseKeyPair(k, crt)
}

// RSAKey resolves an RSA private key (PEM, PKCS#1 or PKCS#8, >= 2048 bits).
func (c *Config) RSAKey(ref Secret) (*rsa.PrivateKey, error) {
	b, err := ref.Resolve(c.Dir())
	if err != nil {
		return nil, err
	}
	return issuer.ParseRSAKey(b)
}

// RSAPublicKey resolves an RSA public key: a PEM public key, certificate or
// private key.
func (c *Config) RSAPublicKey(ref Secret) (*rsa.PublicKey, error) {
	b, err := ref.Resolve(c.Dir())
	if err != nil {
		return nil, err
	}
	return issuer.ParseRSAPublicKey(b)
}

// Certificate resolves a PEM certificate (a public one: an IdP's or a
// federation's metadata signing certificate).
func (c *Config) Certificate(ref Secret) (*x509.Certificate, error) {
	b, err := ref.Resolve(c.Dir())
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, nil
}

// KeyPair resolves a key/certificate pair from the config (for wiring).
func (c *Config) KeyPair(key, cert Secret) (issuer.KeyPair, error) { return c.keyPair(key, cert) }

func (c *Config) resolvePath(p string) string {
	if filepath.IsAbs(p) || c.Dir() == "" {
		return p
	}
	return filepath.Join(c.Dir(), p)
}

// ResolvePath resolves a path relative to the config file's directory.
func (c *Config) ResolvePath(p string) string { return c.resolvePath(p) }
