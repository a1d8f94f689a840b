package sqlstore

import (
	"context"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
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

// Purge implements store.Store.
func (s *DB) Purge(ctx context.Context) (int64, error) {
	now := ns(s.now())
	var total int64
	signinCutoff := ns(s.now().Add(-store.SignInRetention))
	for _, q := range []struct {
		sql string
		arg int64
	}{{`DELETE FROM replay WHERE expires_at <= ?`, now}, {`DELETE FROM sessions WHERE expires_at <= ?`, now}, {`DELETE FROM signins WHERE time <= ?`, signinCutoff}} {
		res, err := s.db.ExecContext(ctx, s.d.rebind(q.sql), q.arg)
		if err != nil {
			return total, s.fail(err, "purge")
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
