package admins_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

const day = 24 * time.Hour

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type tokenEnv struct {
	s     *admins.Service
	db    *sqlstore.DB
	clock *clock
	alice *broker.Identity // an admin by the condition (group broker-admins)
	by    admins.Actor
}

// newTokenEnv is the service on a SQLite store with the admin condition
// "groups has broker-admins", token lifetimes 90 days by default and at
// most 365, and alice's latest sign-in recorded as an admin's.
func newTokenEnv(t *testing.T) *tokenEnv {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: ":memory:", Keys: [][]byte{bytes.Repeat([]byte{5}, 32)}, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, err := mapping.CompileMatcher("admin", mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "broker-admins"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := admins.New(admins.Config{Matcher: m, Store: db, DefaultLifetime: 90 * day, MaxLifetime: 365 * day, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ev := &tokenEnv{s: s, db: db, clock: c,
		by: admins.Actor{ID: "okta/alice", Name: "Alice", RequestID: "r1", RemoteAddr: "192.0.2.1", UserAgent: "test"}}
	ev.alice = ev.signIn(t, "alice", "dev", "broker-admins")
	return ev
}

// signIn records subject's latest sign-in at okta with groups, as the
// portal does.
func (ev *tokenEnv) signIn(t *testing.T, subject string, groups ...string) *broker.Identity {
	t.Helper()
	id := &broker.Identity{Provider: "okta", Protocol: broker.ProtocolSAML, Subject: subject, Attributes: map[string][]string{"groups": groups}}
	b, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.db.RecordSignIn(context.Background(), &store.SignIn{Provider: "okta", Subject: subject, Identity: b}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (ev *tokenEnv) create(t *testing.T, req admins.TokenRequest) (string, *admins.Token) {
	t.Helper()
	secret, tok, err := ev.s.CreateToken(context.Background(), ev.by, ev.alice, req)
	if err != nil {
		t.Fatal(err)
	}
	return secret, tok
}

func TestTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	ev := newTokenEnv(t)
	s := ev.s
	read := []string{admins.ScopeRulesRead}
	for _, name := range []string{"  ", strings.Repeat("n", 101)} {
		if _, _, err := s.CreateToken(ctx, ev.by, ev.alice, admins.TokenRequest{Name: name, Scopes: read}); broker.ErrorReason(err) != "token_name" {
			t.Fatalf("name %q: %v", name, err)
		}
	}
	secret, tok := ev.create(t, admins.TokenRequest{Name: " ci deploy ", Scopes: []string{admins.ScopeRulesWrite, admins.ScopeRulesRead, admins.ScopeRulesRead}})
	if !strings.HasPrefix(secret, admins.TokenPrefix) || len(secret) < 40 || tok.Name != "ci deploy" || tok.Hash != nil {
		t.Fatalf("secret %d chars, token %+v", len(secret), tok)
	}
	if fmt.Sprint(tok.Scopes) != "[rules:read rules:write]" || !tok.ExpiresAt.Equal(ev.clock.Now().Add(90*day)) {
		t.Fatalf("scopes %v (want deduplicated, in order), expiry %v (want the 90-day default)", tok.Scopes, tok.ExpiresAt)
	}
	list, err := s.Tokens(ctx)
	if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].CreatedBy != "okta/alice" ||
		list[0].CreatorProvider != "okta" || list[0].CreatorSubject != "alice" || !list[0].ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("tokens = %+v, %v", list, err)
	}
	if bytes.Contains(list[0].Hash, []byte(secret)) {
		t.Fatal("the secret is stored")
	}

	caller, err := s.Authenticate(ctx, secret, admins.Actor{RequestID: "r2"})
	if err != nil || caller.Actor.ID != "token:ci deploy" || caller.Actor.RequestID != "r2" || fmt.Sprint(caller.Token.Scopes) != "[rules:read rules:write]" {
		t.Fatalf("authenticate = %+v, %v", caller, err)
	}
	for _, bad := range []struct{ tok, reason string }{
		{"", "api_token_malformed"},
		{"Bearer " + secret, "api_token_malformed"},
		{admins.TokenPrefix + strings.Repeat("a", 300), "api_token_malformed"},
		{secret + "x", "api_token_unknown"},
	} {
		if _, err := s.Authenticate(ctx, bad.tok, admins.Actor{}); broker.ErrorReason(err) != bad.reason || broker.ErrorCode(err) != broker.EUNAUTHORIZED {
			t.Errorf("Authenticate(%.20q) = %v, want %s", bad.tok, err, bad.reason)
		}
	}

	if err := s.RevokeToken(ctx, ev.by, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, secret, admins.Actor{}); broker.ErrorReason(err) != "api_token_unknown" {
		t.Fatalf("revoked token: %v", err)
	}

	evs, err := s.Audit(ctx, admins.AuditFilter{Subject: "okta/alice"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Event)
		if e.Result != store.ResultSuccess || e.RequestID != "r1" || e.RemoteAddr != "192.0.2.1" || strings.Contains(e.Message, secret) {
			t.Errorf("audit event %+v", e)
		}
	}
	if strings.Join(got, ",") != "api_token_revoked,api_token_created" {
		t.Fatalf("audit events = %v", got)
	}
	created := evs[1]
	if created.Details["scopes"] != "rules:read rules:write" || created.Details["expires_at"] != "2027-02-20T10:00:00Z" ||
		!strings.Contains(created.Message, "expires 2027-02-20T10:00:00Z") {
		t.Errorf("api_token_created records %q %v, want the scopes and the expiry", created.Message, created.Details)
	}
}

func TestTokenExpires(t *testing.T) {
	ctx := context.Background()
	ev := newTokenEnv(t)
	secret, tok := ev.create(t, admins.TokenRequest{Name: "week", Lifetime: 7 * day, Scopes: admins.ReadOnlyScopes()})
	ev.clock.Advance(7*day - time.Second)
	if _, err := ev.s.Authenticate(ctx, secret, admins.Actor{}); err != nil {
		t.Fatalf("a second before its expiry: %v", err)
	}
	ev.clock.Advance(time.Second)
	_, err := ev.s.Authenticate(ctx, secret, admins.Actor{RequestID: "r9"})
	if broker.ErrorCode(err) != broker.EUNAUTHORIZED || broker.ErrorReason(err) != admins.ReasonTokenExpired ||
		!strings.Contains(broker.ErrorMessage(err), "expired at 2026-11-29T10:00:00Z") || !strings.Contains(broker.ErrorMessage(err), "create a new one") {
		t.Fatalf("at its expiry: %v (%s)", err, broker.ErrorMessage(err))
	}
	// Refused, logged in the audit with its reason, and still listed.
	evs, _ := ev.s.Audit(ctx, admins.AuditFilter{Event: "api_token_refused"})
	if len(evs) != 1 || evs[0].Reason != admins.ReasonTokenExpired || evs[0].Result != store.ResultFailure || evs[0].Subject != "token:week" ||
		evs[0].RequestID != "r9" || strings.Contains(evs[0].Message, secret) {
		t.Fatalf("audit %+v", evs)
	}
	if list, _ := ev.s.Tokens(ctx); len(list) != 1 || list[0].ID != tok.ID {
		t.Fatalf("expired token not listed: %+v", list)
	}
}

func TestTokenCreationRefusals(t *testing.T) {
	ctx := context.Background()
	ev := newTokenEnv(t)
	read := admins.ReadOnlyScopes()
	for name, c := range map[string]struct {
		req     admins.TokenRequest
		creator *broker.Identity
		reason  string
		msg     string
	}{
		"unknown scope":     {admins.TokenRequest{Name: "x", Scopes: []string{"rules:read", "rules:admin"}}, ev.alice, "api_token_scope_unknown", `"rules:admin"`},
		"no scope":          {admins.TokenRequest{Name: "x"}, ev.alice, "api_token_scope_none", "at least one scope"},
		"over the max":      {admins.TokenRequest{Name: "x", Scopes: read, Lifetime: 366 * day}, ev.alice, "api_token_lifetime", "at most 365 days"},
		"negative lifetime": {admins.TokenRequest{Name: "x", Scopes: read, Lifetime: -time.Hour}, ev.alice, "api_token_lifetime", "positive"},
		"no creator":        {admins.TokenRequest{Name: "x", Scopes: read}, nil, "api_token_creator", "signed-in broker administrator"},
		"creator not admin": {admins.TokenRequest{Name: "x", Scopes: read}, ev.signIn(t, "bob", "dev"), "api_token_creator", "signed-in broker administrator"},
	} {
		_, _, err := ev.s.CreateToken(ctx, ev.by, c.creator, c.req)
		if broker.ErrorReason(err) != c.reason || !strings.Contains(broker.ErrorMessage(err), c.msg) {
			t.Errorf("%s: %v (%s), want %s saying %q", name, err, broker.ErrorMessage(err), c.reason, c.msg)
		}
	}
	// The max itself is allowed.
	if _, tok := ev.create(t, admins.TokenRequest{Name: "year", Scopes: read, Lifetime: 365 * day}); !tok.ExpiresAt.Equal(ev.clock.Now().Add(365 * day)) {
		t.Fatalf("expiry %v", tok.ExpiresAt)
	}
	if list, _ := ev.s.Tokens(ctx); len(list) != 1 {
		t.Fatalf("refused requests created tokens: %+v", list)
	}
	if _, err := admins.New(admins.Config{Store: ev.db, DefaultLifetime: 400 * day, MaxLifetime: 365 * day}); err == nil {
		t.Fatal("a default above the max was accepted")
	}
}

// A token works only while its creator's latest sign-in satisfies the
// admin condition now.
func TestTokenOrphanedWhenItsCreatorIsNoLongerAnAdmin(t *testing.T) {
	ctx := context.Background()
	ev := newTokenEnv(t)
	secret, _ := ev.create(t, admins.TokenRequest{Name: "ci", Scopes: admins.ReadOnlyScopes(), Lifetime: 365 * day})
	if _, err := ev.s.Authenticate(ctx, secret, admins.Actor{}); err != nil {
		t.Fatalf("creator's latest sign-in with the admin group: %v", err)
	}
	// Alice signs in again, no longer in the admin group: refused at once.
	ev.signIn(t, "alice", "dev")
	_, err := ev.s.Authenticate(ctx, secret, admins.Actor{})
	if broker.ErrorCode(err) != broker.EUNAUTHORIZED || broker.ErrorReason(err) != admins.ReasonTokenOrphaned ||
		!strings.Contains(broker.ErrorMessage(err), "no longer a broker administrator") || !strings.Contains(broker.ErrorMessage(err), "must create a new token") {
		t.Fatalf("creator without the admin group: %v (%s)", err, broker.ErrorMessage(err))
	}
	// Back in the group: the token works again (nothing was deleted).
	ev.signIn(t, "alice", "broker-admins")
	if _, err := ev.s.Authenticate(ctx, secret, admins.Actor{}); err != nil {
		t.Fatalf("creator back in the admin group: %v", err)
	}
	// Her sign-in record purged by retention: refused.
	ev.clock.Advance(91 * day)
	if _, err := ev.db.Purge(ctx, store.Retention{SignIns: 90 * day}); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.s.Authenticate(ctx, secret, admins.Actor{}); broker.ErrorReason(err) != admins.ReasonTokenOrphaned {
		t.Fatalf("creator's sign-in purged: %v", err)
	}
	evs, _ := ev.s.Audit(ctx, admins.AuditFilter{Event: "api_token_refused"})
	if len(evs) != 2 || evs[0].Reason != admins.ReasonTokenOrphaned || !strings.Contains(evs[0].Message, "okta/alice") || !strings.Contains(evs[0].Message, "purged") {
		t.Fatalf("audit %+v", evs)
	}
}

// A token with no signed-in creator (only possible in a store written
// by hand: the broker creates none) is orphaned.
func TestTokenWithoutCreatorIsOrphaned(t *testing.T) {
	ctx := context.Background()
	ev := newTokenEnv(t)
	secret := admins.TokenPrefix + "handmade-token-0123456789"
	sum := sha256Sum(secret)
	if err := ev.db.CreateAPIToken(ctx, &store.APIToken{ID: "h", Name: "h", Hash: sum, CreatedBy: "cli:root",
		Scopes: admins.Scopes(), ExpiresAt: ev.clock.Now().Add(day)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.s.Authenticate(ctx, secret, admins.Actor{}); broker.ErrorReason(err) != admins.ReasonTokenOrphaned {
		t.Fatalf("token without a creator: %v", err)
	}
}

func TestRefuseScope(t *testing.T) {
	ctx := context.Background()
	ev := newTokenEnv(t)
	err := ev.s.RefuseScope(ctx, admins.Actor{ID: "token:ci", RequestID: "r3"}, admins.ScopeRulesWrite)
	if broker.ErrorCode(err) != broker.EFORBIDDEN || broker.ErrorReason(err) != admins.ReasonTokenScope || !strings.Contains(broker.ErrorMessage(err), "rules:write") {
		t.Fatalf("RefuseScope = %v", err)
	}
	evs, _ := ev.s.Audit(ctx, admins.AuditFilter{Event: "api_token_refused"})
	if len(evs) != 1 || evs[0].Subject != "token:ci" || evs[0].Reason != admins.ReasonTokenScope || evs[0].Details["scope"] != "rules:write" {
		t.Fatalf("audit %+v", evs)
	}
}

func TestScopes(t *testing.T) {
	if got := fmt.Sprint(admins.Scopes()); got != "[rules:read rules:write audit:read accounts:read accounts:write sessions:read sessions:write links:read links:write apps:read apps:write]" {
		t.Errorf("Scopes() = %s", got)
	}
	if got := fmt.Sprint(admins.ReadOnlyScopes()); got != "[rules:read audit:read accounts:read sessions:read links:read apps:read]" {
		t.Errorf("ReadOnlyScopes() = %s", got)
	}
	if admins.IsScope("rules:admin") || !admins.IsScope(admins.ScopeSessionsWrite) {
		t.Error("IsScope")
	}
	for d, want := range map[time.Duration]string{day: "1 day", 90 * day: "90 days", 36 * time.Hour: "36h0m0s"} {
		if got := admins.FormatLifetime(d); got != want {
			t.Errorf("FormatLifetime(%v) = %q, want %q", d, got, want)
		}
	}
}

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
