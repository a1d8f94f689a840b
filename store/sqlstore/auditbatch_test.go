package sqlstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/broker-dev/broker/store"
)

// TestAppendAuditBatch: a batch larger than one statement is appended in
// order, every field kept, on SQLite and (with BROKER_TEST_POSTGRES_DSN)
// PostgreSQL.
func TestAppendAuditBatch(t *testing.T) {
	dbs := map[string]func(t *testing.T) *DB{
		"sqlite": func(t *testing.T) *DB { return open(t, ":memory:", nil, key(1)) },
		"postgres": func(t *testing.T) *DB {
			db, err := Open(context.Background(), Config{Driver: "postgres", DSN: postgresSchema(t), Keys: [][]byte{key(1)}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	}
	for name, mk := range dbs {
		t.Run(name, func(t *testing.T) {
			db, ctx := mk(t), context.Background()
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			var evs []store.AuditEvent
			for i := range 1234 {
				evs = append(evs, store.AuditEvent{Time: t0.Add(time.Duration(i) * time.Second), Event: "signin", Result: store.ResultSuccess,
					Provider: "okta", Subject: "u" + strconv.Itoa(i), RequestID: strconv.Itoa(i), Details: map[string]string{"n": strconv.Itoa(i)}})
			}
			if err := db.AppendAuditBatch(ctx, evs); err != nil {
				t.Fatal(err)
			}
			got, err := db.ListAudit(ctx, store.AuditFilter{Limit: 1000})
			if err != nil || len(got) != 1000 {
				t.Fatalf("%d events, %v", len(got), err)
			}
			if e := got[0]; e.Subject != "u1233" || !e.Time.Equal(t0.Add(1233*time.Second)) || e.Details["n"] != "1233" || e.Provider != "okta" {
				t.Errorf("newest event %+v", e)
			}
			rest, _ := db.ListAudit(ctx, store.AuditFilter{Before: got[999].ID, Limit: 1000})
			if len(rest) != 234 || rest[233].Subject != "u0" {
				t.Errorf("older page: %d events", len(rest))
			}
		})
	}
}
