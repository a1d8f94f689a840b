package sqlstore

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/storetest"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func open(t *testing.T, path string, now func() time.Time, keys ...[]byte) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{Driver: "sqlite", DSN: path, Keys: keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		db, err := Open(context.Background(), Config{DSN: filepath.Join(t.TempDir(), "broker.db"), Keys: [][]byte{key(1)}, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestConformanceSQLiteMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		db, err := Open(context.Background(), Config{DSN: ":memory:", Keys: [][]byte{key(1)}, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestDataEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "broker.db")
	db := open(t, path, nil, key(1))
	secret := []byte("PHNhbWxwOlJlc3BvbnNl-the-upstream-assertion")
	ctx := context.Background()
	if err := db.CreateSession(ctx, &store.Session{ID: "s1", Data: secret, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := db.db.QueryRow(`SELECT data FROM sessions WHERE id = 's1'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, secret) || len(raw) < len(secret)+16 {
		t.Fatal("session data is stored in the clear")
	}
	db.Close()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if bytes.Contains(b, secret) {
			t.Fatalf("%s contains the plaintext", f)
		}
	}
	for _, c := range []struct {
		p    string
		mode os.FileMode
	}{{filepath.Dir(path), 0o700}, {path, 0o600}} {
		st, err := os.Stat(c.p)
		if err != nil || st.Mode().Perm() != c.mode {
			t.Errorf("%s mode %v, want %v", c.p, st.Mode().Perm(), c.mode)
		}
	}
}

func TestKeyRotationAndTampering(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	ctx := context.Background()
	old := open(t, path, nil, key(1))
	for _, id := range []string{"a", "b"} {
		if err := old.CreateSession(ctx, &store.Session{ID: id, Data: []byte("data-" + id), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	rotated := open(t, path, nil, key(2), key(1))
	got, err := rotated.GetSession(ctx, "a")
	if err != nil || string(got.Data) != "data-a" {
		t.Fatalf("old row with [new, old] keys: %v %v", got, err)
	}
	if err := rotated.UpdateSession(ctx, "a", []byte("data-a2"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Swap ciphertexts between rows: the session id is authenticated.
	if _, err := rotated.db.Exec(`UPDATE sessions SET data = (SELECT data FROM sessions WHERE id = 'a') WHERE id = 'b'`); err != nil {
		t.Fatal(err)
	}
	_, err = rotated.GetSession(ctx, "b")
	if broker.ErrorCode(err) != broker.EINTERNAL || broker.ErrorReason(err) != "decrypt_failed" {
		t.Fatalf("row swap: err %v, want internal/decrypt_failed", err)
	}
	rotated.Close()

	other := open(t, path, nil, key(3))
	if _, err := other.GetSession(ctx, "a"); broker.ErrorReason(err) != "decrypt_failed" {
		t.Fatalf("unknown key: err %v", err)
	}
	newOnly := open(t, path, nil, key(2))
	if got, err := newOnly.GetSession(ctx, "a"); err != nil || string(got.Data) != "data-a2" {
		t.Fatalf("re-encrypted row with the new key only: %v %v", got, err)
	}
}

func TestOpenTwiceAndConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(context.Background(), Config{DSN: path, Keys: [][]byte{key(1)}})
			if err != nil {
				errs <- err
				return
			}
			db.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Open: %v", err)
	}
	db := open(t, path, nil, key(1))
	files, err := fs.ReadDir(migrations, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Fatalf("%d migrations recorded (%v), want each of the %d applied once", n, err, len(files))
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no key":     {DSN: ":memory:"},
		"short key":  {DSN: ":memory:", Keys: [][]byte{[]byte("short")}},
		"no dsn":     {Keys: [][]byte{key(1)}},
		"postgres":   {Driver: "postgres", DSN: "postgres://x", Keys: [][]byte{key(1)}},
		"bad driver": {Driver: "oracle", DSN: "x", Keys: [][]byte{key(1)}},
	} {
		if _, err := Open(context.Background(), cfg); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

func TestParseKey(t *testing.T) {
	for in, ok := range map[string]bool{
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=":   true,
		" MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\n": true,
		"MDEyMzQ1Njc4OWFiY2RlZg==":                       false,
		"not base64!":                                    false,
	} {
		if _, err := ParseKey(in); (err == nil) != ok {
			t.Errorf("ParseKey(%q) err=%v, want ok=%v", in, err, ok)
		}
	}
	k, err := GenerateKey()
	if err != nil || len(k) != 32 {
		t.Fatal(err)
	}
}

func TestClosedDBIsUnavailableNotAPanic(t *testing.T) {
	db := open(t, ":memory:", nil, key(1))
	db.Close()
	err := db.Ping(context.Background())
	if code := broker.ErrorCode(err); code != broker.EUNAVAILABLE && code != broker.EINTERNAL {
		t.Fatalf("ping on closed db: %v", err)
	}
}

func BenchmarkRemember(b *testing.B) {
	db, err := Open(context.Background(), Config{DSN: filepath.Join(b.TempDir(), "b.db"), Keys: [][]byte{key(1)}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	exp := time.Now().Add(time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Remember(context.Background(), "bench", strconv.Itoa(i), exp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendAudit(b *testing.B) {
	db, err := Open(context.Background(), Config{DSN: filepath.Join(b.TempDir(), "b.db"), Keys: [][]byte{key(1)}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.AppendAudit(context.Background(), &store.AuditEvent{Event: "signin", Result: "success", Subject: "alice"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListAuditHistory reads a person's 200 latest role openings (of
// their 2,000 events, 1,000 of them openings, among 4,000 of others': the
// portal's history read), with every column and with Brief:
//
//	go test ./store/sqlstore -run '^$' -bench ListAuditHistory -benchmem
func BenchmarkListAuditHistory(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, Config{DSN: filepath.Join(b.TempDir(), "b.db"), Keys: [][]byte{key(1)}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var evs []store.AuditEvent
	for i := range 6000 {
		e := store.AuditEvent{Event: "signin", Result: "success", Provider: "okta", Subject: "user-" + strconv.Itoa(i%50),
			RequestID: "rq-" + strconv.Itoa(i), RemoteAddr: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"}
		if i%6 < 2 {
			e.Subject = "alice"
		}
		if i%6 == 1 {
			e.Event, e.RoleARN, e.SessionName = "role_assumed", "arn:aws:iam::111122223333:role/Role"+strconv.Itoa(i%20), "alice"
			e.Details = map[string]string{"mode": "broker", "downstream": "console", "rule": "team-admin", "access_key_id": "ASIA…WXYZ",
				"credentials_exp": "2026-11-30T05:00:00Z", "console_exp": "2026-11-30T05:00:00Z"}
		}
		evs = append(evs, e)
	}
	if err := db.AppendAuditBatch(ctx, evs); err != nil {
		b.Fatal(err)
	}
	for _, brief := range []bool{false, true} {
		b.Run("brief="+strconv.FormatBool(brief), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := db.ListAudit(ctx, store.AuditFilter{Provider: "okta", Subject: "alice", Event: "role_assumed", Result: "success", Limit: 200, Brief: brief})
				if err != nil || len(got) != 200 {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}
