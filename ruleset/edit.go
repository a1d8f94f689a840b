package ruleset

import (
	"context"
	"fmt"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// Audit events of rule and account changes (the names the admin UI and
// API have always written).
const (
	EventRuleSaved      = "rule_saved"
	EventRuleDeleted    = "rule_deleted"
	EventRulesReordered = "rules_reordered"
	EventRulesReplaced  = "rules_replaced"
	EventRulesSeeded    = "rules_seeded"
	EventAccountSaved   = "account_saved"
	EventAccountDeleted = "account_deleted"
)

// Create adds r at the end of the rules, as version 1. A rule of that
// name already stored is ECONFLICT (rule_exists).
func (a *Admin) Create(ctx context.Context, who Actor, r mapping.Rule) (Rule, error) {
	c, err := a.read(ctx)
	if err != nil {
		return Rule{}, err
	}
	if _, dup := c.find(r.Name); dup && r.Name != "" {
		return Rule{}, a.refused(ctx, who, "create", r.Name, broker.Errorf(broker.ECONFLICT, "rule_exists", "A rule named %q already exists.", r.Name))
	}
	return a.put(ctx, who, c, r, 0, "create")
}

// Update replaces the rule named r.Name, made from version (the version
// the change started from; a stale one is ECONFLICT, nothing saved). A
// rule saved unchanged from its current version is not written again: it
// keeps its version, nothing is audited, and changed is false.
func (a *Admin) Update(ctx context.Context, who Actor, r mapping.Rule, version int64) (saved Rule, changed bool, err error) {
	if version <= 0 {
		return Rule{}, false, broker.Errorf(broker.EINVALID, "version_required", "Send the version your change is based on (GET the rule first).")
	}
	c, err := a.read(ctx)
	if err != nil {
		return Rule{}, false, err
	}
	if cur, ok := c.find(r.Name); ok && cur.Version == version && c.bad[r.Name] == nil && sameRule(cur.Rule, r) {
		return cur, false, nil
	}
	saved, err = a.put(ctx, who, c, r, version, "update")
	return saved, err == nil, err
}

// SetEnabled enables or disables the rule named name, made from version.
// A rule already in that state at that version is left as it is
// (changed false).
func (a *Admin) SetEnabled(ctx context.Context, who Actor, name string, enabled bool, version int64) (saved Rule, changed bool, err error) {
	c, err := a.read(ctx)
	if err != nil {
		return Rule{}, false, err
	}
	cur, ok := c.find(name)
	if !ok {
		return Rule{}, false, a.refused(ctx, who, "enable", name, errNotFound(name))
	}
	if err := c.bad[name]; err != nil {
		return Rule{}, false, broker.Wrap(err, broker.EINVALID, "rule_undecodable", fmt.Sprintf("The stored rule %q cannot be read; edit or delete it.", name))
	}
	if cur.Version == version && cur.Disabled == !enabled {
		return cur, false, nil
	}
	r := cur.Rule
	r.Disabled = !enabled
	action := "enable"
	if !enabled {
		action = "disable"
	}
	saved, err = a.put(ctx, who, c, r, version, action)
	return saved, err == nil, err
}

// put checks the candidate with r in place and saves r made from version
// (0 creates), recording action in the history and auditing rule_saved.
func (a *Admin) put(ctx context.Context, who Actor, c *current, r mapping.Rule, version int64, action string) (Rule, error) {
	return a.putAudited(ctx, who, c, r, version, action, func(saved Rule) string {
		return fmt.Sprintf("%s version %d", action, saved.Version)
	}, rulesInvalid)
}

func (a *Admin) putAudited(ctx context.Context, who Actor, c *current, r mapping.Rule, version int64, action string,
	message func(Rule) string, refuse func(Problems) error) (Rule, error) {
	rules, bad := c.candidate(r.Name, &r)
	if _, ps := a.check(rules, bad, c.accounts); ps != nil {
		return Rule{}, a.refused(ctx, who, action, r.Name, refuse(ps))
	}
	sr, err := a.st.PutRule(ctx, r.Name, Encode(r), version, who.ID, action)
	if err != nil {
		return Rule{}, a.refused(ctx, who, action, r.Name, err)
	}
	saved := Rule{Rule: r, Version: sr.Version, UpdatedAt: sr.UpdatedAt, UpdatedBy: sr.UpdatedBy}
	a.done(ctx, who, EventRuleSaved, r.Name, message(saved))
	return saved, nil
}

// Delete deletes the rule named name at version (ECONFLICT when stale,
// ENOTFOUND when absent). Its history is kept: Restore brings it back.
func (a *Admin) Delete(ctx context.Context, who Actor, name string, version int64) error {
	c, err := a.read(ctx)
	if err != nil {
		return err
	}
	if _, ok := c.find(name); !ok {
		return a.refused(ctx, who, "delete", name, errNotFound(name))
	}
	rules, bad := c.candidate(name, nil)
	if _, ps := a.check(rules, bad, c.accounts); ps != nil {
		return a.refused(ctx, who, "delete", name, rulesInvalid(ps))
	}
	if err := a.st.DeleteRule(ctx, name, version, who.ID); err != nil {
		return a.refused(ctx, who, "delete", name, err)
	}
	a.done(ctx, who, EventRuleDeleted, name, "delete")
	return nil
}

// Revert saves the version of the rule named name that the history entry
// changeID holds as its newest version, made from version (the rule's
// current version; 0 restores a deleted rule). It returns the rule saved
// and the version it went back to. A version that no longer fits the
// current rules and accounts is EINVALID (revert_invalid).
func (a *Admin) Revert(ctx context.Context, who Actor, name string, changeID, version int64) (saved Rule, from int64, err error) {
	h, err := a.st.RuleHistory(ctx, name)
	if err != nil {
		return Rule{}, 0, err
	}
	at := -1
	for i := range h {
		if h[i].ID == changeID {
			at = i
		}
	}
	if at < 0 || h[at].Rule == nil {
		return Rule{}, 0, broker.Errorf(broker.ENOTFOUND, "change_not_found", "That version is not in the rule's history.")
	}
	ch := h[at]
	r, err := Decode(ch.Rule)
	if err != nil {
		return Rule{}, 0, broker.Wrap(err, broker.EINVALID, "rule_undecodable", "That version cannot be read.")
	}
	r.Name = name
	c, err := a.read(ctx)
	if err != nil {
		return Rule{}, 0, err
	}
	saved, err = a.putAudited(ctx, who, c, r, version, fmt.Sprintf("revert to %d", ch.Version), func(saved Rule) string {
		return fmt.Sprintf("revert to version %d as version %d", ch.Version, saved.Version)
	}, func(ps Problems) error {
		return invalid(ps, ReasonRevertInvalid, "That version no longer fits the current rules and accounts: "+ps.Summary(name))
	})
	return saved, ch.Version, err
}

// Restore brings back a deleted rule as the version the history entry
// changeID holds (Revert from version 0; ECONFLICT if the rule exists).
func (a *Admin) Restore(ctx context.Context, who Actor, name string, changeID int64) (saved Rule, from int64, err error) {
	return a.Revert(ctx, who, name, changeID, 0)
}
