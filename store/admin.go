package store

import (
	"context"
	"time"
)

// RuleStore keeps the admin-edited role mapping rules, versioned. Rules are
// opaque JSON documents here (mapping.Rule); the store orders them, counts
// versions and keeps every change.
//
// Concurrency is optimistic: a change names the version it was made from,
// and a change made from an older version is refused with ECONFLICT, so
// two admins editing the same rule cannot silently overwrite each other.
// Revision increases with every change of the rule set (rules or account
// aliases), so other instances notice changes with one cheap query.
type RuleStore interface {
	// Rules returns every rule in order and the current revision.
	Rules(ctx context.Context) (RuleSet, error)
	// RulesRevision returns the current revision.
	RulesRevision(ctx context.Context) (int64, error)
	// PutRule creates a rule (expectedVersion 0; ECONFLICT if the name
	// exists) at the end of the list, or updates one (expectedVersion must
	// be its current version, else ECONFLICT; ENOTFOUND if absent).
	// action is recorded in the history ("create", "update", "revert").
	PutRule(ctx context.Context, name string, rule []byte, expectedVersion int64, actor, action string) (StoredRule, error)
	// DeleteRule deletes a rule at expectedVersion (ECONFLICT, ENOTFOUND).
	DeleteRule(ctx context.Context, name string, expectedVersion int64, actor string) error
	// ReorderRules sets the order; names must be exactly the current rules
	// and expectedRevision the current revision (else ECONFLICT).
	ReorderRules(ctx context.Context, names []string, expectedRevision int64, actor string) error
	// ReplaceRules makes the rule set exactly rules (in order), recording a
	// change for every rule created, updated or deleted. expectedRevision
	// -1 skips the revision check.
	ReplaceRules(ctx context.Context, rules []NamedRule, expectedRevision int64, actor string) (RuleSet, error)
	// RuleHistory returns a rule's changes, newest first.
	RuleHistory(ctx context.Context, name string) ([]RuleChange, error)
	// DeletedRules returns the deletions of rules that do not exist now
	// (newest first, at most 200), so they can be found and restored.
	DeletedRules(ctx context.Context) ([]RuleChange, error)

	// Accounts returns the account aliases and labels.
	Accounts(ctx context.Context) ([]Account, error)
	// PutAccount creates or replaces an account entry (by ID).
	PutAccount(ctx context.Context, a Account, actor string) error
	// DeleteAccount removes an account entry; missing is not an error.
	DeleteAccount(ctx context.Context, id, actor string) error
}

// RuleSet is the ordered rule list at one revision.
type RuleSet struct {
	Revision int64
	Rules    []StoredRule
}

// StoredRule is one rule as stored.
type StoredRule struct {
	Name      string
	Rule      []byte // JSON
	Position  int
	Version   int64
	UpdatedAt time.Time
	UpdatedBy string
}

// NamedRule is a rule to store.
type NamedRule struct {
	Name string
	Rule []byte // JSON
}

// RuleChange is one entry of a rule's history.
type RuleChange struct {
	ID      int64
	Name    string
	Version int64
	Action  string // create, update, delete, revert, reorder, replace
	Rule    []byte // the rule after the change; nil for a delete
	Actor   string
	Time    time.Time
}

// Account names an AWS account.
type Account struct {
	ID, Alias, Label string
}

// TokenStore keeps admin API tokens. Only a SHA-256 hash of each token is
// stored; the token itself is shown once, when it is created.
type TokenStore interface {
	// CreateAPIToken stores t: EINVALID without an id, a 32-byte hash, an
	// expiry or a scope; ECONFLICT if the id or hash exists.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokens lists every token, expired ones included, oldest first,
	// without their hashes.
	APITokens(ctx context.Context) ([]APIToken, error)
	// APITokenByHash finds a token by its hash and records its use
	// (ENOTFOUND). It does not judge expiry: the caller does.
	APITokenByHash(ctx context.Context, hash []byte) (*APIToken, error)
	DeleteAPIToken(ctx context.Context, id string) error
}

// APIToken is an admin API token.
type APIToken struct {
	ID   string // public id, shown in lists
	Name string
	Hash []byte // SHA-256 of the secret token
	// CreatedBy is the creator's actor id ("provider/subject"); the
	// creator's provider and subject are also kept apart, so the token can
	// be checked against that person's latest sign-in. Both are "" for a
	// token created by something other than a signed-in admin.
	CreatedBy       string
	CreatorProvider string
	CreatorSubject  string
	// Scopes are what the token may do ("rules:read", …); never empty.
	Scopes     []string
	CreatedAt  time.Time
	ExpiresAt  time.Time // required: every token expires
	LastUsedAt time.Time // zero: never used
}

// SignInStore remembers the latest sign-in of each person (their verified
// attributes), for the rule simulator, the impact preview and the check
// that an admin API token's creator is still an admin.
type SignInStore interface {
	// RecordSignIn keeps s as the latest sign-in of its provider and subject.
	RecordSignIn(ctx context.Context, s *SignIn) error
	// RecentSignIns returns the latest sign-ins, newest first.
	RecentSignIns(ctx context.Context, limit int) ([]SignIn, error)
	// SignIn returns the latest sign-in of one person (ENOTFOUND when
	// there is none, e.g. it was purged by retention).
	SignIn(ctx context.Context, provider, subject string) (*SignIn, error)
}

// SignIn is a person's latest sign-in. Identity is the JSON of the verified
// broker.Identity (no credentials); it is encrypted at rest.
type SignIn struct {
	Time     time.Time
	Provider string
	Subject  string
	Identity []byte
}
