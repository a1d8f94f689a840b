package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/saml"
)

// AWSSAMLRecipients are the SubjectConfirmation Recipients AWS itself
// accepts; a pass-through IdP's assertions carry one of them.
var awsSAMLRecipients = []string{
	"https://signin.aws.amazon.com/saml",
	"https://signin.amazonaws-us-gov.com/saml",
	"https://signin.amazonaws.cn/saml",
}

func (a *App) newSAMLProvider(ctx context.Context, p config.Provider, hc *http.Client, now func() time.Time) (*saml.ServiceProvider, error) {
	cfg := a.cfg
	s := p.SAML
	sc := saml.Config{
		ID:                  p.ID,
		EntityID:            s.EntityID,
		MetadataURL:         cfg.Server.ExternalURL + "/saml/" + p.ID + "/metadata",
		ACSURL:              cfg.Server.ExternalURL + "/saml/" + p.ID + "/acs",
		IDPMetadataURL:      s.MetadataURL,
		MetadataRefresh:     time.Duration(s.MetadataRefresh),
		AllowIDPInitiated:   s.AllowIDPInitiated,
		SignRequests:        s.SignRequests,
		ClockSkew:           time.Duration(s.ClockSkew),
		SignatureAlgorithms: s.SignatureAlgorithms,
		DigestAlgorithms:    s.DigestAlgorithms,
		NameIDFormat:        s.NameIDFormat,
		Replay:              a.Store,
		HTTPClient:          hc,
		Logger:              a.log.With("provider", p.ID),
		Now:                 now,
	}
	if s.MetadataFile != "" {
		sc.IDPMetadataFile = cfg.ResolvePath(s.MetadataFile)
	}
	if s.MetadataXML != "" {
		sc.IDPMetadataXML = []byte(s.MetadataXML)
	}
	if broker.Mode(p.Mode) == broker.ModePassThrough || len(s.AWSRecipients) > 0 {
		// The IdP's "AWS app": assertions are addressed to AWS and posted to us.
		sc.Audiences = []string{broker.AWSSAMLAudienceURN, broker.AWSSAMLEndpoint}
		sc.Recipients = s.AWSRecipients
		if len(sc.Recipients) == 0 {
			sc.Recipients = awsSAMLRecipients
		}
	}
	if s.SPKey.IsSet() {
		kp, err := cfg.KeyPair(s.SPKey, s.SPCertificate)
		if err != nil {
			return nil, err
		}
		sc.Key, sc.Certificate = kp.Key, kp.Certificate
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
