package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/broker-dev/broker/store"
)

// CountSessions counts the live sessions only, on both backends.
func TestCountSessions(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			var db *DB
			if backend == "sqlite" {
				db = open(t, filepath.Join(t.TempDir(), "c.db"), clock, key(1))
			} else {
				var err error
				if db, err = Open(context.Background(), Config{Driver: "postgres", DSN: postgresSchema(t), Keys: [][]byte{key(1)}, Now: clock}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
			}
			ctx := context.Background()
			for i, life := range []time.Duration{time.Minute, time.Hour, time.Hour} {
				if err := db.CreateSession(ctx, &store.Session{ID: fmt.Sprint("s", i), Subject: "alice", Provider: "okta", Data: []byte("x"),
					CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(life)}); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := db.CountSessions(ctx); err != nil || n != 3 {
				t.Fatalf("CountSessions = %d, %v; want 3", n, err)
			}
			now = now.Add(2 * time.Minute)
			if n, err := db.CountSessions(ctx); err != nil || n != 2 {
				t.Fatalf("after one expired: CountSessions = %d, %v; want 2", n, err)
			}
			db.Close()
			if _, err := db.CountSessions(ctx); err == nil {
				t.Fatal("CountSessions on a closed store succeeded")
			}
		})
	}
}
