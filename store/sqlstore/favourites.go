package sqlstore

import (
	"context"
	"database/sql"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// Favourites implements store.FavouriteStore.
func (s *DB) Favourites(ctx context.Context, provider, subject string) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(`SELECT grant_key FROM favourites
		WHERE provider = ? AND subject = ? ORDER BY created_at, grant_key`), provider, subject)
	if err != nil {
		return nil, s.fail(err, "list favourites")
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, s.fail(err, "list favourites")
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list favourites")
	}
	return out, nil
}

// SetFavourite implements store.FavouriteStore. A pin is one statement
// that inserts only while the person has fewer than store.MaxFavourites.
func (s *DB) SetFavourite(ctx context.Context, provider, subject, grantKey string, pinned bool) error {
	if provider == "" || subject == "" || grantKey == "" || len(grantKey) > store.MaxFavouriteKey {
		return broker.Errorf(broker.EINVALID, "favourite_invalid", "This role cannot be pinned: the request does not name it.")
	}
	if !pinned {
		_, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM favourites WHERE provider = ? AND subject = ? AND grant_key = ?`),
			provider, subject, grantKey)
		if err != nil {
			return s.fail(err, "unpin favourite")
		}
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, "pin favourite")
	}
	defer tx.Rollback()
	if s.d.name() == "postgres" {
		// The count and the insert see one snapshot each: two pins of one
		// person take turns, so the limit holds (SQLite has one writer).
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"favourites\n"+provider+"\n"+subject); err != nil {
			return s.fail(err, "pin favourite")
		}
	}
	res, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO favourites (provider, subject, grant_key, created_at)
		SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT)
		WHERE (SELECT COUNT(*) FROM favourites WHERE provider = ? AND subject = ?) < ?
		ON CONFLICT (provider, subject, grant_key) DO NOTHING`),
		provider, subject, grantKey, ns(s.now()), provider, subject, store.MaxFavourites)
	if err != nil {
		return s.fail(err, "pin favourite")
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return s.commit(tx, "pin favourite")
	}
	// Nothing inserted: pinned already, or the person is at the limit.
	var one int
	err = tx.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM favourites WHERE provider = ? AND subject = ? AND grant_key = ?`),
		provider, subject, grantKey).Scan(&one)
	if err != nil {
		return s.fail(err, "pin favourite")
	}
	if one == 0 {
		return broker.Errorf(broker.EINVALID, "too_many_favourites",
			"You have pinned %d roles, the most the portal keeps. Unpin one you no longer use, then pin this one.", store.MaxFavourites)
	}
	return nil
}

func (s *DB) commit(tx *sql.Tx, op string) error {
	if err := tx.Commit(); err != nil {
		return s.fail(err, op)
	}
	return nil
}
