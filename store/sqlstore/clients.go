package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// The apps admins register (store.ClientStore): one row per app, its spec
// stored as the caller encoded it (not secret), the secret as a hash only.
// Every change names the version it read: UPDATE/DELETE ... WHERE id = ?
// AND version = ?, and a miss is told apart (absent or stale) afterwards.

func errAppClientInvalid() error {
	return broker.Errorf(broker.EINVALID, "app_client_invalid", "An app needs an id and a registration (its spec).")
}

func errAppClientNotFound(id string) error {
	return broker.Errorf(broker.ENOTFOUND, "app_client_not_found", "There is no registered app %.64q.", id)
}

func errAppClientExists(id string) error {
	return broker.Errorf(broker.ECONFLICT, "app_client_exists", "An app with the id %.64q is already registered. Choose another id, or edit that app.", id)
}

func errAppClientStale(id string, have, want int64) error {
	return broker.Errorf(broker.ECONFLICT, "app_client_stale", "App %.64q was changed by someone else since you opened it (it is now at version %d, you had version %d). Reload it and make your change again; nothing was changed.", id, have, want)
}

const appClientColumns = `id, spec, secret_hash, version, created_at, updated_at, created_by, updated_by`

func scanAppClient(row interface{ Scan(...any) error }) (*store.AppClient, error) {
	var c store.AppClient
	var created, updated int64
	if err := row.Scan(&c.ID, &c.Spec, &c.SecretHash, &c.Version, &created, &updated, &c.CreatedBy, &c.UpdatedBy); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromNS(created), fromNS(updated)
	return &c, nil
}

// AppClients implements store.ClientStore.
func (s *DB) AppClients(ctx context.Context) ([]store.AppClient, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+appClientColumns+` FROM app_clients ORDER BY id`)
	if err != nil {
		return nil, s.fail(err, "list app clients")
	}
	defer rows.Close()
	var out []store.AppClient
	for rows.Next() {
		c, err := scanAppClient(rows)
		if err != nil {
			return nil, s.fail(err, "list app clients")
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list app clients")
	}
	return out, nil
}

// AppClient implements store.ClientStore.
func (s *DB) AppClient(ctx context.Context, id string) (*store.AppClient, error) {
	c, err := scanAppClient(s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT `+appClientColumns+` FROM app_clients WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAppClientNotFound(id)
	}
	if err != nil {
		return nil, s.fail(err, "get app client")
	}
	return c, nil
}

// CreateAppClient implements store.ClientStore. The primary key decides
// between concurrent creates of one id: exactly one insert succeeds.
func (s *DB) CreateAppClient(ctx context.Context, c *store.AppClient, actor string) error {
	if c.ID == "" || len(c.Spec) == 0 {
		return errAppClientInvalid()
	}
	now := s.now().UTC()
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO app_clients (`+appClientColumns+`) VALUES (?, ?, ?, 1, ?, ?, ?, ?)`),
		c.ID, c.Spec, c.SecretHash, ns(now), ns(now), actor, actor)
	if s.d.isUniqueViolation(err) {
		return errAppClientExists(c.ID)
	}
	if err != nil {
		return s.fail(err, "create app client")
	}
	c.Version, c.CreatedAt, c.UpdatedAt, c.CreatedBy, c.UpdatedBy = 1, now, now, actor, actor
	return nil
}

// UpdateAppClient implements store.ClientStore.
func (s *DB) UpdateAppClient(ctx context.Context, c *store.AppClient, actor string) error {
	if c.ID == "" || len(c.Spec) == 0 {
		return errAppClientInvalid()
	}
	now := s.now().UTC()
	res, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE app_clients SET spec = ?, secret_hash = ?, version = version + 1, updated_at = ?, updated_by = ?
		WHERE id = ? AND version = ?`), c.Spec, c.SecretHash, ns(now), actor, c.ID, c.Version)
	if err != nil {
		return s.fail(err, "update app client")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(err, "update app client")
	}
	if n == 0 {
		return s.appClientMiss(ctx, s.db, c.ID, c.Version, "update app client")
	}
	c.Version, c.UpdatedAt, c.UpdatedBy = c.Version+1, now, actor
	return nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// appClientMiss says why a change of app id at version changed no row:
// ENOTFOUND if there is no such app, else ECONFLICT (stale version).
func (s *DB) appClientMiss(ctx context.Context, q rowQuerier, id string, version int64, op string) error {
	var have int64
	err := q.QueryRowContext(ctx, s.d.rebind(`SELECT version FROM app_clients WHERE id = ?`), id).Scan(&have)
	if errors.Is(err, sql.ErrNoRows) {
		return errAppClientNotFound(id)
	}
	if err != nil {
		return s.fail(err, op)
	}
	return errAppClientStale(id, have, version)
}

// DeleteAppClient implements store.ClientStore. In the transaction that
// deletes the app it also revokes its tokens (all of them, live or not,
// as RevokeAppGrant marks them), deletes its consents, and deletes its
// auth requests not yet redeemed, so a code issued before the delete
// cannot be exchanged after it (redeemed ones stay: they recognize a
// replayed code until they expire).
func (s *DB) DeleteAppClient(ctx context.Context, id string, version int64) error {
	const op = "delete app client"
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, op)
	}
	defer tx.Rollback()
	q, args := `DELETE FROM app_clients WHERE id = ?`, []any{id}
	if version != 0 {
		q, args = q+` AND version = ?`, append(args, version)
	}
	res, err := tx.ExecContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return s.fail(err, op)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(err, op)
	}
	if n == 0 {
		return s.appClientMiss(ctx, tx, id, version, op)
	}
	for _, stmt := range []string{
		`UPDATE app_access_tokens SET revoked = 1 WHERE client_id = ? AND revoked = 0`,
		`UPDATE app_refresh_tokens SET revoked = 1 WHERE client_id = ? AND revoked = 0`,
		`DELETE FROM app_consents WHERE client_id = ?`,
		`DELETE FROM app_auth_requests WHERE client_id = ? AND redeemed = 0`,
	} {
		if _, err := tx.ExecContext(ctx, s.d.rebind(stmt), id); err != nil {
			return s.fail(err, op)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, op)
	}
	return nil
}

// RevokePersonAppTokens implements store.ClientStore, as RevokeAppTokens
// does for one app: live tokens are counted, rotated refresh tokens
// revoked too.
func (s *DB) RevokePersonAppTokens(ctx context.Context, provider, subject string) (int64, error) {
	return s.revokeTokens(ctx, "revoke person app tokens", `provider = ? AND subject = ?`, provider, subject)
}
