package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// The OpenID Provider for apps: auth requests, codes, access and refresh
// tokens (store.AppStore). The columns hold what queries select on; the
// rest of a record, personal data included, is one sealed JSON document.

var (
	errAppRequestNotFound = broker.Errorf(broker.ENOTFOUND, "app_auth_request_not_found", "This sign-in request has expired or was already used. Go back to the app and sign in again.")
	errAppCodeNotFound    = broker.Errorf(broker.ENOTFOUND, "app_code_not_found", "")
	errAppCodeReplayed    = broker.Errorf(broker.EREPLAY, "app_code_replayed", "")
	errAppTokenNotFound   = broker.Errorf(broker.ENOTFOUND, "app_token_not_found", "")
	errAppRefreshReused   = broker.Errorf(broker.EREPLAY, "app_refresh_token_reused", "")
)

func appRequestAAD(id string) string { return "broker app auth request\x00" + id }
func appTokenAAD(kind, id string) string {
	return "broker app " + kind + " token\x00" + id
}

// CreateAppAuthRequest implements store.AppStore.
func (s *DB) CreateAppAuthRequest(ctx context.Context, r *store.AppAuthRequest) error {
	if r.ID == "" {
		return broker.Errorf(broker.EINVALID, "app_auth_request_id_empty", "")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	data, err := s.sealJSON(r, appRequestAAD(r.ID))
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO app_auth_requests (id, client_id, done, provider, subject, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), r.ID, r.ClientID, b2i(r.Done), r.Provider, r.Subject, data, ns(r.CreatedAt), ns(r.ExpiresAt))
	if s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "app_auth_request_exists", "")
	}
	if err != nil {
		return s.fail(err, "create app auth request")
	}
	return nil
}

// GetAppAuthRequest implements store.AppStore.
func (s *DB) GetAppAuthRequest(ctx context.Context, id string) (*store.AppAuthRequest, error) {
	var blob []byte
	err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT data FROM app_auth_requests WHERE id = ? AND expires_at > ? AND redeemed = 0`), id, ns(s.now())).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAppRequestNotFound
	}
	if err != nil {
		return nil, s.fail(err, "get app auth request")
	}
	var r store.AppAuthRequest
	if err := s.openJSON(blob, appRequestAAD(id), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// UpdateAppAuthRequest implements store.AppStore.
func (s *DB) UpdateAppAuthRequest(ctx context.Context, r *store.AppAuthRequest) error {
	old, err := s.GetAppAuthRequest(ctx, r.ID)
	if err != nil {
		return err
	}
	old.Provider, old.Subject, old.Identity, old.AuthTime, old.AMR, old.Done = r.Provider, r.Subject, r.Identity, r.AuthTime, r.AMR, r.Done
	data, err := s.sealJSON(old, appRequestAAD(r.ID))
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE app_auth_requests SET done = ?, provider = ?, subject = ?, data = ?
		WHERE id = ? AND expires_at > ? AND redeemed = 0`), b2i(r.Done), r.Provider, r.Subject, data, r.ID, ns(s.now()))
	if err != nil {
		return s.fail(err, "update app auth request")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errAppRequestNotFound
	}
	return nil
}

// SaveAppCode implements store.AppStore.
func (s *DB) SaveAppCode(ctx context.Context, id, codeHash string) error {
	if codeHash == "" {
		return broker.Errorf(broker.EINVALID, "app_code_empty", "")
	}
	res, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE app_auth_requests SET code_hash = ?
		WHERE id = ? AND expires_at > ? AND redeemed = 0 AND done = 1 AND code_hash IS NULL`), codeHash, id, ns(s.now()))
	if s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "app_code_exists", "")
	}
	if err != nil {
		return s.fail(err, "save app code")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var has int
		err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM app_auth_requests WHERE id = ? AND expires_at > ? AND redeemed = 0 AND code_hash IS NOT NULL`), id, ns(s.now())).Scan(&has)
		if err == nil && has > 0 {
			return broker.Errorf(broker.ECONFLICT, "app_code_exists", "")
		}
		return errAppRequestNotFound
	}
	return nil
}

