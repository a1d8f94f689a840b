package sqlstore

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// groupWrite is a sign-in's write with its own replay key and session.
func groupWrite(now time.Time, i int, replayKey string) *store.SignInWrite {
	n := strconv.Itoa(i)
	return &store.SignInWrite{
		Replay:  store.ReplayEntry{Namespace: "saml:okta", Key: replayKey, Expires: now.Add(5 * time.Minute)},
		Session: &store.Session{ID: "sid-" + n, Subject: "user-" + n, Provider: "okta", Data: []byte("session " + n), ExpiresAt: now.Add(time.Hour)},
		SignIn:  &store.SignIn{Provider: "okta", Subject: "user-" + n, Identity: []byte(`{"n":` + n + `}`)},
		Audit:   &store.AuditEvent{Event: "signin", Result: store.ResultSuccess, Provider: "okta", Subject: "user-" + n, RequestID: "rq-" + n},
	}
}

// queued waits until n sign-ins are in db's queue.
func queued(t *testing.T, db *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		db.signIns.mu.Lock()
		l := len(db.signIns.q)
		db.signIns.mu.Unlock()
		if l == n {
			return
		}
	}
	t.Fatalf("%d sign-ins never queued", n)
}

// TestGroupCommit: sign-ins that arrive while the writer is busy are
// committed in one transaction, and each gets its own outcome — its
// audit ID, or EREPLAY for the second use of a replay key in the same
// group (and nothing of it written), or ECONFLICT for a session ID
// already taken (the group is then written one by one).
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	cases := []struct {
		name string
		// writes' replay keys and session numbers
		keys     []string
		sessions []int
		// the outcome expected of each
		want []string
		// transactions tried, sign-ins written
		groups, written int
	}{
		{name: "all accepted", keys: []string{"a", "b", "c", "d", "e"}, sessions: []int{1, 2, 3, 4, 5}, want: []string{"", "", "", "", ""}, groups: 1, written: 5},
		{name: "a replay in the group", keys: []string{"a", "b", "a", "c"}, sessions: []int{1, 2, 3, 4}, want: []string{"", "", broker.EREPLAY, ""}, groups: 1, written: 3},
		{name: "a session ID taken", keys: []string{"a", "b", "c"}, sessions: []int{1, 2, 1}, want: []string{"", "", broker.ECONFLICT}, groups: 1 + 3, written: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t, filepath.Join(t.TempDir(), "broker.db"), nil, key(1))
			// One sign-in first, alone, so that the queue below forms
			// behind a leader that waits for the writer, held here.
			if err := db.CompleteSignIn(ctx, groupWrite(now, 0, "first")); err != nil {
				t.Fatal(err)
			}
			hold, err := db.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			g0 := db.signIns.groups.Load()
			writes := make([]*store.SignInWrite, len(tc.keys))
			errs := make([]error, len(tc.keys))
			var wg sync.WaitGroup
			for i := range tc.keys {
				writes[i] = groupWrite(now, tc.sessions[i], tc.keys[i])
				wg.Go(func() { errs[i] = db.CompleteSignIn(ctx, writes[i]) })
				queued(t, db, i+1) // in this order
			}
			hold.Close()
			wg.Wait()
			ids := map[int64]bool{}
			for i, err := range errs {
				if broker.ErrorCode(err) != tc.want[i] {
					t.Errorf("write %d (key %s, session %d): %v, want code %q", i, tc.keys[i], tc.sessions[i], err, tc.want[i])
				}
				if err == nil {
					if id := writes[i].Audit.ID; id <= 1 || ids[id] {
						t.Errorf("write %d: audit ID %d (1 is the first sign-in's; IDs %v)", i, id, ids)
					} else {
						ids[id] = true
					}
				}
			}
			if got := db.signIns.groups.Load() - g0; got != int64(tc.groups) {
				t.Errorf("%d transactions, want %d", got, tc.groups)
			}
			var sessions, audit, signins int
			db.rdb.QueryRow(`SELECT count(*) FROM sessions`).Scan(&sessions)
			db.rdb.QueryRow(`SELECT count(*) FROM audit`).Scan(&audit)
			db.rdb.QueryRow(`SELECT count(*) FROM signins`).Scan(&signins)
			if sessions != tc.written+1 || audit != tc.written+1 || signins != tc.written+1 {
				t.Errorf("rows: %d sessions, %d audit events, %d sign-in records; want %d each", sessions, audit, signins, tc.written+1)
			}
			for i, err := range errs {
				if err != nil {
					continue
				}
				got, err := db.GetSession(ctx, writes[i].Session.ID)
				if err != nil || string(got.Data) != "session "+strconv.Itoa(tc.sessions[i]) {
					t.Errorf("write %d: session %+v, %v", i, got, err)
				}
			}
		})
	}
}

