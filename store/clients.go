package store

import (
	"context"
	"time"
)

// ClientStore keeps the apps (OAuth clients) admins register with the
// broker's OpenID Provider in the admin UI, the JSON API or `broker
// clients apply`; apps in the config file are not stored. What an app
// may do is its Spec, encoded by package apps (the store does not read
// it); a confidential app's secret is kept only as its SHA-256 hash.
// Every change bumps the app's Version; a change naming a stale version
// gets ECONFLICT and changes nothing, so two admins editing one app do
// not overwrite each other.
type ClientStore interface {
	// AppClients returns every stored app, by id.
	AppClients(ctx context.Context) ([]AppClient, error)
	// AppClient returns the stored app id; ENOTFOUND if there is none.
	AppClient(ctx context.Context, id string) (*AppClient, error)
	// CreateAppClient stores a new app with Version 1, setting CreatedAt,
	// UpdatedAt (now) and CreatedBy, UpdatedBy (actor); ECONFLICT if the id
	// exists, EINVALID without an id or spec.
	CreateAppClient(ctx context.Context, c *AppClient, actor string) error
	// UpdateAppClient replaces the spec and secret hash of app c.ID if it
	// is still at c.Version, then sets c.Version (+1), UpdatedAt and
	// UpdatedBy; ENOTFOUND if absent, ECONFLICT if the version is stale.
	UpdateAppClient(ctx context.Context, c *AppClient, actor string) error
	// DeleteAppClient removes app id if it is still at version (0: any)
	// and, in the same transaction, revokes every access and refresh
	// token issued to it and forgets people's consents to it; ENOTFOUND
	// if absent, ECONFLICT if the version is stale.
	DeleteAppClient(ctx context.Context, id string, version int64) error
	// RevokePersonAppTokens revokes every access and refresh token any app
	// holds for one person (an admin ended all their sessions) and says how
	// many were live.
	RevokePersonAppTokens(ctx context.Context, provider, subject string) (int64, error)
}

// AppClient is an app as stored.
type AppClient struct {
	ID string
	// Spec is the app's registration (redirect URIs, scopes, lifetimes,
	// condition, ...), encoded by package apps; not secret.
	Spec []byte
	// SecretHash is the SHA-256 of a confidential app's secret
	// (base64url, no padding); "" for a public app.
	SecretHash           string
	Version              int64
	CreatedAt, UpdatedAt time.Time
	CreatedBy, UpdatedBy string
}
