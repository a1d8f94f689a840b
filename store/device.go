package store

import (
	"context"
	"time"
)

// DeviceStore keeps the device authorizations of the OpenID Provider for
// apps (the device authorization grant, RFC 8628): a device (a CLI in an
// SSH session, a TV) gets a device code it polls with and a short user
// code the person types at the broker's verification page.
//
// Both codes are bearer secrets: the store only sees their SHA-256 hashes
// (the caller normalises the user code before hashing). The approving
// person's identity is personal data, encrypted at rest.
type DeviceStore interface {
	// CreateDeviceAuthorization stores a new pending authorization;
	// ECONFLICT if its ID, device code or user code exists.
	CreateDeviceAuthorization(ctx context.Context, d *DeviceAuthorization) error
	// GetDeviceAuthorization returns the live (unexpired) pending
	// authorization with this user code hash; ENOTFOUND otherwise
	// (unknown, expired, already approved, denied or consumed).
	GetDeviceAuthorization(ctx context.Context, userCodeHash string) (*DeviceAuthorization, error)
	// DecideDeviceAuthorization records the person's answer for the live
	// pending authorization d.UserCodeHash: d.Status (DeviceApproved or
	// DeviceDenied) and the person (Provider, Subject, Identity, AuthTime,
	// AMR). Of two concurrent decisions exactly one wins; the other, and a
	// decision on an unknown, expired or already decided one, gets ENOTFOUND.
	DecideDeviceAuthorization(ctx context.Context, d *DeviceAuthorization) error
	// PollDeviceAuthorization records a poll of the device code now and
	// returns the authorization as it stands, expired ones included (the
	// caller answers expired_token). A poll sooner than Interval after the
	// previous one (or the creation) while pending sets SlowDown and grows
	// Interval by DeviceSlowDownStep for every later poll (RFC 8628
	// section 3.5). ENOTFOUND if the device code is unknown.
	PollDeviceAuthorization(ctx context.Context, deviceCodeHash string) (*DeviceAuthorization, error)
	// ConsumeDeviceAuthorization moves a live approved authorization to
	// DeviceConsumed and returns it, once: of two concurrent calls exactly
	// one wins. An authorization already consumed gets EREPLAY and every
	// token of its grant (its ID) is revoked; anything else ENOTFOUND.
	ConsumeDeviceAuthorization(ctx context.Context, deviceCodeHash string) (*DeviceAuthorization, error)
	// FailDeviceUserCode counts one wrong user code against every live
	// pending authorization (any of them may be the one guessed at); those
	// that reach max wrong codes expire now. It says how many expired.
	FailDeviceUserCode(ctx context.Context, max int) (int64, error)
}

// States of a device authorization.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceConsumed = "consumed"
)

// DeviceSlowDownStep is how much a too-early poll grows the interval (RFC 8628 section 3.5).
const DeviceSlowDownStep = 5 * time.Second

// DeviceAuthorization is a device authorization request (RFC 8628) and
// the person's answer to it.
type DeviceAuthorization struct {
	ID             string // random, chosen by the caller: the grant id of the tokens it issues
	DeviceCodeHash string
	UserCodeHash   string
	ClientID       string
	Scopes         []string
	Status         string // DevicePending, DeviceApproved, DeviceDenied, DeviceConsumed
	// Interval is the minimum time between polls; SlowDown says the poll
	// that returned this record came too soon (PollDeviceAuthorization).
	Interval  time.Duration
	SlowDown  bool
	Failures  int // wrong user codes counted while it was pending
	CreatedAt time.Time
	ExpiresAt time.Time

	// Set by the decision.
	Provider, Subject string
	// Identity is the person as the sign-in saw them, encoded by the
	// caller; encrypted at rest.
	Identity []byte
	AuthTime time.Time
	AMR      []string
}
