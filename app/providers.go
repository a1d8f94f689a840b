package app

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/partition"
	"github.com/broker-dev/broker/saml"
)

func (a *App) newSAMLProvider(ctx context.Context, p config.Provider, hc *http.Client, now func() time.Time) (*saml.ServiceProvider, error) {
	cfg := a.cfg
	s := p.SAML
	sc := saml.Config{
		ID:                   p.ID,
		EntityID:             s.EntityID,
		MetadataURL:          cfg.Server.ExternalURL + "/saml/" + p.ID + "/metadata",
		ACSURL:               cfg.Server.ExternalURL + "/saml/" + p.ID + "/acs",
		SLOURL:               cfg.Server.ExternalURL + "/saml/" + p.ID + "/slo",
		MFAValues:            p.MFAValues,
		MFARequest:           p.MFARequest,
		IDPMetadataURL:       s.MetadataURL,
		MetadataRefresh:      time.Duration(s.MetadataRefresh),
		AllowIDPInitiated:    s.AllowIDPInitiated,
		SignRequests:         s.SignRequests,
		ClockSkew:            time.Duration(p.ClockSkew),
		SignatureAlgorithms:  s.SignatureAlgorithms,
		DigestAlgorithms:     s.DigestAlgorithms,
		NameIDFormat:         s.NameIDFormat,
		EncryptionAlgorithms: s.EncryptionAlgorithms,
		RequireEncryption:    s.RequireEncryption,
		Replay:               a.st,
		MetadataCache:        a.st,
		Metrics:              a.Metrics,
		OnMetadataChange:     a.auditMetadataChange,
		HTTPClient:           hc,
		Logger:               a.log.With("provider", p.ID),
		Now:                  now,
	}
	if s.MetadataFile != "" {
		sc.IDPMetadataFile = cfg.ResolvePath(s.MetadataFile)
	}
	if s.MetadataSigningCertificate.IsSet() {
		cert, err := cfg.Certificate(s.MetadataSigningCertificate)
		if err != nil {
			return nil, fmt.Errorf("metadata_signing_certificate: %w", err)
		}
		sc.MetadataSigningCertificate = cert
	}
	if s.MetadataXML != "" {
		sc.IDPMetadataXML = []byte(s.MetadataXML)
	}
	if broker.Mode(p.Mode) == broker.ModePassThrough || len(s.AWSRecipients) > 0 {
		// The IdP's "AWS app": assertions are addressed to AWS and posted
		// to us, with a Recipient AWS itself accepts.
		sc.PassThrough = true
		sc.Audiences = []string{broker.AWSSAMLAudienceURN, partition.Default().SAMLEndpoint()}
		sc.Recipients = s.AWSRecipients
		if len(sc.Recipients) == 0 {
			sc.Recipients = partition.SAMLEndpoints()
		}
	}
	if s.SPKey.IsSet() {
		kp, err := cfg.KeyPair(s.SPKey, s.SPCertificate)
		if err != nil {
			return nil, err
		}
		sc.Key, sc.Certificate = kp.Key, kp.Certificate
	}
	for i, pk := range s.PreviousSPKeys {
		kp, err := cfg.KeyPair(pk.Key, pk.Certificate)
		if err != nil {
			return nil, fmt.Errorf("previous_sp_keys[%d]: %w", i, err)
		}
		sc.PreviousKeys = append(sc.PreviousKeys, kp.Key)
	}
	return saml.New(ctx, sc)
}

func parseCertificatePEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func originOf(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (a *App) newOIDCProvider(p config.Provider, hc *http.Client, now func() time.Time) (*oidc.Provider, error) {
	o := p.OIDC
	var secret string
	if o.ClientSecret.IsSet() {
		b, err := o.ClientSecret.Resolve(a.cfg.Dir())
		if err != nil {
			return nil, fmt.Errorf("client_secret: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	return oidc.New(oidc.Config{
		ID: p.ID, Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret, AuthMethod: o.ClientAuth,
		RedirectURL: a.cfg.Server.ExternalURL + "/oidc/" + p.ID + "/callback", Scopes: o.Scopes,
		OfflineAccess: o.RefreshTokens, UseUserinfo: o.Userinfo, SessionNameClaims: o.SessionNameClaims,
		SigningAlgorithms: o.IDTokenAlgorithms, ClockSkew: time.Duration(p.ClockSkew),
		MFAValues: p.MFAValues, MFARequest: p.MFARequest,
		HTTPClient: hc, Metrics: a.Metrics, Logger: a.log.With("provider", p.ID), Now: now,
	})
}

// newSAMLIssuer builds the broker's SAML IdP when issuer.saml.key is set.
func (a *App) newSAMLIssuer(now func() time.Time) error {
	cfg := a.cfg
	is := cfg.Issuer.SAML
	if !is.Key.IsSet() {
		return nil
	}
	kp, err := cfg.KeyPair(is.Key, is.Certificate)
	if err != nil {
		return fmt.Errorf("issuer.saml: %w", err)
	}
	prev, err := previousCertificates(cfg)
	if err != nil {
		return err
	}
	a.Issuer, err = issuer.NewSAML(issuer.SAMLConfig{
		EntityID: is.EntityID, SSOURL: cfg.Server.ExternalURL + "/idp/saml/sso",
		Signing: kp, Previous: prev, AssertionLifetime: time.Duration(is.AssertionLifetime),
		Now: now, Logger: a.log,
	})
	if err != nil {
		return fmt.Errorf("issuer.saml: %w", err)
	}
	return nil
}

// previousCertificates reads issuer.saml.previous_certificates: retired
// signing certificates that stay in the IdP metadata during a rotation.
func previousCertificates(cfg *config.Config) ([]issuer.KeyPair, error) {
	var prev []issuer.KeyPair
	for i, ref := range cfg.Issuer.SAML.PreviousCertificates {
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
	return prev, nil
}

// newOIDCIssuer builds the broker's OIDC issuer when a key is available:
// issuer.oidc.key, or else the SAML issuer's key.
func (a *App) newOIDCIssuer(now func() time.Time) error {
	cfg := a.cfg
	var key *rsa.PrivateKey
	switch {
	case cfg.Issuer.OIDC.Key.IsSet():
		k, err := cfg.RSAKey(cfg.Issuer.OIDC.Key)
		if err != nil {
			return fmt.Errorf("issuer.oidc.key: %w", err)
		}
		key = k
	case cfg.Issuer.SAML.Key.IsSet():
		k, err := cfg.RSAKey(cfg.Issuer.SAML.Key)
		if err != nil {
			return fmt.Errorf("issuer.saml.key: %w", err)
		}
		key = k
	default:
		return nil
	}
	var prev []issuer.RetiredKey
	for i, ref := range cfg.Issuer.OIDC.PreviousKeys {
		pub, err := cfg.RSAPublicKey(ref)
		if err != nil {
			return fmt.Errorf("issuer.oidc.previous_keys[%d]: %w", i, err)
		}
		prev = append(prev, issuer.RetiredKey{Public: pub})
	}
	o, err := issuer.NewOIDC(issuer.OIDCConfig{Issuer: cfg.Server.ExternalURL, Signing: key, Previous: prev,
		TokenLifetime: time.Duration(cfg.Issuer.OIDC.TokenLifetime), Now: now, Logger: a.log})
	if err != nil {
		return fmt.Errorf("issuer.oidc: %w", err)
	}
	a.OIDCIssuer, a.oidcKey = o, key
	return nil
}
