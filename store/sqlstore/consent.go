package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// Consents to third-party apps (store.ConsentStore). The scopes are scope
// names, not secrets: one space-separated column.

var errConsentNotFound = broker.Errorf(broker.ENOTFOUND, "app_consent_not_found", "")

// SaveAppConsent implements store.ConsentStore: one upsert.
func (s *DB) SaveAppConsent(ctx context.Context, c *store.AppConsent) error {
	if c.Provider == "" || c.Subject == "" || c.ClientID == "" {
		return broker.Errorf(broker.EINVALID, "app_consent_incomplete", "")
	}
	if c.GrantedAt.IsZero() {
		c.GrantedAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO app_consents (provider, subject, client_id, scopes, granted_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (provider, subject, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`),
		c.Provider, c.Subject, c.ClientID, strings.Join(c.Scopes, " "), ns(c.GrantedAt))
	if err != nil {
		return s.fail(err, "save app consent")
	}
	return nil
}

// GetAppConsent implements store.ConsentStore.
func (s *DB) GetAppConsent(ctx context.Context, provider, subject, clientID string) (*store.AppConsent, error) {
	c := store.AppConsent{Provider: provider, Subject: subject, ClientID: clientID}
	var scopes string
	var granted int64
	err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT scopes, granted_at FROM app_consents
		WHERE provider = ? AND subject = ? AND client_id = ?`), provider, subject, clientID).Scan(&scopes, &granted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errConsentNotFound
	}
	if err != nil {
		return nil, s.fail(err, "get app consent")
	}
	c.Scopes, c.GrantedAt = strings.Fields(scopes), fromNS(granted)
	return &c, nil
}

// ListAppConsents implements store.ConsentStore.
func (s *DB) ListAppConsents(ctx context.Context, provider, subject string) ([]store.AppConsent, error) {
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(`SELECT client_id, scopes, granted_at FROM app_consents
		WHERE provider = ? AND subject = ? ORDER BY granted_at DESC, client_id`), provider, subject)
	if err != nil {
		return nil, s.fail(err, "list app consents")
	}
	defer rows.Close()
	var out []store.AppConsent
	for rows.Next() {
		c := store.AppConsent{Provider: provider, Subject: subject}
		var scopes string
		var granted int64
		if err := rows.Scan(&c.ClientID, &scopes, &granted); err != nil {
			return nil, s.fail(err, "list app consents")
		}
		c.Scopes, c.GrantedAt = strings.Fields(scopes), fromNS(granted)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list app consents")
	}
	return out, nil
}

// DeleteAppConsent implements store.ConsentStore.
func (s *DB) DeleteAppConsent(ctx context.Context, provider, subject, clientID string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM app_consents WHERE provider = ? AND subject = ? AND client_id = ?`),
		provider, subject, clientID)
	if err != nil {
		return false, s.fail(err, "delete app consent")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.fail(err, "delete app consent")
	}
	return n > 0, nil
}
