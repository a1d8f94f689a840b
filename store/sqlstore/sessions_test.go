package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/broker-dev/broker/store"
)

// Sessions stored before migration 004 still load after it, with no
// LastSeenAt, upstream session or origin, and can be touched and listed.
func TestSessionsSurviveMigration004(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "broker.db")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	db := open(t, path, func() time.Time { return now }, key(1))
	// Put the schema back to version 3 and store a session the way 003 did.
	for _, q := range []string{
		`DROP INDEX sessions_person`, `DROP INDEX sessions_upstream`,
		`ALTER TABLE sessions DROP COLUMN last_seen_at`, `ALTER TABLE sessions DROP COLUMN upstream_session`,
		`ALTER TABLE sessions DROP COLUMN remote_addr`, `ALTER TABLE sessions DROP COLUMN user_agent`,
		`DELETE FROM schema_migrations WHERE version = 4`,
	} {
		if _, err := db.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.db.Exec(`INSERT INTO sessions (id, subject, provider, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		"old", "alice", "okta", db.seal.seal([]byte("old-data"), sessionAAD("old")), ns(now), ns(now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = open(t, path, func() time.Time { return now }, key(1))
	got, err := db.GetSession(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != "old-data" || !got.LastSeenAt.IsZero() || got.UpstreamSession != "" || got.Subject != "alice" {
		t.Errorf("old session after migration: %+v", got)
	}
	if err := db.TouchSession(ctx, "old", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListSessions(ctx, store.SessionFilter{Provider: "okta", Subject: "alice"})
	if err != nil || len(list) != 1 || !list[0].LastSeenAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("ListSessions = %+v, %v", list, err)
	}
}
