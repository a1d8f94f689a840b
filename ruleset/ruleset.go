// Package ruleset keeps the role mapping rules in the store and the compiled
// engine every instance uses in step with it.
//
// The store is the source of truth: the admin UI, the JSON API and
// `broker rules apply` change it; every instance polls the store's rule
// revision (one indexed single-row query) and recompiles when it moves, so
// a rule saved on one instance is in force on all of them within about a
// second. The engine is swapped atomically: a login in flight keeps the
// engine it started with.
package ruleset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// Rule is a stored rule with its version.
type Rule struct {
	mapping.Rule
	Version   int64
	UpdatedAt time.Time
	UpdatedBy string
}

// State is the rule set at one revision.
type State struct {
	Revision int64
	Rules    []Rule
	Accounts []mapping.Account
	// Engine is compiled from Rules and Accounts; when they do not compile
	// (CompileErr), Engine is the last good engine, or one without rules
	// (no access) if there never was one.
	Engine     *mapping.Engine
	CompileErr error
	LoadedAt   time.Time
}

// Source serves the current engine and keeps it in step with the store.
type Source struct {
	st   store.RuleStore
	base mapping.Options
	log  *slog.Logger
	now  func() time.Time

	mu  sync.Mutex // serializes reloads
	cur atomic.Pointer[State]
}

// Config configures New.
type Config struct {
	Store store.RuleStore
	// Options are the engine options; Accounts is replaced by the store's.
	Options mapping.Options
	Logger  *slog.Logger
	Now     func() time.Time
}

// New loads the rules from the store.
func New(ctx context.Context, cfg Config) (*Source, error) {
	if cfg.Store == nil {
		return nil, errors.New("ruleset: a store is required")
	}
	s := &Source{st: cfg.Store, base: cfg.Options, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Engine implements access.Rules.
func (s *Source) Engine() *mapping.Engine { return s.cur.Load().Engine }

// State returns the current state (do not modify it).
func (s *Source) State() *State { return s.cur.Load() }

// Options returns the engine options with the given accounts, for
// compiling candidate rule sets (validation, simulation, impact preview).
func (s *Source) Options(accounts []mapping.Account) mapping.Options {
	o := s.base
	o.Accounts = accounts
	return o
}

// Refresh reloads if the store's revision moved.
func (s *Source) Refresh(ctx context.Context) error {
	rev, err := s.st.RulesRevision(ctx)
	if err != nil {
		return err
	}
	if cur := s.cur.Load(); cur != nil && cur.Revision == rev {
		return nil
	}
	return s.Reload(ctx)
}

// Reload reads the rules and accounts and recompiles.
func (s *Source) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, err := s.st.Rules(ctx)
	if err != nil {
		return err
	}
	prev := s.cur.Load()
	if prev != nil && prev.Revision == set.Revision {
		return nil
	}
	accts, err := s.st.Accounts(ctx)
	if err != nil {
		return err
	}
	st := &State{Revision: set.Revision, LoadedAt: s.now()}
	for _, a := range accts {
		st.Accounts = append(st.Accounts, mapping.Account{ID: a.ID, Alias: a.Alias, Label: a.Label})
	}
	var decodeErrs []string
	for _, sr := range set.Rules {
		r, err := Decode(sr.Rule)
		if err != nil {
			decodeErrs = append(decodeErrs, fmt.Sprintf("rule %s: %v", sr.Name, err))
			continue
		}
		r.Name = sr.Name
		st.Rules = append(st.Rules, Rule{Rule: r, Version: sr.Version, UpdatedAt: sr.UpdatedAt, UpdatedBy: sr.UpdatedBy})
	}
	eng, cerr := mapping.Compile(Plain(st.Rules), s.Options(st.Accounts))
	if cerr == nil && len(decodeErrs) > 0 {
		cerr = fmt.Errorf("%v", decodeErrs)
	}
	switch {
	case cerr == nil:
		st.Engine = eng
	case prev != nil:
		st.Engine, st.CompileErr = prev.Engine, cerr
	default:
		st.Engine, _ = mapping.Compile(nil, s.Options(nil))
		st.CompileErr = cerr
	}
	if cerr != nil {
		// Fail closed: keep the last good engine rather than drop a deny rule.
		s.log.ErrorContext(ctx, "stored rules do not compile; keeping the previous rules", "revision", set.Revision, "err", cerr)
	} else {
		s.log.InfoContext(ctx, "rules loaded", "revision", set.Revision, "rules", len(st.Rules), "accounts", len(st.Accounts))
	}
	s.cur.Store(st)
	return nil
}

// Run polls the store every interval until ctx ends.
func (s *Source) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := s.Refresh(ctx)
			switch {
			case err != nil && !failing && ctx.Err() == nil:
				failing = true
				s.log.WarnContext(ctx, "cannot reload rules from the store; using the current ones", "err", err)
			case err == nil && failing:
				failing = false
				s.log.InfoContext(ctx, "rules reload recovered")
			}
		}
	}
}

