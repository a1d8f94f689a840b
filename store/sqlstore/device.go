package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// The device authorization grant (store.DeviceStore). The columns hold
// what queries select and update on; the scopes and the person's identity
// are one sealed JSON document.

var (
	errDeviceNotFound = broker.Errorf(broker.ENOTFOUND, "device_authorization_not_found", "")
	errDeviceReplayed = broker.Errorf(broker.EREPLAY, "device_code_replayed", "")
)

func deviceAAD(id string) string { return "broker device authorization\x00" + id }

// deviceData is the sealed part of a device authorization row.
type deviceData struct {
	Scopes   []string `json:"scopes"`
	Identity []byte   `json:"identity,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	AMR      []string `json:"amr,omitempty"`
}

func (s *DB) sealDevice(d *store.DeviceAuthorization) ([]byte, error) {
	dd := deviceData{Scopes: d.Scopes, Identity: d.Identity, AMR: d.AMR}
	if !d.AuthTime.IsZero() {
		dd.AuthTime = ns(d.AuthTime)
	}
	return s.sealJSON(dd, deviceAAD(d.ID))
}

// CreateDeviceAuthorization implements store.DeviceStore.
func (s *DB) CreateDeviceAuthorization(ctx context.Context, d *store.DeviceAuthorization) error {
	if d.ID == "" || d.DeviceCodeHash == "" || d.UserCodeHash == "" {
		return broker.Errorf(broker.EINVALID, "device_authorization_incomplete", "")
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now()
	}
	if d.Status == "" {
		d.Status = store.DevicePending
	}
	data, err := s.sealDevice(d)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO device_authorizations
		(id, device_hash, user_hash, client_id, status, interval_ns, polled_at, provider, subject, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), d.ID, d.DeviceCodeHash, d.UserCodeHash, d.ClientID, d.Status,
		int64(d.Interval), ns(d.CreatedAt), d.Provider, d.Subject, data, ns(d.CreatedAt), ns(d.ExpiresAt))
	if s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "device_authorization_exists", "")
	}
	if err != nil {
		return s.fail(err, "create device authorization")
	}
	return nil
}

const deviceColumns = `id, device_hash, user_hash, client_id, status, interval_ns, slow_down, failures, provider, subject, data, created_at, expires_at`

func (s *DB) scanDevice(row *sql.Row) (*store.DeviceAuthorization, error) {
	var d store.DeviceAuthorization
	var interval, slow, created, expires int64
	var blob []byte
	err := row.Scan(&d.ID, &d.DeviceCodeHash, &d.UserCodeHash, &d.ClientID, &d.Status, &interval, &slow, &d.Failures,
		&d.Provider, &d.Subject, &blob, &created, &expires)
	if err != nil {
		return nil, err
	}
	d.Interval, d.SlowDown, d.CreatedAt, d.ExpiresAt = time.Duration(interval), slow != 0, fromNS(created), fromNS(expires)
	var dd deviceData
	if err := s.openJSON(blob, deviceAAD(d.ID), &dd); err != nil {
		return nil, err
	}
	d.Scopes, d.Identity, d.AMR = dd.Scopes, dd.Identity, dd.AMR
	if dd.AuthTime != 0 {
		d.AuthTime = fromNS(dd.AuthTime)
	}
	return &d, nil
}

// GetDeviceAuthorization implements store.DeviceStore.
func (s *DB) GetDeviceAuthorization(ctx context.Context, userCodeHash string) (*store.DeviceAuthorization, error) {
	d, err := s.scanDevice(s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT `+deviceColumns+` FROM device_authorizations
		WHERE user_hash = ? AND status = ? AND expires_at > ?`), userCodeHash, store.DevicePending, ns(s.now())))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errDeviceNotFound
	}
	if err != nil {
		return nil, s.fail(err, "get device authorization")
	}
	return d, nil
}

// DecideDeviceAuthorization implements store.DeviceStore.
func (s *DB) DecideDeviceAuthorization(ctx context.Context, d *store.DeviceAuthorization) error {
	if d.Status != store.DeviceApproved && d.Status != store.DeviceDenied {
		return broker.Errorf(broker.EINVALID, "device_decision_invalid", "")
	}
	old, err := s.GetDeviceAuthorization(ctx, d.UserCodeHash)
	if err != nil {
		return err
	}
	old.Identity, old.AuthTime, old.AMR = d.Identity, d.AuthTime, d.AMR
	data, err := s.sealDevice(old)
	if err != nil {
		return err
	}
	n, err := s.exec(ctx, "decide device authorization", `UPDATE device_authorizations SET status = ?, provider = ?, subject = ?, data = ?
		WHERE id = ? AND status = ? AND expires_at > ?`, d.Status, d.Provider, d.Subject, data, old.ID, store.DevicePending, ns(s.now()))
	if err != nil {
		return err
	}
	if n == 0 {
		return errDeviceNotFound
	}
	return nil
}

// PollDeviceAuthorization implements store.DeviceStore. One statement: the
// SET expressions all read the row as it was before the poll.
func (s *DB) PollDeviceAuthorization(ctx context.Context, deviceCodeHash string) (*store.DeviceAuthorization, error) {
	now := ns(s.now())
	tooSoon := `(status = 'pending' AND ? - polled_at < interval_ns)`
	d, err := s.scanDevice(s.db.QueryRowContext(ctx, s.d.rebind(`UPDATE device_authorizations SET
		slow_down = CASE WHEN `+tooSoon+` THEN 1 ELSE 0 END,
		interval_ns = CASE WHEN `+tooSoon+` THEN interval_ns + ? ELSE interval_ns END,
		polled_at = ?
		WHERE device_hash = ? RETURNING `+deviceColumns),
		now, now, int64(store.DeviceSlowDownStep), now, deviceCodeHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errDeviceNotFound
	}
	if err != nil {
		return nil, s.fail(err, "poll device authorization")
	}
	return d, nil
}

// ConsumeDeviceAuthorization implements store.DeviceStore.
func (s *DB) ConsumeDeviceAuthorization(ctx context.Context, deviceCodeHash string) (*store.DeviceAuthorization, error) {
	d, err := s.scanDevice(s.db.QueryRowContext(ctx, s.d.rebind(`UPDATE device_authorizations SET status = ?
		WHERE device_hash = ? AND status = ? AND expires_at > ? RETURNING `+deviceColumns),
		store.DeviceConsumed, deviceCodeHash, store.DeviceApproved, ns(s.now())))
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, s.fail(err, "consume device authorization")
	}
	var id string
	err = s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT id FROM device_authorizations WHERE device_hash = ? AND status = ?`),
		deviceCodeHash, store.DeviceConsumed).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errDeviceNotFound
	}
	if err != nil {
		return nil, s.fail(err, "consume device authorization")
	}
	if _, err := s.RevokeAppGrant(ctx, id); err != nil {
		return nil, err
	}
	return nil, errDeviceReplayed
}

// FailDeviceUserCode implements store.DeviceStore.
func (s *DB) FailDeviceUserCode(ctx context.Context, max int) (int64, error) {
	now := ns(s.now())
	if _, err := s.exec(ctx, "count wrong user code", `UPDATE device_authorizations SET failures = failures + 1
		WHERE status = ? AND expires_at > ?`, store.DevicePending, now); err != nil {
		return 0, err
	}
	return s.exec(ctx, "count wrong user code", `UPDATE device_authorizations SET expires_at = ?
		WHERE status = ? AND expires_at > ? AND failures >= ?`, now, store.DevicePending, now, max)
}
