package sqlstore

import (
	"context"
	"time"
)

// Remember implements store.Store: one upsert that only replaces an expired
// entry, so two instances racing on the same key cannot both win.
func (s *DB) Remember(ctx context.Context, namespace, key string, expires time.Time) error {
	now := ns(s.now())
	res, err := s.hotStmts[rememberSQL].ExecContext(ctx, namespace, key, ns(expires), now)
	if err != nil {
		return s.fail(err, "remember")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(err, "remember")
	}
	if n == 0 {
		return errReplay()
	}
	return nil
}
