package store

import (
	"context"
	"time"
)

// ConsentStore keeps the consents people gave third-party apps of the
// OpenID Provider (package apps): which scopes a person let a client have,
// so the consent screen is shown once per person and app, and again only
// for a scope not yet granted. Revoking a consent deletes it.
type ConsentStore interface {
	// SaveAppConsent records the scopes a person granted a client,
	// replacing any earlier consent of that person for that client.
	SaveAppConsent(ctx context.Context, c *AppConsent) error
	// GetAppConsent returns a person's consent for a client; ENOTFOUND if none.
	GetAppConsent(ctx context.Context, provider, subject, clientID string) (*AppConsent, error)
	// ListAppConsents returns a person's consents, the most recent first.
	ListAppConsents(ctx context.Context, provider, subject string) ([]AppConsent, error)
	// DeleteAppConsent removes a person's consent for a client and says
	// whether there was one.
	DeleteAppConsent(ctx context.Context, provider, subject, clientID string) (bool, error)
}

// AppConsent is what a person allowed an app: the scopes (beyond openid)
// granted, and when.
type AppConsent struct {
	Provider, Subject string
	ClientID          string
	Scopes            []string
	GrantedAt         time.Time
}
