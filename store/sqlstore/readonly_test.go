package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// A database that cannot write refuses a sign-in, an audit record and the
// readiness write with EUNAVAILABLE (HTTP 503), never EINTERNAL, while it
// still answers Ping (reads): readiness must write to see it.

// loginWrite is a whole sign-in's write.
func loginWrite(now time.Time, key string) *store.SignInWrite {
	return &store.SignInWrite{
		Replay:  store.ReplayEntry{Namespace: "saml:okta", Key: key, Expires: now.Add(time.Minute)},
		Session: &store.Session{ID: "sid-" + key, Subject: "alice", Provider: "okta", Data: []byte("d"), ExpiresAt: now.Add(time.Hour)},
		SignIn:  &store.SignIn{Provider: "okta", Subject: "alice", Identity: []byte("{}")},
		Audit:   &store.AuditEvent{Event: "signin", Result: store.ResultSuccess, Subject: "alice"},
	}
}

// assertCannotWrite checks every write the broker needs before handing
// anything out fails with EUNAVAILABLE and reason, and reads still work.
func assertCannotWrite(t *testing.T, db *DB, reason string) {
	t.Helper()
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping on a database that only cannot write: %v", err)
	}
	for name, err := range map[string]error{
		"CompleteSignIn": db.CompleteSignIn(ctx, loginWrite(time.Now(), "_ro")),
		"AppendAudit":    db.AppendAudit(ctx, &store.AuditEvent{Event: "role_assumed", Result: store.ResultSuccess}),
		"CheckWrite":     db.CheckWrite(ctx),
	} {
		if broker.ErrorCode(err) != broker.EUNAVAILABLE || broker.ErrorReason(err) != reason {
			t.Errorf("%s = %v (code %q reason %q), want %s %s", name, err, broker.ErrorCode(err), broker.ErrorReason(err), broker.EUNAVAILABLE, reason)
		}
	}
}

// useConn points db at conn (its hot statements prepared there), as if
// the database had been opened that way.
func useConn(t *testing.T, db *DB, conn *sql.DB) {
	t.Helper()
	for _, st := range db.hotStmts {
		st.Close()
	}
	db.db = conn
	db.rdb = conn
	if err := db.prepareHot(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSQLiteReadOnly: the writer's connection opened read-only (mode=ro,
// as a read-only file or mount gives it; chmod does not stop root).
func TestSQLiteReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	db := open(t, path, time.Now, key(1))
	if err := db.CheckWrite(context.Background()); err != nil {
		t.Fatalf("CheckWrite on a writable file: %v", err)
	}
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_busy_timeout=1000")
	if err != nil {
		t.Fatal(err)
	}
	db.db.Close()
	useConn(t, db, ro)
	assertCannotWrite(t, db, ReasonStoreReadOnly)
}

// TestSQLiteDiskFull: SQLite finds no room for a new page (SQLITE_FULL, as
// on a full disk; max_page_count pins the file at its size).
func TestSQLiteDiskFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	db := open(t, path, time.Now, key(1))
	ctx := context.Background()
	var pages int
	if err := db.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	full, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=1000&_txlock=immediate&_pragma=max_page_count("+itoa(pages)+")")
	if err != nil {
		t.Fatal(err)
	}
	db.db.Close()
	useConn(t, db, full)
	// Fill what room is left in the pages there are, to the last bytes.
	var err2 error
	for _, size := range []int{900, 100, 0} {
		err2 = nil
		for i := 0; i < 10000 && err2 == nil; i++ {
			err2 = db.AppendAudit(ctx, &store.AuditEvent{Event: "filler", Result: store.ResultSuccess, Message: strings.Repeat("x", size)})
		}
	}
	if broker.ErrorCode(err2) != broker.EUNAVAILABLE || broker.ErrorReason(err2) != ReasonStoreFull {
		t.Fatalf("a write on a full database: %v (%q), want EUNAVAILABLE %s", err2, broker.ErrorReason(err2), ReasonStoreFull)
	}
	err = db.CompleteSignIn(ctx, loginWrite(time.Now(), "_full"))
	if broker.ErrorCode(err) != broker.EUNAVAILABLE || broker.ErrorReason(err) != ReasonStoreFull {
		t.Fatalf("CompleteSignIn on a full database: %v, want EUNAVAILABLE %s", err, ReasonStoreFull)
	}
	// Nothing of the refused sign-in was written (its replay entry either).
	if err := db.Remember(ctx, "saml:okta", "_full", time.Now().Add(time.Minute)); broker.ErrorCode(err) == broker.EREPLAY {
		t.Fatal("the refused sign-in's replay entry was kept")
	}
}

// TestPostgresReadOnly: a database in read-only mode
// (default_transaction_read_only, as on a standby or after ALTER DATABASE
// … SET default_transaction_read_only = on) refuses as above.
func TestPostgresReadOnly(t *testing.T) {
	dsn := postgresSchema(t)
	db, err := Open(context.Background(), Config{Driver: "postgres", DSN: dsn, Keys: [][]byte{key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckWrite(context.Background()); err != nil {
		t.Fatalf("CheckWrite on a writable database: %v", err)
	}
	ro, err := openPostgres(withParam(dsn, "default_transaction_read_only", "on"))
	if err != nil {
		t.Fatal(err)
	}
	db.db.Close()
	useConn(t, db, ro)
	assertCannotWrite(t, db, ReasonStoreReadOnly)
}

// withParam adds a run-time parameter to a PostgreSQL DSN (URL or key=value).
func withParam(dsn, name, value string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + name + "=" + value
	}
	return dsn + " " + name + "=" + value
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSQLiteWriteCheckWantsFreeDisk: the write check of a SQLite file
// refuses with EUNAVAILABLE store_full when its disk has less free than
// wanted (the upsert alone still fits on a full disk), and passes with room.
func TestSQLiteWriteCheckWantsFreeDisk(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "broker.db"), time.Now, key(1))
	ctx := context.Background()
	if err := db.CheckWrite(ctx); err != nil {
		t.Fatalf("CheckWrite with room: %v", err)
	}
	db.minFree = 1 << 62 // more than any disk has
	err := db.CheckWrite(ctx)
	if broker.ErrorCode(err) != broker.EUNAVAILABLE || broker.ErrorReason(err) != ReasonStoreFull {
		t.Fatalf("CheckWrite short of disk: %v, want EUNAVAILABLE %s", err, ReasonStoreFull)
	}
}