// RedeemAppCode implements store.AppStore.
func (s *DB) RedeemAppCode(ctx context.Context, codeHash string) (*store.AppAuthRequest, error) {
	now := ns(s.now())
	var id string
	var blob []byte
	err := s.db.QueryRowContext(ctx, s.d.rebind(`UPDATE app_auth_requests SET redeemed = 1
		WHERE code_hash = ? AND expires_at > ? AND redeemed = 0 RETURNING id, data`), codeHash, now).Scan(&id, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		var grant string
		err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT id FROM app_auth_requests WHERE code_hash = ? AND redeemed = 1`), codeHash).Scan(&grant)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errAppCodeNotFound
		}
		if err != nil {
			return nil, s.fail(err, "redeem app code")
		}
		if _, err := s.RevokeAppGrant(ctx, grant); err != nil {
			return nil, err
		}
		return nil, errAppCodeReplayed
	}
	if err != nil {
		return nil, s.fail(err, "redeem app code")
	}
	var r store.AppAuthRequest
	if err := s.openJSON(blob, appRequestAAD(id), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteAppAuthRequest implements store.AppStore.
func (s *DB) DeleteAppAuthRequest(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM app_auth_requests WHERE id = ? AND redeemed = 0`), id); err != nil {
		return s.fail(err, "delete app auth request")
	}
	return nil
}

// appTokenData is the sealed part of a token row.
type appTokenData struct {
	Scopes   []string `json:"scopes"`
	Identity []byte   `json:"identity,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	AMR      []string `json:"amr,omitempty"`
}

func (s *DB) sealToken(kind string, t *store.AppToken) ([]byte, error) {
	if t.ID == "" || t.Grant == "" {
		return nil, broker.Errorf(broker.EINVALID, "app_token_incomplete", "")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	d := appTokenData{Scopes: t.Scopes, Identity: t.Identity, AMR: t.AMR}
	if !t.AuthTime.IsZero() {
		d.AuthTime = ns(t.AuthTime)
	}
	return s.sealJSON(d, appTokenAAD(kind, t.ID))
}

// CreateAppAccessToken implements store.AppStore.
func (s *DB) CreateAppAccessToken(ctx context.Context, t *store.AppToken) error {
	data, err := s.sealToken("access", t)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO app_access_tokens (id, grant_id, client_id, provider, subject, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), t.ID, t.Grant, t.ClientID, t.Provider, t.Subject, data, ns(t.CreatedAt), ns(t.ExpiresAt))
	if s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "app_token_exists", "")
	}
	if err != nil {
		return s.fail(err, "create app access token")
	}
	return nil
}

const appTokenColumns = `grant_id, client_id, provider, subject, data, created_at, expires_at`

func (s *DB) scanToken(row *sql.Row, kind, id string, extra ...any) (*store.AppToken, error) {
	t := store.AppToken{ID: id}
	var blob []byte
	var created, expires int64
	err := row.Scan(append([]any{&t.Grant, &t.ClientID, &t.Provider, &t.Subject, &blob, &created, &expires}, extra...)...)
	if err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromNS(created), fromNS(expires)
	var d appTokenData
	if err := s.openJSON(blob, appTokenAAD(kind, id), &d); err != nil {
		return nil, err
	}
	t.Scopes, t.Identity, t.AMR = d.Scopes, d.Identity, d.AMR
	if d.AuthTime != 0 {
		t.AuthTime = fromNS(d.AuthTime)
	}
	return &t, nil
}

// GetAppAccessToken implements store.AppStore.
func (s *DB) GetAppAccessToken(ctx context.Context, id string) (*store.AppToken, error) {
	t, err := s.scanToken(s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT `+appTokenColumns+` FROM app_access_tokens WHERE id = ? AND expires_at > ? AND revoked = 0`), id, ns(s.now())), "access", id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAppTokenNotFound
	}
	if err != nil {
		return nil, s.fail(err, "get app access token")
	}
	return t, nil
}

// RevokeAppAccessToken implements store.AppStore.
func (s *DB) RevokeAppAccessToken(ctx context.Context, id string) error {
	_, err := s.exec(ctx, "revoke app access token", `UPDATE app_access_tokens SET revoked = 1 WHERE id = ?`, id)
	return err
}

