package app

import (
	"context"
	"time"
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
