package admins

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// TokenPrefix starts every admin API token, so a leaked one is easy to
// recognise (and to scan for).
const TokenPrefix = "brk_"

// maxTokenLen bounds what is hashed from an Authorization header.
const maxTokenLen = 200

// Token is an admin API token as admins see it (its hash never leaves the store).
type Token = store.APIToken

// The reasons an API token is refused (broker.ErrorReason), also recorded
// in the audit log as api_token_refused events.
const (
	ReasonTokenMalformed = "api_token_malformed" // not "Bearer brk_…"
	ReasonTokenUnknown   = "api_token_unknown"   // revoked or never created
	ReasonTokenExpired   = "api_token_expired"   // past its ExpiresAt
	ReasonTokenOrphaned  = "api_token_orphaned"  // its creator is no longer an admin
	ReasonTokenScope     = "api_token_scope"     // the route needs a scope the token lacks
)

// TokenRequest is what an admin asks for when creating a token.
type TokenRequest struct {
	Name string
	// Lifetime is how long the token works; 0 means the configured
	// default, more than the configured maximum is refused.
	Lifetime time.Duration
	// Scopes are what the token may do: at least one, each from Scopes().
	Scopes []string
}

// Caller is who an authenticated API token acts as, and what it may do.
type Caller struct {
	Actor Actor  // "token:NAME", with the request's metadata
	Token *Token // Token.Scopes is what it may do
}

// Lifetimes returns the default and the maximum lifetime of a token.
func (s *Service) Lifetimes() (def, maxLifetime time.Duration) {
	return s.cfg.DefaultLifetime, s.cfg.MaxLifetime
}

// Authenticate checks an admin API token (the value after "Bearer "),
// from being the request's metadata (RequestID, RemoteAddr, UserAgent).
// It refuses, with EUNAUTHORIZED and the reason: a malformed token
// (ReasonTokenMalformed), one revoked or never created (ReasonTokenUnknown),
// one past its expiry (ReasonTokenExpired), and one whose creator is no
// longer an admin (ReasonTokenOrphaned): the creator's latest sign-in
// kept by the store must satisfy the admin condition now. Expired and
// orphaned refusals are audited (api_token_refused). A store failure is
// returned as is (EUNAVAILABLE or EINTERNAL).
func (s *Service) Authenticate(ctx context.Context, token string, from Actor) (*Caller, error) {
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
	who := from
	who.ID, who.Name = "token:"+t.Name, "API token "+t.Name
	if now := s.now(); !now.Before(t.ExpiresAt) {
		err := broker.Errorf(broker.EUNAUTHORIZED, ReasonTokenExpired,
			"This API token expired at %s. An admin must create a new one under Admin → API tokens.", t.ExpiresAt.UTC().Format(time.RFC3339))
		s.refused(ctx, who, t, ReasonTokenExpired, "expired at "+t.ExpiresAt.UTC().Format(time.RFC3339))
		return nil, err
	}
	ok, why, err := s.creatorIsAdmin(ctx, t)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.refused(ctx, who, t, ReasonTokenOrphaned, "creator "+creatorOf(t)+" is no longer an admin: "+why)
		return nil, ErrTokenOrphaned
	}
	return &Caller{Actor: who, Token: t}, nil
}

// RefuseScope records that the token of who was refused a route needing
// scope, and returns the error to answer with (EFORBIDDEN, ReasonTokenScope).
func (s *Service) RefuseScope(ctx context.Context, who Actor, scope string) error {
	s.log.WarnContext(ctx, "api token refused", "request_id", who.RequestID, "actor", who.ID, "reason", ReasonTokenScope, "scope", scope)
	s.appendAudit(ctx, who, &store.AuditEvent{Event: "api_token_refused", Result: store.ResultFailure, Reason: ReasonTokenScope,
		Message: "needs scope " + scope, Details: map[string]string{"scope": scope}})
	return broker.Errorf(broker.EFORBIDDEN, ReasonTokenScope,
		"This API token does not have the scope %s, which this request needs. An admin can create a token with that scope under Admin → API tokens.", scope)
}

// refused logs and audits a refusal of a known token (never its secret).
func (s *Service) refused(ctx context.Context, who Actor, t *Token, reason, msg string) {
	s.log.WarnContext(ctx, "api token refused", "request_id", who.RequestID, "actor", who.ID, "token_id", t.ID, "reason", reason, "why", msg)
	s.appendAudit(ctx, who, &store.AuditEvent{Event: "api_token_refused", Result: store.ResultFailure, Reason: reason,
		Message: "token " + t.ID + ": " + msg, Details: map[string]string{"token_id": t.ID, "created_by": t.CreatedBy}})
}

func creatorOf(t *Token) string {
	if t.CreatorProvider == "" {
		return "(none)"
	}
	return t.CreatorProvider + "/" + t.CreatorSubject
}

// creatorIsAdmin decides whether t's creator is an admin now: their latest
// sign-in kept by the store satisfies the admin condition. A token with no
// signed-in creator, or whose creator has no sign-in kept (purged by
// retention, or unreadable), is orphaned.
func (s *Service) creatorIsAdmin(ctx context.Context, t *Token) (bool, string, error) {
	if t.CreatorProvider == "" || t.CreatorSubject == "" {
		return false, "the token has no signed-in creator", nil
	}
	return s.latestSignInIsAdmin(ctx, t.CreatorProvider, t.CreatorSubject)
}

