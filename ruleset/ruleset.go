package ruleset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/metrics"
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
	m    *metrics.Metrics

	mu  sync.Mutex // serializes reloads
	cur atomic.Pointer[State]
}

// Config configures New.
type Config struct {
	Store store.RuleStore
	// Options are the engine options; Accounts is replaced by the store's.
	Options mapping.Options
	// Metrics records the revision and number of rules in force and
	// failed reloads (nil: not recorded).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// New loads the rules from the store.
func New(ctx context.Context, cfg Config) (*Source, error) {
	if cfg.Store == nil {
		return nil, errors.New("ruleset: a store is required")
	}
	s := &Source{st: cfg.Store, base: cfg.Options, log: cfg.Logger, now: cfg.Now, m: cfg.Metrics}
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
		s.m.RulesReloadFailed(metrics.StageStore)
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
		s.m.RulesReloadFailed(metrics.StageStore)
		return err
	}
	prev := s.cur.Load()
	if prev != nil && prev.Revision == set.Revision {
		return nil
	}
	accts, err := s.st.Accounts(ctx)
	if err != nil {
		s.m.RulesReloadFailed(metrics.StageStore)
		return err
	}
	st := &State{Revision: set.Revision, LoadedAt: s.now(), Accounts: fromStoredAccounts(accts)}
	var decodeErrs []string
	for _, sr := range set.Rules {
		r, err := fromStored(sr)
		if err != nil {
			decodeErrs = append(decodeErrs, fmt.Sprintf("rule %s: %v", sr.Name, err))
			continue
		}
		st.Rules = append(st.Rules, r)
	}
	var cerr error
	eng, ps := compile(Plain(st.Rules), s.Options(st.Accounts))
	if ps != nil {
		cerr = ps
	} else if len(decodeErrs) > 0 {
		cerr = fmt.Errorf("%v", decodeErrs)
	}
	switch {
	case cerr == nil:
		st.Engine = eng
		s.m.SetRules(st.Revision, len(st.Rules))
	case prev != nil:
		st.Engine, st.CompileErr = prev.Engine, cerr
		s.m.RulesReloadFailed(metrics.StageCompile)
	default:
		st.Engine, _ = compile(nil, s.Options(nil))
		st.CompileErr = cerr
		s.m.RulesReloadFailed(metrics.StageCompile)
		s.m.SetRules(0, 0) // no rules in force: nobody gets a role
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
