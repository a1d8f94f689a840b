// Package storetest is the conformance suite every store.Store backend
// must pass (in the style of dex's storage/conformance).
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// Clock is a settable clock the backend under test must use as its Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Run runs every conformance test. newStore must return an empty store that
// takes its time from clock.
func Run(t *testing.T, newStore func(t *testing.T, clock *Clock) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store, *Clock)
	}{
		{"RememberOnce", testRememberOnce},
		{"RememberConcurrent", testRememberConcurrent},
		{"Sessions", testSessions},
		{"SessionExpiry", testSessionExpiry},
		{"SessionData", testSessionData},
		{"SessionFields", testSessionFields},
		{"ListSessions", testListSessions},
		{"ListSessionsLimit", testListSessionsLimit},
		{"DeleteSessions", testDeleteSessions},
		{"CompleteSignIn", testCompleteSignIn},
		{"CompleteSignInConcurrent", testCompleteSignInConcurrent},
		{"Audit", testAudit},
		{"AuditFilters", testAuditFilters},
		{"Purge", testPurge},
		{"PurgeRetention", testPurgeRetention},
		{"Compact", testCompact},
		{"RulesVersioned", testRulesVersioned},
		{"RulesConcurrentSaves", testRulesConcurrentSaves},
		{"RulesOrder", testRulesOrder},
		{"Accounts", testAccounts},
		{"APITokens", testAPITokens},
		{"SignIns", testSignIns},
		{"Metadata", testMetadata},
		{"AppAuthRequests", testAppAuthRequests},
		{"AppCodeReplay", testAppCodeReplay},
		{"AppRefreshRotation", testAppRefreshRotation},
		{"AppRevoke", testAppRevoke},
		{"AppPurge", testAppPurge},
		{"DeviceAuthorizations", testDeviceAuthorizations},
		{"DevicePolling", testDevicePolling},
		{"DeviceConsumeOnce", testDeviceConsumeOnce},
		{"DeviceUserCodeFailures", testDeviceUserCodeFailures},
		{"DevicePurge", testDevicePurge},
		{"ShortLinks", testShortLinks},
		{"Favourites", testFavourites},
		{"FavouritesLimit", testFavouritesLimit},
		{"AppConsents", testAppConsents},
		{"AppClients", testAppClients},
		{"AppClientVersions", testAppClientVersions},
		{"AppClientDelete", testAppClientDelete},
		{"AppClientConcurrentCreate", testAppClientConcurrentCreate},
		{"RevokePersonAppTokens", testRevokePersonAppTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock()
			s := newStore(t, clock)
			t.Cleanup(func() { s.Close() })
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			tt.fn(t, s, clock)
		})
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := broker.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func testRememberOnce(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	exp := clock.Now().Add(5 * time.Minute)
	if err := s.Remember(ctx, "saml:okta", "_id1", exp); err != nil {
		t.Fatalf("first Remember: %v", err)
	}
	wantCode(t, s.Remember(ctx, "saml:okta", "_id1", exp), broker.EREPLAY)
	if err := s.Remember(ctx, "saml:other", "_id1", exp); err != nil {
		t.Fatalf("same key, other namespace: %v", err)
	}
	clock.Advance(4 * time.Minute)
	wantCode(t, s.Remember(ctx, "saml:okta", "_id1", exp), broker.EREPLAY)
	clock.Advance(time.Minute) // now == expiry: the entry has expired
	if err := s.Remember(ctx, "saml:okta", "_id1", clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("expired entry not replaced: %v", err)
	}
	wantCode(t, s.Remember(ctx, "saml:okta", "_id1", clock.Now().Add(time.Minute)), broker.EREPLAY)
}

