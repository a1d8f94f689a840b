package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/broker-dev/broker/config"
)

// IDPMetadataCheckInterval is how often a serving instance logs that the
// broker's IdP metadata must be uploaded to IAM again (it also does once
// at start).
const IDPMetadataCheckInterval = 24 * time.Hour

// WarnIDPMetadata logs a warning when the broker's SAML IdP metadata is
// within issuer.MetadataRenewal of its validUntil, which IAM records as
// the SAML provider's expiry, or past it. Nothing without a SAML issuer.
func (a *App) WarnIDPMetadata(ctx context.Context) {
	if a.Issuer == nil {
		return
	}
	if w := a.Issuer.MetadataExpiryWarning(a.now()); w != "" {
		a.log.WarnContext(ctx, w, "valid_until", a.Issuer.MetadataValidUntil())
	}
}

// IDPMetadata builds the broker's SAML IdP from cfg alone (no store, no
// network) and returns its metadata, as /idp/saml/metadata serves it, with its validUntil: what `broker idp-metadata` prints for
// upload to IAM. The error says what to set when cfg has no
// issuer.saml.key.
func IDPMetadata(cfg *config.Config, now func() time.Time) ([]byte, time.Time, error) {
	if now == nil {
		now = time.Now
	}
	a := &App{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	if err := a.newSAMLIssuer(now); err != nil {
		return nil, time.Time{}, err
	}
	if a.Issuer == nil {
		return nil, time.Time{}, errors.New("issuer.saml.key is not set: this broker does not act as a SAML identity provider")
	}
	md, err := a.Issuer.Metadata()
	if err != nil {
		return nil, time.Time{}, err
	}
	return md, a.Issuer.MetadataValidUntil(), nil
}
