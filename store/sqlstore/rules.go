package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// Every change of the rule set runs in one transaction that first locks the
// rules_meta row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the immediate
// transaction holds the write lock), so changes from several instances are
// serialized and the revision counts every one of them.

func ruleNotFound(name string) error {
	return broker.Errorf(broker.ENOTFOUND, "rule_not_found", "There is no rule named %q.", name)
}

func ruleConflict(name string, have, want int64) error {
	return broker.Errorf(broker.ECONFLICT, "rule_version_conflict", "Rule %q was changed by someone else since you opened it (it is now at version %d, you edited version %d). Reload it, reapply your change and save again; nothing was saved.", name, have, want)
}

func revisionConflict(have, want int64) error {
	return broker.Errorf(broker.ECONFLICT, "rules_revision_conflict", "The rules were changed by someone else (revision %d, you started from %d). Reload and try again; nothing was saved.", have, want)
}

// tx runs fn in a transaction holding the rule-set lock; fn gets the
// current revision and returns whether it changed anything.
func (s *DB) ruleTx(ctx context.Context, op string, fn func(tx *sql.Tx, revision int64) (bool, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, op)
	}
	defer tx.Rollback()
	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT revision FROM rules_meta WHERE id = 1`+s.d.forUpdate()).Scan(&rev); err != nil {
		return s.fail(err, op)
	}
	changed, err := fn(tx, rev)
	if err != nil {
		return err
	}
	if changed {
		if _, err := tx.ExecContext(ctx, `UPDATE rules_meta SET revision = revision + 1 WHERE id = 1`); err != nil {
			return s.fail(err, op)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, op)
	}
	return nil
}

func (s *DB) logChange(ctx context.Context, tx *sql.Tx, name string, version int64, action string, rule []byte, actor string) error {
	var r any
	if rule != nil {
		r = string(rule)
	}
	_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO rule_changes (name, version, action, rule, actor, time) VALUES (?, ?, ?, ?, ?, ?)`),
		name, version, action, r, actor, ns(s.now()))
	if err != nil {
		return s.fail(err, "record rule change")
	}
	return nil
}

// Rules implements store.RuleStore.
func (s *DB) Rules(ctx context.Context) (store.RuleSet, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.d.name() == "postgres"})
	if err != nil {
		return store.RuleSet{}, s.fail(err, "list rules")
	}
	defer tx.Rollback()
	var set store.RuleSet
	if err := tx.QueryRowContext(ctx, `SELECT revision FROM rules_meta WHERE id = 1`).Scan(&set.Revision); err != nil {
		return set, s.fail(err, "list rules")
	}
	set.Rules, err = s.listRules(ctx, tx)
	if err != nil {
		return set, err
	}
	return set, tx.Commit()
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *DB) listRules(ctx context.Context, q querier) ([]store.StoredRule, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, position, rule, version, updated_at, updated_by FROM rules ORDER BY position, name`)
	if err != nil {
		return nil, s.fail(err, "list rules")
	}
	defer rows.Close()
	var out []store.StoredRule
	for rows.Next() {
		var r store.StoredRule
		var body string
		var at int64
		if err := rows.Scan(&r.Name, &r.Position, &body, &r.Version, &at, &r.UpdatedBy); err != nil {
			return nil, s.fail(err, "list rules")
		}
		r.Rule, r.UpdatedAt = []byte(body), fromNS(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list rules")
	}
	return out, nil
}

// RulesRevision implements store.RuleStore.
func (s *DB) RulesRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT revision FROM rules_meta WHERE id = 1`).Scan(&rev); err != nil {
		return 0, s.fail(err, "rules revision")
	}
	return rev, nil
}

func validRuleName(name string) error {
	if name == "" || len(name) > 200 {
		return broker.Errorf(broker.EINVALID, "rule_name_invalid", "A rule needs a name of 1 to 200 characters.")
	}
	return nil
}

// PutRule implements store.RuleStore.
func (s *DB) PutRule(ctx context.Context, name string, rule []byte, expectedVersion int64, actor, action string) (store.StoredRule, error) {
	if err := validRuleName(name); err != nil {
		return store.StoredRule{}, err
	}
	if action == "" {
		action = "update"
	}
	out := store.StoredRule{Name: name, Rule: rule, UpdatedBy: actor, UpdatedAt: s.now()}
	err := s.ruleTx(ctx, "save rule", func(tx *sql.Tx, _ int64) (bool, error) {
		var version, pos int64
		err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT version, position FROM rules WHERE name = ?`), name).Scan(&version, &pos)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if expectedVersion != 0 {
				return false, ruleNotFound(name)
			}
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), -1) + 1 FROM rules`).Scan(&pos); err != nil {
				return false, s.fail(err, "save rule")
			}
			if action == "update" {
				action = "create"
			}
			out.Version, out.Position = 1, int(pos)
			if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO rules (name, position, rule, version, updated_at, updated_by) VALUES (?, ?, ?, 1, ?, ?)`),
				name, pos, string(rule), ns(out.UpdatedAt), actor); err != nil {
				return false, s.fail(err, "save rule")
			}
		case err != nil:
			return false, s.fail(err, "save rule")
		default:
			if expectedVersion == 0 {
				return false, broker.Errorf(broker.ECONFLICT, "rule_exists", "A rule named %q already exists. Choose another name.", name)
			}
			if version != expectedVersion {
				return false, ruleConflict(name, version, expectedVersion)
			}
			out.Version, out.Position = version+1, int(pos)
			if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE rules SET rule = ?, version = ?, updated_at = ?, updated_by = ? WHERE name = ? AND version = ?`),
				string(rule), out.Version, ns(out.UpdatedAt), actor, name, version); err != nil {
				return false, s.fail(err, "save rule")
			}
		}
		return true, s.logChange(ctx, tx, name, out.Version, action, rule, actor)
	})
	return out, err
}

