package ruleset

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

// AdminStore is what Admin needs from the store: the rules and accounts
// (versioned, with history), the short links, the audit log, and the
// recent sign-ins the impact preview and the simulator read.
type AdminStore interface {
	store.RuleStore
	store.SignInStore
	store.ShortLinkStore
	AppendAudit(ctx context.Context, e *store.AuditEvent) error
}

var _ AdminStore = store.Store(nil)

// Actor is who makes a change (broker.Actor): recorded in the rules'
// history and as the Subject of the change's audit event.
type Actor = broker.Actor

// SeedActor is the actor of the start-up seed.
const SeedActor = "seed"

// CLIActor is the actor of `broker rules` run by the operating-system user user.
func CLIActor(user string) Actor { return Actor{ID: "cli:" + user} }

// AdminConfig configures NewAdmin.
type AdminConfig struct {
	Store AdminStore
	// Source, if set, is told to reload after every change, so this
	// instance applies it at once (the others poll), and is the engine in
	// force for Simulate and ImpactPreview. Its options are the engine
	// options, and Options is ignored.
	Source *Source
	// Options are the engine options when there is no Source; Accounts is
	// replaced by the accounts of each candidate set.
	Options mapping.Options
	Logger  *slog.Logger
	Now     func() time.Time
}

// Admin is the one way rules and accounts change. Every change reads the
// store's current rules and accounts (never an instance's snapshot),
// checks that the whole candidate set compiles, saves it with the
// version or revision check (ECONFLICT when stale; the store records the
// history), writes one audit event and reloads the local Source.
//
// Errors are *broker.Error: EINVALID with the Problems as cause when the
// candidate set does not compile (ProblemsOf), ECONFLICT, ENOTFOUND, and
// the store's. An Admin holds no state of its own and is safe for
// concurrent use.
type Admin struct {
	st   AdminStore
	src  *Source
	opts mapping.Options
	log  *slog.Logger
	now  func() time.Time
}

