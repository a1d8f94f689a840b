package ruleset

import (
	"context"
	"fmt"
	"slices"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// Changes of the whole set: order, replace, seed.

func revisionConflict(have, want int64) error {
	return broker.Errorf(broker.ECONFLICT, "rules_revision_conflict", "The rules were changed by someone else (revision %d, you started from %d). Reload and try again; nothing was saved.", have, want)
}

// Directions Move takes.
const (
	MoveUp     = "up"
	MoveDown   = "down"
	MoveTop    = "top"
	MoveBottom = "bottom"
)

// Move moves the rule named name one place up or down, or to the top or
// bottom, in the rules at revision (ECONFLICT when stale). It returns the
// rule's new position (from 0); moved is false, and nothing changes, when
// the rule is already there or dir is none of the Move constants.
func (a *Admin) Move(ctx context.Context, who Actor, name, dir string, revision int64) (to int, moved bool, err error) {
	c, err := a.read(ctx)
	if err != nil {
		return 0, false, err
	}
	names := make([]string, len(c.rules))
	at := -1
	for i, r := range c.rules {
		names[i] = r.Name
		if r.Name == name {
			at = i
		}
	}
	if at < 0 {
		return 0, false, a.refused(ctx, who, "move", name, errNotFound(name))
	}
	to = at
	switch dir {
	case MoveUp:
		to = at - 1
	case MoveDown:
		to = at + 1
	case MoveTop:
		to = 0
	case MoveBottom:
		to = len(names) - 1
	}
	if to < 0 || to >= len(names) || to == at {
		return at, false, nil
	}
	names = slices.Insert(slices.Delete(names, at, at+1), to, name)
	if err := a.reorder(ctx, who, c, names, revision); err != nil {
		return 0, false, err
	}
	a.done(ctx, who, EventRulesReordered, name, fmt.Sprintf("moved to position %d", to+1))
	return to, true, nil
}

// Reorder sets the order of the rules at revision: names must be exactly
// the stored rules (EINVALID reorder_mismatch), revision the current one
// (ECONFLICT).
func (a *Admin) Reorder(ctx context.Context, who Actor, names []string, revision int64) error {
	c, err := a.read(ctx)
	if err != nil {
		return err
	}
	same := len(names) == len(c.rules)
	for i := 0; same && i < len(names); i++ {
		same = names[i] == c.rules[i].Name
	}
	if same && revision == c.revision {
		return nil
	}
	if err := a.reorder(ctx, who, c, names, revision); err != nil {
		return err
	}
	a.done(ctx, who, EventRulesReordered, "", "reordered")
	return nil
}

func (a *Admin) reorder(ctx context.Context, who Actor, c *current, names []string, revision int64) error {
	byName := map[string]Rule{}
	for _, r := range c.rules {
		byName[r.Name] = r
	}
	var rules []mapping.Rule
	var bad Problems
	for _, n := range names {
		r, ok := byName[n]
		switch {
		case !ok: // the store refuses the order
		case c.bad[n] != nil:
			bad = append(bad, Problem{Rule: n, Index: len(rules), Reason: "the stored rule cannot be read (" + c.bad[n].Error() + "); replace or delete it"})
		default:
			rules = append(rules, r.Rule)
		}
	}
	if _, ps := a.check(rules, bad, c.accounts); ps != nil {
		return a.refused(ctx, who, "reorder", "", rulesInvalid(ps))
	}
	if err := a.st.ReorderRules(ctx, names, revision, who.ID); err != nil {
		return a.refused(ctx, who, "reorder", "", err)
	}
	return nil
}

// ReasonRulesEmpty is the reason ReplaceAll refuses a rule set with no
// rules unless the caller allows it: it would take every role from
// everyone, which is seldom what an empty file or request body meant.
const ReasonRulesEmpty = "rules_empty"

// ReplaceAll makes the stored rules exactly rules (in order) and, when
// accounts is not nil, the accounts exactly accounts, after checking them
// together; accounts nil keeps the stored ones. revision is the revision
// the change was made from (ECONFLICT when the store moved since, nothing
// saved); -1 skips the check. No rules at all is refused (EINVALID
// ReasonRulesEmpty, nothing saved) unless allowEmpty. It returns the
// store's state after.
//
// New and changed accounts are saved before the rules and removed ones
// after, so the stored rules compile at every step (pollers never see an
// alias a rule needs missing). The store has no transaction over accounts
// and rules: if another change lands between the account writes and the
// rules, the rules are refused (ECONFLICT) and the accounts written stay.
func (a *Admin) ReplaceAll(ctx context.Context, who Actor, rules []mapping.Rule, accounts []mapping.Account, revision int64, allowEmpty bool) (*Snapshot, error) {
	c, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	if revision >= 0 && c.revision != revision {
		return nil, a.refused(ctx, who, "replace", "", revisionConflict(c.revision, revision))
	}
	if len(rules) == 0 && !allowEmpty {
		return nil, a.refused(ctx, who, "replace", "", broker.Errorf(broker.EINVALID, ReasonRulesEmpty,
			"The new rule set has no rules: it would take every role from everyone. Nothing was saved; to remove every rule, say so explicitly (allow empty)."))
	}
	next := c.accounts
	if accounts != nil {
		next = accounts
	}
	if _, ps := a.check(rules, nil, next); ps != nil {
		return nil, a.refused(ctx, who, "replace", "", rulesInvalid(ps))
	}
	expected := revision
	if accounts != nil {
		have := map[string]mapping.Account{}
		for _, x := range c.accounts {
			have[x.ID] = x
		}
		for _, x := range accounts {
			if have[x.ID] == x {
				continue
			}
			if err := a.st.PutAccount(ctx, toStoredAccount(x), who.ID); err != nil {
				return nil, a.refused(ctx, who, "replace", "", err)
			}
			if expected >= 0 {
				expected++ // each account saved moves the revision by one
			}
		}
	}
	if _, err := a.st.ReplaceRules(ctx, toNamed(rules), expected, who.ID); err != nil {
		return nil, a.refused(ctx, who, "replace", "", err)
	}
	msg := fmt.Sprintf("%d rules", len(rules))
	if accounts != nil {
		want := map[string]bool{}
		for _, x := range accounts {
			want[x.ID] = true
		}
		for _, x := range c.accounts {
			if !want[x.ID] {
				if err := a.st.DeleteAccount(ctx, x.ID, who.ID); err != nil {
					return nil, a.refused(ctx, who, "replace", "", err)
				}
			}
		}
		msg += fmt.Sprintf(", %d accounts", len(accounts))
	}
	a.done(ctx, who, EventRulesReplaced, "", msg)
	return a.Current(ctx)
}

// Seed fills an empty store (revision 0) with the config file's rules and
// accounts, once, as the actor "seed", and reports whether it did.
// Instances starting together race safely: the first to store its rules
// wins, the others find rules stored and leave them (their accounts, the
// same file's, are saved again unchanged). accounts are exactly the
// file's (nil: none).
func (a *Admin) Seed(ctx context.Context, rules []mapping.Rule, accounts []mapping.Account) (bool, error) {
	return a.seed(ctx, Actor{ID: SeedActor}, rules, accounts)
}

// seedAttempts bounds the retries of a seed whose rules lost a race with
// another seeder's account writes.
const seedAttempts = 20

func (a *Admin) seed(ctx context.Context, who Actor, rules []mapping.Rule, accounts []mapping.Account) (bool, error) {
	rev, err := a.st.RulesRevision(ctx)
	if err != nil || rev != 0 {
		return false, err
	}
	if len(rules) == 0 && len(accounts) == 0 {
		return false, nil
	}
	if _, ps := a.check(rules, nil, accounts); ps != nil {
		return false, rulesInvalid(ps)
	}
	for _, x := range accounts {
		if err := a.st.PutAccount(ctx, toStoredAccount(x), who.ID); err != nil {
			return false, fmt.Errorf("seed account %s: %w", x.ID, err)
		}
	}
	msg := fmt.Sprintf("%d rules, %d accounts", len(rules), len(accounts))
	if len(rules) == 0 {
		a.done(ctx, who, EventRulesSeeded, "", msg)
		return true, nil
	}
	named := toNamed(rules)
	for range seedAttempts {
		// Store the rules only over a set that has none, at the revision
		// it was read at: a concurrent seeder's account writes make this
		// conflict (read again), its rules make us stop.
		set, err := a.st.Rules(ctx)
		if err != nil {
			return false, err
		}
		if len(set.Rules) > 0 {
			return false, nil
		}
		_, err = a.st.ReplaceRules(ctx, named, set.Revision, who.ID)
		if broker.ErrorCode(err) == broker.ECONFLICT {
			continue
		}
		if err != nil {
			return false, err
		}
		a.done(ctx, who, EventRulesSeeded, "", msg)
		return true, nil
	}
	return false, broker.Errorf(broker.ECONFLICT, "seed_contended", "The store kept changing while the rules were seeded.")
}