// DeleteRule implements store.RuleStore.
func (s *DB) DeleteRule(ctx context.Context, name string, expectedVersion int64, actor string) error {
	return s.ruleTx(ctx, "delete rule", func(tx *sql.Tx, _ int64) (bool, error) {
		var version int64
		err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT version FROM rules WHERE name = ?`), name).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return false, ruleNotFound(name)
		}
		if err != nil {
			return false, s.fail(err, "delete rule")
		}
		if version != expectedVersion {
			return false, ruleConflict(name, version, expectedVersion)
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM rules WHERE name = ?`), name); err != nil {
			return false, s.fail(err, "delete rule")
		}
		return true, s.logChange(ctx, tx, name, version+1, "delete", nil, actor)
	})
}

// ReorderRules implements store.RuleStore.
func (s *DB) ReorderRules(ctx context.Context, names []string, expectedRevision int64, actor string) error {
	return s.ruleTx(ctx, "reorder rules", func(tx *sql.Tx, rev int64) (bool, error) {
		if rev != expectedRevision {
			return false, revisionConflict(rev, expectedRevision)
		}
		cur, err := s.listRules(ctx, tx)
		if err != nil {
			return false, err
		}
		have := map[string]bool{}
		for _, r := range cur {
			have[r.Name] = true
		}
		seen := map[string]bool{}
		for _, n := range names {
			if !have[n] || seen[n] {
				return false, broker.Errorf(broker.EINVALID, "reorder_mismatch", "The new order must list every rule exactly once.")
			}
			seen[n] = true
		}
		if len(names) != len(cur) {
			return false, broker.Errorf(broker.EINVALID, "reorder_mismatch", "The new order must list every rule exactly once.")
		}
		changed := false
		for i, n := range names {
			if cur[i].Name == n {
				continue
			}
			changed = true
			if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE rules SET position = ? WHERE name = ?`), i, n); err != nil {
				return false, s.fail(err, "reorder rules")
			}
		}
		if changed {
			for i, n := range names {
				if cur[i].Name != n {
					var version int64
					var body string
					if err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT version, rule FROM rules WHERE name = ?`), n).Scan(&version, &body); err != nil {
						return false, s.fail(err, "reorder rules")
					}
					if err := s.logChange(ctx, tx, n, version, fmt.Sprintf("reorder to %d", i+1), []byte(body), actor); err != nil {
						return false, err
					}
				}
			}
		}
		return changed, nil
	})
}

// ReplaceRules implements store.RuleStore.
func (s *DB) ReplaceRules(ctx context.Context, rules []store.NamedRule, expectedRevision int64, actor string) (store.RuleSet, error) {
	seen := map[string]bool{}
	for _, r := range rules {
		if err := validRuleName(r.Name); err != nil {
			return store.RuleSet{}, err
		}
		if seen[r.Name] {
			return store.RuleSet{}, broker.Errorf(broker.EINVALID, "rule_name_duplicate", "Two rules are named %q; names must be unique.", r.Name)
		}
		seen[r.Name] = true
	}
	err := s.ruleTx(ctx, "replace rules", func(tx *sql.Tx, rev int64) (bool, error) {
		if expectedRevision >= 0 && rev != expectedRevision {
			return false, revisionConflict(rev, expectedRevision)
		}
		cur, err := s.listRules(ctx, tx)
		if err != nil {
			return false, err
		}
		byName := map[string]store.StoredRule{}
		for _, r := range cur {
			byName[r.Name] = r
		}
		changed := false
		now := ns(s.now())
		for _, r := range cur {
			if !seen[r.Name] {
				changed = true
				if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM rules WHERE name = ?`), r.Name); err != nil {
					return false, s.fail(err, "replace rules")
				}
				if err := s.logChange(ctx, tx, r.Name, r.Version+1, "delete", nil, actor); err != nil {
					return false, err
				}
			}
		}
		for i, r := range rules {
			old, ok := byName[r.Name]
			switch {
			case !ok:
				changed = true
				if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO rules (name, position, rule, version, updated_at, updated_by) VALUES (?, ?, ?, 1, ?, ?)`),
					r.Name, i, string(r.Rule), now, actor); err != nil {
					return false, s.fail(err, "replace rules")
				}
				if err := s.logChange(ctx, tx, r.Name, 1, "create", r.Rule, actor); err != nil {
					return false, err
				}
			case string(old.Rule) != string(r.Rule):
				changed = true
				if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE rules SET rule = ?, position = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE name = ?`),
					string(r.Rule), i, now, actor, r.Name); err != nil {
					return false, s.fail(err, "replace rules")
				}
				if err := s.logChange(ctx, tx, r.Name, old.Version+1, "update", r.Rule, actor); err != nil {
					return false, err
				}
			case old.Position != i:
				changed = true
				if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE rules SET position = ? WHERE name = ?`), i, r.Name); err != nil {
					return false, s.fail(err, "replace rules")
				}
			}
		}
		return changed, nil
	})
	if err != nil {
		return store.RuleSet{}, err
	}
	return s.Rules(ctx)
}

