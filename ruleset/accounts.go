package ruleset

import (
	"context"
	"slices"

	"github.com/broker-dev/broker/mapping"
)

// SaveAccount creates or replaces the account entry with acct's ID. It is
// refused (EINVALID accounts_break_rules) when the stored rules would no
// longer compile with it, e.g. an alias a rule uses renamed; a duplicate
// alias is the store's ECONFLICT (account_alias_taken).
func (a *Admin) SaveAccount(ctx context.Context, who Actor, acct mapping.Account) error {
	c, err := a.read(ctx)
	if err != nil {
		return err
	}
	next := slices.DeleteFunc(slices.Clone(c.accounts), func(x mapping.Account) bool { return x.ID == acct.ID })
	if err := a.checkAccounts(ctx, who, c, append(next, acct)); err != nil {
		return err
	}
	if err := a.st.PutAccount(ctx, toStoredAccount(acct), who.ID); err != nil {
		return a.refused(ctx, who, "save account", "", err)
	}
	a.done(ctx, who, EventAccountSaved, "", "account "+acct.ID+" alias "+acct.Alias)
	return nil
}

// DeleteAccount removes the account entry id (a missing one is not an
// error). It is refused (EINVALID accounts_break_rules) when a stored rule
// uses its alias.
func (a *Admin) DeleteAccount(ctx context.Context, who Actor, id string) error {
	c, err := a.read(ctx)
	if err != nil {
		return err
	}
	next := slices.DeleteFunc(slices.Clone(c.accounts), func(x mapping.Account) bool { return x.ID == id })
	if err := a.checkAccounts(ctx, who, c, next); err != nil {
		return err
	}
	if err := a.st.DeleteAccount(ctx, id, who.ID); err != nil {
		return a.refused(ctx, who, "delete account", "", err)
	}
	a.done(ctx, who, EventAccountDeleted, "", "account "+id)
	return nil
}

// checkAccounts compiles the stored rules against a changed account list.
func (a *Admin) checkAccounts(ctx context.Context, who Actor, c *current, accounts []mapping.Account) error {
	rules, bad := c.candidate("", nil)
	if _, ps := a.check(rules, bad, accounts); ps != nil {
		return a.refused(ctx, who, "accounts", "", invalid(ps, ReasonAccountsBreakRules, "The rules would no longer work with this change: "+ps.Summary("")))
	}
	return nil
}