// Plain returns the mapping rules of rs.
func Plain(rs []Rule) []mapping.Rule {
	out := make([]mapping.Rule, len(rs))
	for i, r := range rs {
		out[i] = r.Rule
	}
	return out
}

// Encode is the stored form of a rule: its JSON.
func Encode(r mapping.Rule) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // mapping.Rule always marshals
	}
	return b
}

// Decode parses a stored rule, refusing unknown fields (a typo must not
// silently drop a condition).
func Decode(b []byte) (mapping.Rule, error) {
	var r mapping.Rule
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, err
	}
	return r, nil
}

// Seed fills an empty store (revision 0) with the rules and accounts from
// the config file, once. It reports whether it did. Instances starting
// together race safely: only one seed wins.
func Seed(ctx context.Context, st store.RuleStore, rules []mapping.Rule, accounts []mapping.Account, actor string) (bool, error) {
	rev, err := st.RulesRevision(ctx)
	if err != nil || rev != 0 {
		return false, err
	}
	if len(rules) == 0 && len(accounts) == 0 {
		return false, nil
	}
	for _, a := range accounts {
		if err := st.PutAccount(ctx, store.Account{ID: a.ID, Alias: a.Alias, Label: a.Label}, actor); err != nil {
			return false, fmt.Errorf("seed account %s: %w", a.ID, err)
		}
	}
	named := make([]store.NamedRule, len(rules))
	for i, r := range rules {
		named[i] = store.NamedRule{Name: r.Name, Rule: Encode(r)}
	}
	// Expect the revision the accounts produced: a concurrent seeder makes
	// this conflict, and its rules stand.
	rev, err = st.RulesRevision(ctx)
	if err != nil {
		return false, err
	}
	if _, err := st.ReplaceRules(ctx, named, rev, actor); err != nil {
		if broker.ErrorCode(err) == broker.ECONFLICT {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Apply makes the store's rules exactly rules, and, when accounts is not
// nil, its accounts exactly accounts, after compiling them together. It
// returns the new revision. New and changed accounts are saved before the
// rules and removed ones after, so the rules in the store compile at every
// step (pollers never see an alias a rule needs missing).
func Apply(ctx context.Context, st store.RuleStore, opts mapping.Options, rules []mapping.Rule, accounts []mapping.Account, actor string) (int64, error) {
	var cur []store.Account
	if accounts == nil {
		var err error
		if cur, err = st.Accounts(ctx); err != nil {
			return 0, err
		}
		for _, a := range cur {
			opts.Accounts = append(opts.Accounts, mapping.Account{ID: a.ID, Alias: a.Alias, Label: a.Label})
		}
	} else {
		opts.Accounts = accounts
	}
	if _, err := mapping.Compile(rules, opts); err != nil {
		return 0, err
	}
	want := map[string]bool{}
	if accounts != nil {
		var err error
		if cur, err = st.Accounts(ctx); err != nil {
			return 0, err
		}
		have := map[string]store.Account{}
		for _, a := range cur {
			have[a.ID] = a
		}
		for _, a := range accounts {
			want[a.ID] = true
			sa := store.Account{ID: a.ID, Alias: a.Alias, Label: a.Label}
			if have[a.ID] != sa {
				if err := st.PutAccount(ctx, sa, actor); err != nil {
					return 0, err
				}
			}
		}
	}
	named := make([]store.NamedRule, len(rules))
	for i, r := range rules {
		named[i] = store.NamedRule{Name: r.Name, Rule: Encode(r)}
	}
	set, err := st.ReplaceRules(ctx, named, -1, actor)
	if err != nil {
		return 0, err
	}
	rev := set.Revision
	if accounts != nil {
		for _, a := range cur {
			if !want[a.ID] {
				if err := st.DeleteAccount(ctx, a.ID, actor); err != nil {
					return 0, err
				}
			}
		}
		if rev, err = st.RulesRevision(ctx); err != nil {
			return 0, err
		}
	}
	return rev, nil
}
