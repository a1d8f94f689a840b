package store

import (
	"context"
	"time"
)

// AppStore keeps what the broker's OpenID Provider for apps (package apps)
// needs between requests: authorization requests in flight and the codes
// issued for them, access tokens and refresh tokens.
//
// Everything the tokens descend from one authorization code shares a grant
// id (the auth request's id): a replayed code or a reused refresh token
// revokes the whole grant. Codes and refresh tokens are bearer secrets: the
// store only ever sees their SHA-256 hashes (computed by the caller). The
// person's identity (Identity) is personal data, encrypted at rest.
type AppStore interface {
	// CreateAppAuthRequest stores a new auth request; ECONFLICT if the ID exists.
	CreateAppAuthRequest(ctx context.Context, r *AppAuthRequest) error
	// GetAppAuthRequest returns a live auth request; ENOTFOUND if absent,
	// expired, or its code was redeemed.
	GetAppAuthRequest(ctx context.Context, id string) (*AppAuthRequest, error)
	// UpdateAppAuthRequest replaces a live auth request's person, identity,
	// auth time, AMR and done flag (a sign-in completed it); ENOTFOUND if
	// absent, expired or redeemed.
	UpdateAppAuthRequest(ctx context.Context, r *AppAuthRequest) error
	// SaveAppCode records the hash of the code issued for a live auth
	// request (which must be done); ENOTFOUND if absent, expired or
	// redeemed, ECONFLICT if it has a code already.
	SaveAppCode(ctx context.Context, id, codeHash string) error
	// RedeemAppCode marks the code redeemed and returns its auth request:
	// one atomic step, so of two concurrent redemptions exactly one wins.
	// A code already redeemed gets EREPLAY and every token of its grant
	// is revoked (RFC 6749 section 4.1.2); an unknown or expired one
	// gets ENOTFOUND.
	RedeemAppCode(ctx context.Context, codeHash string) (*AppAuthRequest, error)
	// DeleteAppAuthRequest removes an auth request that was never redeemed
	// (a redeemed one stays until it expires, so a replay is recognized);
	// deleting a missing one is not an error.
	DeleteAppAuthRequest(ctx context.Context, id string) error

	// CreateAppAccessToken stores an issued access token; ECONFLICT if the ID exists.
	CreateAppAccessToken(ctx context.Context, t *AppToken) error
	// GetAppAccessToken returns a live access token: ENOTFOUND if absent,
	// expired or revoked.
	GetAppAccessToken(ctx context.Context, id string) (*AppToken, error)
	// RevokeAppAccessToken revokes one access token; a missing one is not an error.
	RevokeAppAccessToken(ctx context.Context, id string) error

	// CreateAppRefreshToken stores the first refresh token of a grant
	// (ID is the token's hash); ECONFLICT if it exists.
	CreateAppRefreshToken(ctx context.Context, t *AppToken) error
	// GetAppRefreshToken returns a refresh token by hash: ENOTFOUND if
	// absent, expired or revoked; EREPLAY (and the whole grant revoked) if
	// it was already rotated: someone presented an old token.
	GetAppRefreshToken(ctx context.Context, hash string) (*AppToken, error)
	// RotateAppRefreshToken replaces the live refresh token oldHash by
	// next (same grant) in one step: of two concurrent rotations of one
	// token exactly one wins; the other gets EREPLAY and the grant is
	// revoked. ENOTFOUND if oldHash is absent, expired or revoked.
	RotateAppRefreshToken(ctx context.Context, oldHash string, next *AppToken) error
	// RevokeAppGrant revokes every access and refresh token of a grant and
	// says how many were live.
	RevokeAppGrant(ctx context.Context, grant string) (int64, error)
	// RevokeAppTokens revokes every token one client holds for one person
	// (RP-initiated logout) and says how many were live.
	RevokeAppTokens(ctx context.Context, clientID, provider, subject string) (int64, error)

	// DeviceStore: the device authorization grant (RFC 8628).
	DeviceStore
	// ConsentStore: what people allowed third-party apps.
	ConsentStore
	// ClientStore: the apps admins registered.
	ClientStore
}

// AppAuthRequest is an OAuth 2.0 / OpenID Connect authorization request in
// flight, and then the authorization code issued for it.
type AppAuthRequest struct {
	ID                  string // random, chosen by the caller
	ClientID            string
	RedirectURI         string
	State, Nonce        string
	Scopes              []string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	// MaxAge is the request's max_age; nil when absent.
	MaxAge    *time.Duration
	LoginHint string
	CreatedAt time.Time
	ExpiresAt time.Time

	// Set when a sign-in completes the request.
	Provider, Subject string
	// Identity is the person as the sign-in saw them, encoded by the
	// caller; encrypted at rest.
	Identity []byte
	AuthTime time.Time
	AMR      []string
	Done     bool
}

// AppToken is an access token (ID: its jti) or a refresh token (ID: the
// SHA-256 hash of the token) issued to a client for a person.
type AppToken struct {
	ID       string
	Grant    string // the auth request the grant started with
	ClientID string
	// Provider and Subject are the person (not secret).
	Provider, Subject string
	Scopes            []string
	// Identity is the person as the sign-in saw them; encrypted at rest.
	Identity  []byte
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
}
