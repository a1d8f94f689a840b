package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

const shortLinkColumns = `name, account, role, destination, region, via, description, updated_by, updated_at`

func scanShortLink(row interface{ Scan(...any) error }) (*store.ShortLink, error) {
	var l store.ShortLink
	var at int64
	if err := row.Scan(&l.Name, &l.Account, &l.Role, &l.Destination, &l.Region, &l.Via, &l.Description, &l.UpdatedBy, &at); err != nil {
		return nil, err
	}
	l.UpdatedAt = fromNS(at)
	return &l, nil
}

// ShortLinks implements store.ShortLinkStore.
func (s *DB) ShortLinks(ctx context.Context) ([]store.ShortLink, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+shortLinkColumns+` FROM short_links ORDER BY name`)
	if err != nil {
		return nil, s.fail(err, "list short links")
	}
	defer rows.Close()
	var out []store.ShortLink
	for rows.Next() {
		l, err := scanShortLink(rows)
		if err != nil {
			return nil, s.fail(err, "list short links")
		}
		out = append(out, *l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list short links")
	}
	return out, nil
}

// ShortLink implements store.ShortLinkStore.
func (s *DB) ShortLink(ctx context.Context, name string) (*store.ShortLink, error) {
	l, err := scanShortLink(s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT `+shortLinkColumns+` FROM short_links WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errShortLinkUnknown(name)
	}
	if err != nil {
		return nil, s.fail(err, "find short link")
	}
	return l, nil
}

func errShortLinkUnknown(name string) error {
	return broker.Errorf(broker.ENOTFOUND, "short_link_not_found", "There is no short link named %.64q.", name)
}

// PutShortLink implements store.ShortLinkStore: one upsert statement.
func (s *DB) PutShortLink(ctx context.Context, l *store.ShortLink, actor string) error {
	if l.Name == "" || l.Role == "" {
		return broker.Errorf(broker.EINVALID, "short_link_invalid", "A short link needs a name and a role.")
	}
	l.UpdatedBy, l.UpdatedAt = actor, s.now().UTC()
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO short_links (`+shortLinkColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET account = excluded.account, role = excluded.role,
			destination = excluded.destination, region = excluded.region, via = excluded.via,
			description = excluded.description, updated_by = excluded.updated_by, updated_at = excluded.updated_at`),
		l.Name, l.Account, l.Role, l.Destination, l.Region, l.Via, l.Description, l.UpdatedBy, ns(l.UpdatedAt))
	if err != nil {
		return s.fail(err, "save short link")
	}
	return nil
}

// DeleteShortLink implements store.ShortLinkStore.
func (s *DB) DeleteShortLink(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM short_links WHERE name = ?`), name)
	if err != nil {
		return s.fail(err, "delete short link")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errShortLinkUnknown(name)
	}
	return nil
}