// NewAdmin returns the rule-administration service on cfg.Store.
func NewAdmin(cfg AdminConfig) (*Admin, error) {
	if cfg.Store == nil {
		return nil, errors.New("ruleset: admin: a store is required")
	}
	a := &Admin{st: cfg.Store, src: cfg.Source, opts: cfg.Options, log: cfg.Logger, now: cfg.Now}
	if cfg.Source != nil {
		a.opts = cfg.Source.base
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Options returns the engine options with the given accounts.
func (a *Admin) Options(accounts []mapping.Account) mapping.Options {
	o := a.opts
	o.Accounts = accounts
	return o
}

// Snapshot is the rule set as the store holds it now.
type Snapshot struct {
	Revision int64
	Rules    []Rule // rules that do not decode are left out (see Unreadable)
	Accounts []mapping.Account
	// Unreadable lists stored rules that do not decode. A change is
	// refused while one is left in the set; replace or delete it.
	Unreadable Problems
}

// current is the store's state with the undecodable rules kept in place.
type current struct {
	revision int64
	rules    []Rule           // every stored rule, in order
	bad      map[string]error // name → why it does not decode
	accounts []mapping.Account
}

func (a *Admin) read(ctx context.Context) (*current, error) {
	set, err := a.st.Rules(ctx)
	if err != nil {
		return nil, err
	}
	accts, err := a.st.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	c := &current{revision: set.Revision, accounts: fromStoredAccounts(accts), bad: map[string]error{}}
	for _, sr := range set.Rules {
		r, err := fromStored(sr)
		if err != nil {
			c.bad[sr.Name] = err
		}
		c.rules = append(c.rules, r)
	}
	return c, nil
}

func (c *current) find(name string) (Rule, bool) {
	for _, r := range c.rules {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// candidate is the current rules with rule in place of the rule named
// replace (appended when replace is "" or absent), or without it when rule
// is nil; unreadable stored rules are left out and returned as problems.
func (c *current) candidate(replace string, rule *mapping.Rule) ([]mapping.Rule, Problems) {
	out := make([]mapping.Rule, 0, len(c.rules)+1)
	var bad Problems
	done := false
	for _, r := range c.rules {
		if replace != "" && r.Name == replace {
			done = true
			if rule != nil {
				out = append(out, *rule)
			}
			continue
		}
		if err := c.bad[r.Name]; err != nil {
			bad = append(bad, Problem{Rule: r.Name, Index: len(out), Reason: "the stored rule cannot be read (" + err.Error() + "); replace or delete it"})
			continue
		}
		out = append(out, r.Rule)
	}
	if !done && rule != nil {
		out = append(out, *rule)
	}
	return out, bad
}

// check compiles a candidate with accounts; unreadable stored rules are
// problems too. Indexes are positions in rules.
func (a *Admin) check(rules []mapping.Rule, unreadable Problems, accounts []mapping.Account) (*mapping.Engine, Problems) {
	eng, ps := compile(rules, a.Options(accounts))
	if len(unreadable) == 0 {
		return eng, ps
	}
	return nil, append(append(Problems(nil), unreadable...), ps...)
}

// Current returns the rules and accounts in the store now.
func (a *Admin) Current(ctx context.Context) (*Snapshot, error) {
	c, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Revision: c.revision, Accounts: c.accounts}
	for i, r := range c.rules {
		if err := c.bad[r.Name]; err != nil {
			s.Unreadable = append(s.Unreadable, Problem{Rule: r.Name, Index: i, Reason: "the stored rule cannot be read: " + err.Error()})
			continue
		}
		s.Rules = append(s.Rules, r)
	}
	return s, nil
}

// Rule returns the stored rule named name (ENOTFOUND).
func (a *Admin) Rule(ctx context.Context, name string) (Rule, error) {
	c, err := a.read(ctx)
	if err != nil {
		return Rule{}, err
	}
	r, ok := c.find(name)
	if !ok {
		return Rule{}, errNotFound(name)
	}
	if err := c.bad[name]; err != nil {
		return Rule{}, broker.Wrap(err, broker.EINVALID, "rule_undecodable", fmt.Sprintf("The stored rule %q cannot be read.", name))
	}
	return r, nil
}

// Candidate returns the store's current rules with rule in place of the
// rule named replace (appended when replace is "" or absent), or without
// it when rule is nil: the set a change would check, for Simulate and
// ImpactPreview before anything is saved.
func (a *Admin) Candidate(ctx context.Context, replace string, rule *mapping.Rule) ([]mapping.Rule, error) {
	c, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	rules, _ := c.candidate(replace, rule)
	return rules, nil
}

// Check compiles rules with accounts (nil: the store's current accounts)
// and returns every problem (nil when they compile); it changes nothing.
// The error is the store's, when it cannot be read.
func (a *Admin) Check(ctx context.Context, rules []mapping.Rule, accounts []mapping.Account) (Problems, error) {
	if accounts == nil {
		accts, err := a.st.Accounts(ctx)
		if err != nil {
			return nil, err
		}
		accounts = fromStoredAccounts(accts)
	}
	_, ps := a.check(rules, nil, accounts)
	return ps, nil
}

func errNotFound(name string) error {
	return broker.Errorf(broker.ENOTFOUND, "rule_not_found", "There is no rule named %q.", name)
}

// done finishes a change that was saved: one audit event, a log line and
// a reload of the local Source. Neither a failed audit write nor a failed
// reload undoes the change: they are logged loudly.
func (a *Admin) done(ctx context.Context, who Actor, event, rule, msg string) {
	ev := &store.AuditEvent{
		RequestID: who.RequestID, Event: event, Result: store.ResultSuccess, Message: msg,
		Subject: who.ID, RemoteAddr: who.RemoteAddr, UserAgent: who.UserAgent,
		Details: map[string]string{"rule": rule},
	}
	if err := a.st.AppendAudit(ctx, ev); err != nil {
		a.log.ErrorContext(ctx, "audit write failed", "event", event, "subject", who.ID, "err", err)
	}
	a.log.InfoContext(ctx, "rules changed", "request_id", who.RequestID, "event", event, "rule", rule, "actor", who.ID, "change", msg)
	if a.src != nil {
		if err := a.src.Refresh(ctx); err != nil {
			a.log.WarnContext(ctx, "reload rules after a change", "err", err)
		}
	}
}

// refused logs a change the service or the store refused.
func (a *Admin) refused(ctx context.Context, who Actor, op, rule string, err error) error {
	a.log.InfoContext(ctx, "rules change refused", "request_id", who.RequestID, "op", op, "rule", rule, "actor", who.ID,
		"reason", broker.ErrorReason(err))
	return err
}
