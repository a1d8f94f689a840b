package broker

import (
	"log/slog"
	"time"
)

// Credentials are temporary AWS credentials returned by STS. They are a
// secret: String and LogValue redact everything but the key id's prefix and
// the expiry, so a stray %v or slog attribute never leaks them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time

	AssumedRoleARN  string // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
	AssumedRoleID   string
	SourceIdentity  string
	PackedPolicyPct int // PackedPolicySize, percent of the limit
}

// String redacts the secret parts.
func (c Credentials) String() string {
	return "Credentials{AccessKeyID:" + redactKeyID(c.AccessKeyID) + " Expiration:" + c.Expiration.UTC().Format(time.RFC3339) + " secret:REDACTED}"
}

// GoString redacts the secret parts for %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", redactKeyID(c.AccessKeyID)),
		slog.Time("expiration", c.Expiration),
		slog.String("assumed_role", c.AssumedRoleARN),
	)
}

func redactKeyID(id string) string {
	if len(id) <= 8 {
		return "REDACTED"
	}
	return id[:8] + "…"
}
