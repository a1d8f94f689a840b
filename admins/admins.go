package admins

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// TokenPrefix starts every admin API token, so a leaked one is easy to
// recognise (and to scan for).
const TokenPrefix = "brk_"

// maxTokenLen bounds what is hashed from an Authorization header.
const maxTokenLen = 200

// Token is an admin API token as admins see it (its hash never leaves the store).
type Token = store.APIToken

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
	AppendAudit(ctx context.Context, e *store.AuditEvent) error
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// Config configures the service.
type Config struct {
	// Matcher is the admin condition; nil means nobody is an admin (the
	// admin pages and API are disabled).
	Matcher *mapping.Matcher
	Store   Store
	Logger  *slog.Logger
}

// Service is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns a service; Store is required.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("admins: Store is required")
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Actor is who performs an administrative action, and from where.
type Actor = broker.Actor

// Errors callers branch on.
var (
	ErrDisabled       = broker.Errorf(broker.EFORBIDDEN, "admin_disabled", "The admin pages are disabled: no admin condition is configured.")
	ErrNotAdmin       = broker.Errorf(broker.EFORBIDDEN, "not_admin", "You are signed in, but you are not a broker administrator.")
	ErrTokenMalformed = broker.Errorf(broker.EUNAUTHORIZED, "api_token_malformed", "Send an admin API token as Authorization: Bearer brk_….")
	ErrTokenUnknown   = broker.Errorf(broker.EUNAUTHORIZED, "api_token_unknown", "The API token is not valid (revoked, or never created).")
)

// Enabled reports whether an admin condition is configured.
func (s *Service) Enabled() bool { return s != nil && s.cfg.Matcher != nil }

// IsAdmin reports whether a verified identity meets the admin condition
// now, and why not.
func (s *Service) IsAdmin(id *broker.Identity) (bool, string) {
	if !s.Enabled() || id == nil {
		return false, "no admin condition"
	}
	return s.cfg.Matcher.Match(id)
}

// Authenticate checks an admin API token (the value after "Bearer ").
func (s *Service) Authenticate(ctx context.Context, token string) (*Actor, error) {
	if !s.Enabled() {
		return nil, ErrDisabled
	}
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > maxTokenLen {
		return nil, ErrTokenMalformed
	}
	sum := sha256.Sum256([]byte(token))
	t, err := s.cfg.Store.APITokenByHash(ctx, sum[:])
	if err != nil {
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			return nil, ErrTokenUnknown
		}
		return nil, err
	}
	return &Actor{ID: "token:" + t.Name, Name: "API token " + t.Name}, nil
}

// Tokens lists the admin API tokens.
func (s *Service) Tokens(ctx context.Context) ([]Token, error) {
	return s.cfg.Store.APITokens(ctx)
}

// CreateToken makes a new admin API token and returns its secret, which
// is shown once and never stored.
func (s *Service) CreateToken(ctx context.Context, by Actor, name string) (string, *Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", nil, broker.Errorf(broker.EINVALID, "token_name", "Give the token a name of up to 100 characters (what it is for).")
	}
	secret := TokenPrefix + randomToken(32)
	sum := sha256.Sum256([]byte(secret))
	t := &Token{ID: randomToken(9), Name: name, Hash: sum[:], CreatedBy: by.ID}
	if err := s.cfg.Store.CreateAPIToken(ctx, t); err != nil {
		return "", nil, err
	}
	s.audit(ctx, by, "api_token_created", "token "+t.ID+" "+name)
	return secret, t, nil
}

// RevokeToken deletes a token; it stops working at once.
func (s *Service) RevokeToken(ctx context.Context, by Actor, id string) error {
	if err := s.cfg.Store.DeleteAPIToken(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, by, "api_token_revoked", "token "+id)
	return nil
}

// Audit returns audit events matching f, newest first.
func (s *Service) Audit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	return s.cfg.Store.ListAudit(ctx, f)
}

func (s *Service) audit(ctx context.Context, by Actor, event, msg string) {
	ev := &store.AuditEvent{RequestID: by.RequestID, Event: event, Result: store.ResultSuccess,
		Subject: by.ID, Message: msg, RemoteAddr: by.RemoteAddr, UserAgent: by.UserAgent}
	if err := s.cfg.Store.AppendAudit(ctx, ev); err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "event", event, "subject", by.ID, "err", err)
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("admins: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