// TestGroupCommitConcurrent: many sign-ins at once, every one written
// once with a distinct audit ID, in fewer transactions than sign-ins.
func TestGroupCommitConcurrent(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "broker.db"), nil, key(1))
	now := time.Now()
	const n = 400
	writes := make([]*store.SignInWrite, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		writes[i] = groupWrite(now, i, "k"+strconv.Itoa(i))
		wg.Go(func() { errs <- db.CompleteSignIn(ctx, writes[i]) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := map[int64]bool{}
	for _, w := range writes {
		if w.Audit.ID == 0 || ids[w.Audit.ID] {
			t.Fatalf("audit ID %d missing or repeated", w.Audit.ID)
		}
		ids[w.Audit.ID] = true
	}
	var count int
	db.rdb.QueryRow(`SELECT count(*) FROM audit`).Scan(&count)
	if count != n {
		t.Errorf("%d audit rows, want %d", count, n)
	}
	groups, grouped := db.signIns.groups.Load(), db.signIns.grouped.Load()
	if grouped != n || groups >= n {
		t.Errorf("%d sign-ins in %d transactions: want %d in fewer", grouped, groups, n)
	}
	t.Logf("%d sign-ins in %d transactions", grouped, groups)
}

// BenchmarkCompleteSignIn writes realistic sign-ins (a 700-byte session,
// a 400-byte identity, an audit event) to a SQLite file from 1 and 8
// goroutines, and reports the mean group (sign-ins per transaction) and
// the WAL frames (pages written) per sign-in:
//
//	go test ./store/sqlstore -run '^$' -bench CompleteSignIn -benchtime 4000x
func BenchmarkCompleteSignIn(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run("concurrency="+strconv.Itoa(conc), func(b *testing.B) {
			ctx := context.Background()
			db, err := Open(ctx, Config{DSN: filepath.Join(b.TempDir(), "broker.db"), Keys: [][]byte{key(1)}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			now := time.Now()
			writes := make([]*store.SignInWrite, b.N)
			for i := range writes {
				w := groupWrite(now, i, strconv.Itoa(i*7919)+"-0123456789abcdef0123456789abcdef")
				w.Session.Data, w.SignIn.Identity = make([]byte, 700), make([]byte, 400)
				w.Session.ID = w.Session.ID + "-0123456789abcdef0123456789abcdef"
				writes[i] = w
			}
			if _, err := db.db.Exec(`PRAGMA wal_autocheckpoint=0`); err != nil {
				b.Fatal(err)
			}
			g0, n0 := db.signIns.groups.Load(), db.signIns.grouped.Load()
			b.ReportAllocs()
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range conc {
				wg.Go(func() {
					for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
						if err := db.CompleteSignIn(ctx, writes[i]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			var busy, frames, done int
			if err := db.db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(db.signIns.grouped.Load()-n0)/float64(db.signIns.groups.Load()-g0), "signins/tx")
			b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
		})
	}
}

// TestGroupCommitWriterBusy: when the writer stays taken past the wait,
// every queued sign-in fails at once as unavailable (none hangs, none is
// half written), the queue is left empty, and once the writer is free a
// sign-in goes through.
func TestGroupCommitWriterBusy(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "broker.db"), nil, key(1))
	db.signIns.wait = 200 * time.Millisecond
	now := time.Now()
	hold, err := db.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range errs {
		wg.Go(func() { errs[i] = db.CompleteSignIn(ctx, groupWrite(now, i, "k"+strconv.Itoa(i))) })
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the queued sign-ins took %s to fail", d)
	}
	for i, err := range errs {
		if broker.ErrorCode(err) != broker.EUNAVAILABLE {
			t.Errorf("sign-in %d: %v, want %s", i, err, broker.EUNAVAILABLE)
		}
	}
	db.signIns.mu.Lock()
	left := len(db.signIns.q)
	db.signIns.mu.Unlock()
	if left != 0 {
		t.Errorf("%d sign-ins left in the queue", left)
	}
	hold.Close()
	var rows int
	db.rdb.QueryRow(`SELECT count(*) FROM sessions`).Scan(&rows)
	if rows != 0 {
		t.Errorf("%d sessions written by refused sign-ins", rows)
	}
	if err := db.CompleteSignIn(ctx, groupWrite(now, 9, "k9")); err != nil {
		t.Fatalf("once the writer is free: %v", err)
	}
}