func testRememberConcurrent(t *testing.T, s store.Store, clock *Clock) {
	var wins, replays atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Remember(context.Background(), "saml:okta", "_race", clock.Now().Add(time.Minute))
			switch broker.ErrorCode(err) {
			case "":
				wins.Add(1)
			case broker.EREPLAY:
				replays.Add(1)
			default:
				t.Errorf("Remember: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || replays.Load() != 19 {
		t.Fatalf("%d wins and %d replays, want exactly 1 and 19", wins.Load(), replays.Load())
	}
}

func testSessions(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	in := &store.Session{ID: "sid-1", Subject: "alice", Provider: "okta", Data: []byte(`{"a":1}`), ExpiresAt: clock.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, in); err != nil {
		t.Fatal(err)
	}
	if !in.CreatedAt.Equal(clock.Now()) {
		t.Errorf("CreatedAt = %v, want the clock's now", in.CreatedAt)
	}
	wantCode(t, s.CreateSession(ctx, &store.Session{ID: "sid-1", ExpiresAt: clock.Now().Add(time.Hour)}), broker.ECONFLICT)
	got, err := s.GetSession(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "alice" || got.Provider != "okta" || string(got.Data) != `{"a":1}` || !got.ExpiresAt.Equal(in.ExpiresAt) || !got.CreatedAt.Equal(in.CreatedAt) {
		t.Errorf("GetSession = %+v", got)
	}
	if err := s.UpdateSession(ctx, "sid-1", []byte("v2"), clock.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetSession(ctx, "sid-1")
	if string(got.Data) != "v2" || !got.ExpiresAt.Equal(clock.Now().Add(2*time.Hour)) {
		t.Errorf("after update: %+v", got)
	}
	wantCode(t, s.UpdateSession(ctx, "nope", []byte("x"), clock.Now().Add(time.Hour)), broker.ENOTFOUND)
	_, err = s.GetSession(ctx, "nope")
	wantCode(t, err, broker.ENOTFOUND)
	if err := s.DeleteSession(ctx, "sid-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "sid-1"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	_, err = s.GetSession(ctx, "sid-1")
	wantCode(t, err, broker.ENOTFOUND)
}

func testSessionExpiry(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateSession(ctx, &store.Session{ID: "short", Data: []byte("x"), ExpiresAt: clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	_, err := s.GetSession(ctx, "short")
	wantCode(t, err, broker.ENOTFOUND)
	wantCode(t, s.UpdateSession(ctx, "short", []byte("y"), clock.Now().Add(time.Hour)), broker.ENOTFOUND)
}

func testSessionData(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	big := bytes.Repeat([]byte{0, 1, 2, 0xff}, 50<<10)
	for name, data := range map[string][]byte{"empty": {}, "binary": {0, 0xff, '\n', 0}, "200KB": big} {
		id := "data-" + name
		if err := s.CreateSession(ctx, &store.Session{ID: id, Data: data, ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSession(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, data) {
			t.Errorf("%s: data did not round-trip (%d bytes in, %d out)", name, len(data), len(got.Data))
		}
	}
}

func testAudit(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	e := &store.AuditEvent{RequestID: "r1", Event: "signin", Result: store.ResultFailure, Reason: "signature_invalid",
		Message: "could not be verified", Provider: "okta", Subject: "alice", RoleARN: "arn:aws:iam::111122223333:role/A",
		SessionName: "alice", RemoteAddr: "192.0.2.1", UserAgent: "test", Details: map[string]string{"k": "v", "x": "y"}}
	if err := s.AppendAudit(ctx, e); err != nil {
		t.Fatal(err)
	}
	if e.ID == 0 || !e.Time.Equal(clock.Now()) {
		t.Errorf("AppendAudit did not set ID/Time: %+v", e)
	}
	got, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListAudit: %v %v", got, err)
	}
	g := got[0]
	if g.ID != e.ID || !g.Time.Equal(e.Time) || g.Reason != e.Reason || g.Subject != "alice" || g.RemoteAddr != "192.0.2.1" ||
		g.RoleARN != e.RoleARN || g.SessionName != "alice" || g.UserAgent != "test" || g.Details["k"] != "v" || len(g.Details) != 2 {
		t.Errorf("round trip: %+v", g)
	}
	// Brief reads the same event with only its ID, Time, Event, Result,
	// Provider, Subject, RoleARN and Details.
	brief, err := s.ListAudit(ctx, store.AuditFilter{Subject: "alice", Brief: true})
	if err != nil || len(brief) != 1 {
		t.Fatalf("ListAudit Brief: %v %v", brief, err)
	}
	want := store.AuditEvent{ID: e.ID, Time: g.Time, Event: e.Event, Result: e.Result, Provider: e.Provider, Subject: e.Subject,
		RoleARN: e.RoleARN, Details: e.Details}
	if b := brief[0]; b.ID != want.ID || !b.Time.Equal(want.Time) || b.Event != want.Event || b.Result != want.Result || b.Provider != want.Provider ||
		b.Subject != want.Subject || b.RoleARN != want.RoleARN || !maps.Equal(b.Details, want.Details) ||
		b.RequestID != "" || b.Reason != "" || b.Message != "" || b.SessionName != "" || b.RemoteAddr != "" || b.UserAgent != "" {
		t.Errorf("Brief: %+v, want %+v", b, want)
	}
}

func testAuditFilters(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	start := clock.Now()
	for i := 0; i < 30; i++ {
		e := &store.AuditEvent{Event: "signin", Result: store.ResultSuccess, Subject: fmt.Sprintf("user%d", i%3), Provider: "okta"}
		if i%5 == 0 {
			e.Event, e.Result, e.RoleARN = "role_assumed", store.ResultFailure, "arn:aws:iam::111122223333:role/R"
		}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	count := func(f store.AuditFilter) []store.AuditEvent {
		t.Helper()
		evs, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	for name, tc := range map[string]struct {
		f    store.AuditFilter
		want int
	}{
		"subject":              {store.AuditFilter{Subject: "user1"}, 10},
		"event":                {store.AuditFilter{Event: "role_assumed"}, 6},
		"result":               {store.AuditFilter{Result: store.ResultFailure}, 6},
		"role":                 {store.AuditFilter{RoleARN: "arn:aws:iam::111122223333:role/R"}, 6},
		"provider":             {store.AuditFilter{Provider: "nope"}, 0},
		"since":                {store.AuditFilter{Since: start.Add(20 * time.Minute)}, 10},
		"until":                {store.AuditFilter{Until: start.Add(5 * time.Minute)}, 5},
		"combined":             {store.AuditFilter{Subject: "user0", Event: "role_assumed"}, 2},
		"limit":                {store.AuditFilter{Limit: 7}, 7},
		"subject contains":     {store.AuditFilter{SubjectContains: "USER"}, 30},
		"subject contains one": {store.AuditFilter{SubjectContains: "er2"}, 10},
		"role contains":        {store.AuditFilter{RoleContains: "role/r"}, 6},
		"like is literal":      {store.AuditFilter{SubjectContains: "user_"}, 0},
		"like percent":         {store.AuditFilter{SubjectContains: "%"}, 0},
	} {
		if got := len(count(tc.f)); got != tc.want {
			t.Errorf("%s: %d events, want %d", name, got, tc.want)
		}
	}
	all := count(store.AuditFilter{Limit: 1000})
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("not newest first at %d", i)
		}
	}
	page1 := count(store.AuditFilter{Limit: 10})
	page2 := count(store.AuditFilter{Limit: 10, Before: page1[9].ID})
	if len(page2) != 10 || page2[0].ID != page1[9].ID-1 {
		t.Errorf("keyset pagination: page2 starts at %d after %d", page2[0].ID, page1[9].ID)
	}
}

func testPurge(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	_ = s.Remember(ctx, "n", "old", clock.Now().Add(time.Minute))
	_ = s.Remember(ctx, "n", "new", clock.Now().Add(time.Hour))
	_ = s.CreateSession(ctx, &store.Session{ID: "old", ExpiresAt: clock.Now().Add(time.Minute)})
	_ = s.CreateSession(ctx, &store.Session{ID: "new", ExpiresAt: clock.Now().Add(time.Hour)})
	clock.Advance(2 * time.Minute)
	if err := s.AppendAudit(ctx, &store.AuditEvent{Event: "signin", Result: store.ResultFailure, Time: clock.Now().Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge(ctx, store.Retention{})
	if err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2", n, err)
	}
	wantCode(t, s.Remember(ctx, "n", "new", clock.Now().Add(time.Hour)), broker.EREPLAY)
	if _, err := s.GetSession(ctx, "new"); err != nil {
		t.Fatalf("live session purged: %v", err)
	}
	if evs, _ := s.ListAudit(ctx, store.AuditFilter{}); len(evs) != 1 {
		t.Fatalf("a zero retention purged the audit log: %d events left", len(evs))
	}
}

// Purge deletes audit events and sign-ins at least as old as the
// retention, oldest first, and keeps the younger ones.
func testPurgeRetention(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	const day = 24 * time.Hour
	r := store.Retention{Audit: 400 * day, SignIns: 90 * day}
	// The purge runs 90 days from now, when these events are 401, 400
	// (exactly the retention), 399 and 91 days old.
	purgeAt := clock.Now().Add(90 * day)
	for _, age := range []int{401, 400, 399, 91} {
		e := &store.AuditEvent{Event: "signin", Result: store.ResultFailure, Reason: fmt.Sprintf("age-%d", age),
			Time: purgeAt.Add(-time.Duration(age) * day)}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"old", "new"} {
		if err := s.RecordSignIn(ctx, &store.SignIn{Provider: "okta", Subject: who, Identity: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(day)
	}
	clock.Advance(88 * day) // at purgeAt: "old" is 90 days old, "new" 89
	n, err := s.Purge(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range evs {
		left = append(left, e.Reason)
	}
	if fmt.Sprint(left) != "[age-91 age-399]" {
		t.Errorf("audit events left %v, want [age-91 age-399]", left)
	}
	ins, _ := s.RecentSignIns(ctx, 10)
	if len(ins) != 1 || ins[0].Subject != "new" {
		t.Errorf("sign-ins left %+v, want new only", ins)
	}
	if n != 3 {
		t.Errorf("Purge deleted %d rows, want 2 audit events + 1 sign-in", n)
	}
	if n, err := s.Purge(ctx, r); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v; want nothing left to delete", n, err)
	}
}

// Compact changes no data, and can run at any time, again and again.
func testCompact(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		e := &store.AuditEvent{Event: "signin", Result: store.ResultFailure, Reason: "signature_invalid",
			UserAgent: fmt.Sprintf("agent-%03d %s", i, bytes.Repeat([]byte("x"), 400))}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		if i == 99 {
			clock.Advance(2 * time.Hour)
		}
	}
	if err := s.CreateSession(ctx, &store.Session{ID: "live", Data: []byte("data"), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if n, err := s.Purge(ctx, store.Retention{Audit: time.Hour}); err != nil || n != 100 {
		t.Fatalf("Purge = %d, %v; want the 100 older events", n, err)
	}
	for range 2 {
		if err := s.Compact(ctx); err != nil {
			t.Fatalf("Compact after a purge: %v", err)
		}
	}
	evs, err := s.ListAudit(ctx, store.AuditFilter{Limit: 1000})
	if err != nil || len(evs) != 100 || evs[99].UserAgent[:9] != "agent-100" {
		t.Fatalf("after Compact: %d events (%v)", len(evs), err)
	}
	if got, err := s.GetSession(ctx, "live"); err != nil || string(got.Data) != "data" {
		t.Fatalf("session after Compact: %+v, %v", got, err)
	}
}
