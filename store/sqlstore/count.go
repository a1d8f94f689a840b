package sqlstore

import "context"

// CountSessions returns how many sessions are live (unexpired) now: one
// query for the active-sessions gauge, run periodically, never per
// request.
func (s *DB) CountSessions(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM sessions WHERE expires_at > ?`), ns(s.now())).Scan(&n); err != nil {
		return 0, s.fail(err, "count sessions")
	}
	return n, nil
}
