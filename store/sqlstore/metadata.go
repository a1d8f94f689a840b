package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/broker-dev/broker"
)

// SaveMetadata implements store.Store: one upsert that replaces the stored
// copy only with one fetched at the same time or later.
func (s *DB) SaveMetadata(ctx context.Context, provider, source string, xml []byte, fetched time.Time) error {
	if provider == "" || len(xml) == 0 {
		return broker.Errorf(broker.EINVALID, "metadata_invalid", "")
	}
	_, err := s.db.ExecContext(ctx, s.d.rebind(`
		INSERT INTO idp_metadata (provider, source, xml, fetched_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (provider) DO UPDATE SET source = excluded.source, xml = excluded.xml, fetched_at = excluded.fetched_at
		WHERE idp_metadata.fetched_at <= excluded.fetched_at`), provider, source, xml, ns(fetched))
	if err != nil {
		return s.fail(err, "save metadata")
	}
	return nil
}

// LoadMetadata implements store.Store.
func (s *DB) LoadMetadata(ctx context.Context, provider string) ([]byte, string, time.Time, error) {
	var xml []byte
	var source string
	var fetched int64
	err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT xml, source, fetched_at FROM idp_metadata WHERE provider = ?`), provider).Scan(&xml, &source, &fetched)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", time.Time{}, broker.Errorf(broker.ENOTFOUND, "metadata_not_found", "")
	}
	if err != nil {
		return nil, "", time.Time{}, s.fail(err, "load metadata")
	}
	return xml, source, fromNS(fetched), nil
}
