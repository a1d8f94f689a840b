package admins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// AuditEvent and AuditFilter are the audit log's record and query.
type (
	AuditEvent  = store.AuditEvent
	AuditFilter = store.AuditFilter
)

// The results an audit event has.
const (
	ResultSuccess = store.ResultSuccess
	ResultFailure = store.ResultFailure
)

// Store is what the service needs from the store.
type Store interface {
	store.TokenStore
	// SignIn is the latest sign-in of an API token's creator.
	SignIn(ctx context.Context, provider, subject string) (*store.SignIn, error)
	AppendAudit(ctx context.Context, e *store.AuditEvent) error
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// Config configures the service.
type Config struct {
	// Matcher is the admin condition; nil means nobody is an admin (the
	// admin pages and API are disabled).
	Matcher *mapping.Matcher
	// RequireMFA admits to the admin pages and API only sessions whose
	// sign-in the IdP asserted as multi-factor (admin.require_mfa).
	RequireMFA bool
	Store      Store
	// DefaultLifetime is an API token's lifetime when none is asked for
	// (0: 90 days); MaxLifetime the longest one may have (0: 365 days, or
	// the default if that is longer).
	DefaultLifetime, MaxLifetime time.Duration
	Logger                       *slog.Logger
	Now                          func() time.Time
}

// The lifetimes of API tokens when Config leaves them zero.
const (
	DefaultTokenLifetime = 90 * 24 * time.Hour
	MaxTokenLifetime     = 365 * 24 * time.Hour
)

// Service is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New returns a service; Store is required, and DefaultLifetime may not
// exceed MaxLifetime.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("admins: Store is required")
	}
	if cfg.DefaultLifetime == 0 {
		cfg.DefaultLifetime = DefaultTokenLifetime
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = max(MaxTokenLifetime, cfg.DefaultLifetime)
	}
	if cfg.DefaultLifetime < 0 || cfg.DefaultLifetime > cfg.MaxLifetime {
		return nil, fmt.Errorf("admins: the default token lifetime %v is not between 0 and the maximum %v", cfg.DefaultLifetime, cfg.MaxLifetime)
	}
	s := &Service{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Actor is who performs an administrative action, and from where.
type Actor = broker.Actor

// Errors callers branch on.
var (
	ErrDisabled       = broker.Errorf(broker.EFORBIDDEN, "admin_disabled", "The admin pages are disabled: no admin condition is configured.")
	ErrNotAdmin       = broker.Errorf(broker.EFORBIDDEN, "not_admin", "You are signed in, but you are not a broker administrator.")
	ErrTokenMalformed = broker.Errorf(broker.EUNAUTHORIZED, ReasonTokenMalformed, "Send an admin API token as Authorization: Bearer brk_….")
	ErrTokenUnknown   = broker.Errorf(broker.EUNAUTHORIZED, ReasonTokenUnknown, "The API token is not valid (revoked, or never created).")
	ErrTokenOrphaned  = broker.Errorf(broker.EUNAUTHORIZED, ReasonTokenOrphaned,
		"This API token no longer works: the person who created it is no longer a broker administrator. An admin must create a new token under Admin → API tokens.")
)

// Enabled reports whether an admin condition is configured.
func (s *Service) Enabled() bool { return s != nil && s.cfg.Matcher != nil }

// RequiresMFA reports whether admin sessions need a multi-factor sign-in.
func (s *Service) RequiresMFA() bool { return s != nil && s.cfg.RequireMFA }

// IsAdmin reports whether a verified identity meets the admin condition
// now, and why not.
func (s *Service) IsAdmin(id *broker.Identity) (bool, string) {
	if !s.Enabled() || id == nil {
		return false, "no admin condition"
	}
	return s.cfg.Matcher.Match(id)
}

// Audit returns audit events matching f, newest first.
func (s *Service) Audit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	return s.cfg.Store.ListAudit(ctx, f)
}

func (s *Service) audit(ctx context.Context, by Actor, event, msg string) {
	s.appendAudit(ctx, by, &store.AuditEvent{Event: event, Result: store.ResultSuccess, Message: msg})
}

// appendAudit records ev as done by by (a write failure is logged).
func (s *Service) appendAudit(ctx context.Context, by Actor, ev *store.AuditEvent) {
	ev.RequestID, ev.Subject, ev.RemoteAddr, ev.UserAgent = by.RequestID, by.ID, by.RemoteAddr, by.UserAgent
	if err := s.cfg.Store.AppendAudit(ctx, ev); err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "event", ev.Event, "subject", by.ID, "err", err)
	}
}