// RuleHistory implements store.RuleStore.
func (s *DB) RuleHistory(ctx context.Context, name string) ([]store.RuleChange, error) {
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(`SELECT id, name, version, action, rule, actor, time FROM rule_changes WHERE name = ? ORDER BY id DESC LIMIT 500`), name)
	if err != nil {
		return nil, s.fail(err, "rule history")
	}
	defer rows.Close()
	var out []store.RuleChange
	for rows.Next() {
		var c store.RuleChange
		var body sql.NullString
		var t int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Version, &c.Action, &body, &c.Actor, &t); err != nil {
			return nil, s.fail(err, "rule history")
		}
		if body.Valid {
			c.Rule = []byte(body.String)
		}
		c.Time = fromNS(t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "rule history")
	}
	return out, nil
}

// DeletedRules implements store.RuleStore.
func (s *DB) DeletedRules(ctx context.Context) ([]store.RuleChange, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, name, version, action, actor, time FROM rule_changes
		WHERE id IN (SELECT MAX(id) FROM rule_changes GROUP BY name)
		  AND action = 'delete' AND name NOT LIKE 'account:%' AND name NOT IN (SELECT name FROM rules)
		ORDER BY id DESC LIMIT 200`)
	if err != nil {
		return nil, s.fail(err, "deleted rules")
	}
	defer rows.Close()
	var out []store.RuleChange
	for rows.Next() {
		var c store.RuleChange
		var t int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Version, &c.Action, &c.Actor, &t); err != nil {
			return nil, s.fail(err, "deleted rules")
		}
		c.Time = fromNS(t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "deleted rules")
	}
	return out, nil
}

// Accounts implements store.RuleStore.
func (s *DB) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, alias, label FROM accounts ORDER BY id`)
	if err != nil {
		return nil, s.fail(err, "list accounts")
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		var a store.Account
		if err := rows.Scan(&a.ID, &a.Alias, &a.Label); err != nil {
			return nil, s.fail(err, "list accounts")
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list accounts")
	}
	return out, nil
}

// PutAccount implements store.RuleStore.
func (s *DB) PutAccount(ctx context.Context, a store.Account, actor string) error {
	if !isAccountID(a.ID) {
		return broker.Errorf(broker.EINVALID, "account_id_invalid", "An AWS account ID is exactly 12 digits.")
	}
	if isAccountID(a.Alias) {
		return broker.Errorf(broker.EINVALID, "account_alias_invalid", "An alias cannot itself look like an account ID.")
	}
	return s.ruleTx(ctx, "save account", func(tx *sql.Tx, _ int64) (bool, error) {
		res, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE accounts SET alias = ?, label = ? WHERE id = ?`), a.Alias, a.Label, a.ID)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				_, err = tx.ExecContext(ctx, s.d.rebind(`INSERT INTO accounts (id, alias, label) VALUES (?, ?, ?)`), a.ID, a.Alias, a.Label)
			}
		}
		if s.d.isUniqueViolation(err) {
			return false, broker.Errorf(broker.ECONFLICT, "account_alias_taken", "Another account already has the alias %q.", a.Alias)
		}
		if err != nil {
			return false, s.fail(err, "save account")
		}
		return true, s.logChange(ctx, tx, "account:"+a.ID, 0, "account "+a.Alias, nil, actor)
	})
}

// DeleteAccount implements store.RuleStore.
func (s *DB) DeleteAccount(ctx context.Context, id, actor string) error {
	return s.ruleTx(ctx, "delete account", func(tx *sql.Tx, _ int64) (bool, error) {
		res, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM accounts WHERE id = ?`), id)
		if err != nil {
			return false, s.fail(err, "delete account")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return false, nil
		}
		return true, s.logChange(ctx, tx, "account:"+id, 0, "account delete", nil, actor)
	})
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
