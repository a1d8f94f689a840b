package sqlstore

import (
	"context"
	"time"

	"github.com/broker-dev/broker"
)

// Remember implements store.Store: one upsert that only replaces an expired
// entry, so two instances racing on the same key cannot both win.
func (s *DB) Remember(ctx context.Context, namespace, key string, expires time.Time) error {
	now := ns(s.now())
	res, err := s.db.ExecContext(ctx, s.d.rebind(`
		INSERT INTO replay (namespace, key, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (namespace, key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replay.expires_at <= ?`), namespace, key, ns(expires), now)
	if err != nil {
		return s.fail(err, "remember")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(err, "remember")
	}
	if n == 0 {
		return broker.Errorf(broker.EREPLAY, "replay", "This sign-in response was already used. Sign in again.")
	}
	return nil
}
