package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/broker-dev/broker/store"
)

// AppendAudit implements store.Store.
func (s *DB) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	id, err := s.insertAudit(ctx, s.hotStmts[appendAuditSQL], s.auditArgs(e))
	if err != nil {
		return s.fail(err, "append audit")
	}
	e.ID = id
	return nil
}

// likeEscape makes % and _ literal in a LIKE pattern (escape character \).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ListAudit implements store.Store.
func (s *DB) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	for _, c := range [...]struct{ col, v string }{{"subject", f.Subject}, {"event", f.Event}, {"result", f.Result}, {"role_arn", f.RoleARN}, {"provider", f.Provider}} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	for _, c := range [...]struct{ col, v string }{{"subject", f.SubjectContains}, {"role_arn", f.RoleContains}} {
		if c.v != "" {
			add("LOWER("+c.col+") LIKE ? ESCAPE '\\'", "%"+likeEscape(strings.ToLower(c.v))+"%")
		}
	}
	if !f.Since.IsZero() {
		add("time >= ?", ns(f.Since))
	}
	if !f.Until.IsZero() {
		add("time < ?", ns(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		limit = 1000
	}
	q := `SELECT id, time, request_id, event, result, reason, message, provider, subject, role_arn, session_name, remote_addr, user_agent, details FROM audit`
	if f.Brief {
		q = `SELECT id, time, event, result, provider, subject, role_arn, details FROM audit`
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return nil, s.fail(err, "list audit")
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var e store.AuditEvent
		var t int64
		var details string
		dest := []any{&e.ID, &t, &e.RequestID, &e.Event, &e.Result, &e.Reason, &e.Message, &e.Provider, &e.Subject, &e.RoleARN, &e.SessionName, &e.RemoteAddr, &e.UserAgent, &details}
		if f.Brief {
			dest = []any{&e.ID, &t, &e.Event, &e.Result, &e.Provider, &e.Subject, &e.RoleARN, &details}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.fail(err, "list audit")
		}
		e.Time = fromNS(t)
		if details != "" && details != "{}" {
			_ = json.Unmarshal([]byte(details), &e.Details)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list audit")
	}
	return out, nil
}

// AppendAuditBatch appends events in one transaction, many rows to a
// statement (imports, and the scale measurements that seed a large log).
// Unlike AppendAudit it does not set the events' ids.
func (s *DB) AppendAuditBatch(ctx context.Context, evs []store.AuditEvent) error {
	const perStatement = 500 // 13 parameters each: well under SQLite's 32,766
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, "append audit batch")
	}
	defer func() { _ = tx.Rollback() }()
	for len(evs) > 0 {
		n := min(len(evs), perStatement)
		var q strings.Builder
		q.WriteString(`INSERT INTO audit (time, request_id, event, result, reason, message, provider, subject, role_arn, session_name, remote_addr, user_agent, details) VALUES `)
		args := make([]any, 0, n*13)
		for i, e := range evs[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			if e.Time.IsZero() {
				e.Time = s.now()
			}
			details := []byte("{}")
			if len(e.Details) > 0 {
				details, _ = json.Marshal(e.Details)
			}
			args = append(args, ns(e.Time), e.RequestID, e.Event, e.Result, e.Reason, clip(e.Message, 1000), e.Provider, e.Subject,
				e.RoleARN, e.SessionName, e.RemoteAddr, clip(e.UserAgent, 500), string(details))
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(q.String()), args...); err != nil {
			return s.fail(err, "append audit batch")
		}
		evs = evs[n:]
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, "append audit batch")
	}
	return nil
}