// CreateAppRefreshToken implements store.AppStore.
func (s *DB) CreateAppRefreshToken(ctx context.Context, t *store.AppToken) error {
	return s.insertRefresh(ctx, s.db, t)
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func (s *DB) insertRefresh(ctx context.Context, db execer, t *store.AppToken) error {
	data, err := s.sealToken("refresh", t)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, s.d.rebind(`INSERT INTO app_refresh_tokens (hash, grant_id, client_id, provider, subject, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), t.ID, t.Grant, t.ClientID, t.Provider, t.Subject, data, ns(t.CreatedAt), ns(t.ExpiresAt))
	if s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "app_token_exists", "")
	}
	if err != nil {
		return s.fail(err, "create app refresh token")
	}
	return nil
}

// GetAppRefreshToken implements store.AppStore.
func (s *DB) GetAppRefreshToken(ctx context.Context, hash string) (*store.AppToken, error) {
	var rotated, revoked int
	t, err := s.scanToken(s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT `+appTokenColumns+`, rotated, revoked FROM app_refresh_tokens WHERE hash = ? AND expires_at > ?`), hash, ns(s.now())), "refresh", hash, &rotated, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAppTokenNotFound
	}
	if err != nil {
		return nil, s.fail(err, "get app refresh token")
	}
	if revoked != 0 {
		return nil, errAppTokenNotFound
	}
	if rotated != 0 {
		if _, err := s.RevokeAppGrant(ctx, t.Grant); err != nil {
			return nil, err
		}
		return nil, errAppRefreshReused
	}
	return t, nil
}

// RotateAppRefreshToken implements store.AppStore.
func (s *DB) RotateAppRefreshToken(ctx context.Context, oldHash string, next *store.AppToken) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, "rotate app refresh token")
	}
	defer tx.Rollback()
	var grant string
	err = tx.QueryRowContext(ctx, s.d.rebind(`UPDATE app_refresh_tokens SET rotated = 1
		WHERE hash = ? AND expires_at > ? AND revoked = 0 AND rotated = 0 RETURNING grant_id`), oldHash, ns(s.now())).Scan(&grant)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		var rotated int
		err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT grant_id, rotated FROM app_refresh_tokens WHERE hash = ? AND revoked = 0`), oldHash).Scan(&grant, &rotated)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && rotated == 0) {
			return errAppTokenNotFound
		}
		if err != nil {
			return s.fail(err, "rotate app refresh token")
		}
		if _, err := s.RevokeAppGrant(ctx, grant); err != nil {
			return err
		}
		return errAppRefreshReused
	}
	if err != nil {
		return s.fail(err, "rotate app refresh token")
	}
	if next.Grant != grant {
		return broker.Errorf(broker.EINVALID, "app_token_grant_mismatch", "")
	}
	if err := s.insertRefresh(ctx, tx, next); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, "rotate app refresh token")
	}
	return nil
}

// RevokeAppGrant implements store.AppStore.
func (s *DB) RevokeAppGrant(ctx context.Context, grant string) (int64, error) {
	return s.revokeTokens(ctx, "revoke app grant", `grant_id = ?`, grant)
}

// RevokeAppTokens implements store.AppStore.
func (s *DB) RevokeAppTokens(ctx context.Context, clientID, provider, subject string) (int64, error) {
	return s.revokeTokens(ctx, "revoke app tokens", `client_id = ? AND provider = ? AND subject = ?`, clientID, provider, subject)
}

func (s *DB) revokeTokens(ctx context.Context, op, where string, args ...any) (int64, error) {
	now := ns(s.now())
	var total int64
	for _, table := range []string{"app_access_tokens", "app_refresh_tokens"} {
		live := ` AND revoked = 0 AND expires_at > ?`
		if table == "app_refresh_tokens" {
			live += ` AND rotated = 0`
		}
		n, err := s.exec(ctx, op, `UPDATE `+table+` SET revoked = 1 WHERE `+where+live, append(append([]any{}, args...), now)...)
		total += n
		if err != nil {
			return total, err
		}
		// Rotated refresh tokens of the grant are revoked too (not counted: not live).
		if table == "app_refresh_tokens" {
			if _, err := s.exec(ctx, op, `UPDATE `+table+` SET revoked = 1 WHERE `+where, args...); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

func (s *DB) sealJSON(v any, aad string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, broker.Wrap(err, broker.EINTERNAL, "encode_failed", "")
	}
	return s.seal.seal(b, aad), nil
}

func (s *DB) openJSON(blob []byte, aad string, v any) error {
	b, err := s.seal.open(blob, aad)
	if err != nil {
		return broker.Wrap(err, broker.EINTERNAL, "decrypt_failed", "")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return broker.Wrap(fmt.Errorf("sqlstore: decode: %w", err), broker.EINTERNAL, "decode_failed", "")
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