func (s *Service) latestSignInIsAdmin(ctx context.Context, provider, subject string) (bool, string, error) {
	in, err := s.cfg.Store.SignIn(ctx, provider, subject)
	if broker.ErrorCode(err) == broker.ENOTFOUND {
		return false, "no sign-in of theirs is kept (never recorded, or purged by store.retention.sign_ins)", nil
	}
	if err != nil {
		return false, "", err
	}
	var id broker.Identity
	if err := json.Unmarshal(in.Identity, &id); err != nil || id.Provider != provider || id.Subject != subject {
		return false, "their latest sign-in record is unreadable", nil
	}
	if id.Attributes == nil {
		id.Attributes = map[string][]string{}
	}
	ok, why := s.IsAdmin(&id)
	return ok, why, nil
}

// Tokens lists the admin API tokens, expired ones included.
func (s *Service) Tokens(ctx context.Context) ([]Token, error) {
	return s.cfg.Store.APITokens(ctx)
}

// CreateToken makes a new admin API token for the signed-in admin creator
// (by is the same person with the request's metadata) and returns its
// secret, which is shown once and never stored. It refuses with EINVALID a
// bad name (token_name), no or an unknown scope (api_token_scope_none,
// api_token_scope_unknown) and a lifetime below zero or above the maximum
// (api_token_lifetime); with EFORBIDDEN a creator who is not an admin by
// their latest sign-in (api_token_creator), as the token would not work.
func (s *Service) CreateToken(ctx context.Context, by Actor, creator *broker.Identity, req TokenRequest) (string, *Token, error) {
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 100 {
		return "", nil, broker.Errorf(broker.EINVALID, "token_name", "Give the token a name of up to 100 characters (what it is for).")
	}
	scopes, err := normalizeScopes(req.Scopes)
	if err != nil {
		return "", nil, err
	}
	lifetime, err := s.lifetime(req.Lifetime)
	if err != nil {
		return "", nil, err
	}
	if err := s.checkCreator(ctx, creator); err != nil {
		return "", nil, err
	}
	secret := TokenPrefix + randomToken(32)
	sum := sha256.Sum256([]byte(secret))
	now := s.now()
	t := &Token{ID: randomToken(9), Name: name, Hash: sum[:], CreatedBy: by.ID,
		CreatorProvider: creator.Provider, CreatorSubject: creator.Subject,
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(lifetime)}
	if err := s.cfg.Store.CreateAPIToken(ctx, t); err != nil {
		return "", nil, err
	}
	exp := t.ExpiresAt.UTC().Format(time.RFC3339)
	s.appendAudit(ctx, by, &store.AuditEvent{Event: "api_token_created", Result: store.ResultSuccess,
		Message: "token " + t.ID + " " + name + " (" + strings.Join(scopes, " ") + "; expires " + exp + ")",
		Details: map[string]string{"token_id": t.ID, "scopes": strings.Join(scopes, " "), "expires_at": exp}})
	t.Hash = nil
	return secret, t, nil
}

// lifetime resolves an asked-for lifetime against the configured bounds.
func (s *Service) lifetime(asked time.Duration) (time.Duration, error) {
	switch {
	case asked == 0:
		return s.cfg.DefaultLifetime, nil
	case asked < 0:
		return 0, broker.Errorf(broker.EINVALID, "api_token_lifetime", "A token's lifetime must be positive.")
	case asked > s.cfg.MaxLifetime:
		return 0, broker.Errorf(broker.EINVALID, "api_token_lifetime",
			"A token may live at most %s (admin.api_tokens.max_lifetime); pick a shorter lifetime.", FormatLifetime(s.cfg.MaxLifetime))
	}
	return asked, nil
}

// checkCreator refuses a creator whose token would be orphaned at once.
func (s *Service) checkCreator(ctx context.Context, creator *broker.Identity) error {
	notAdmin := broker.Errorf(broker.EFORBIDDEN, "api_token_creator",
		"Only a signed-in broker administrator can create API tokens, and a token works only while its creator's latest sign-in is an administrator's. Sign in again, then create the token.")
	if creator == nil || creator.Provider == "" || creator.Subject == "" {
		return notAdmin
	}
	if ok, _ := s.IsAdmin(creator); !ok {
		return notAdmin
	}
	ok, why, err := s.latestSignInIsAdmin(ctx, creator.Provider, creator.Subject)
	if err != nil {
		return err
	}
	if !ok {
		s.log.InfoContext(ctx, "api token creation refused", "provider", creator.Provider, "subject", creator.Subject, "why", why)
		return notAdmin
	}
	return nil
}

// FormatLifetime shows a lifetime in days when it is whole days ("90
// days"), else as a duration.
func FormatLifetime(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// RevokeToken deletes a token; it stops working at once.
func (s *Service) RevokeToken(ctx context.Context, by Actor, id string) error {
	if err := s.cfg.Store.DeleteAPIToken(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, by, "api_token_revoked", "token "+id)
	return nil
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("admins: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
