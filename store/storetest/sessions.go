package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// createSessions stores sessions a minute apart (so "newest first" is
// defined), each for an hour unless ExpiresAt is set.
func createSessions(t *testing.T, s store.Store, clock *Clock, sessions ...store.Session) {
	t.Helper()
	for i := range sessions {
		in := sessions[i]
		if in.ExpiresAt.IsZero() {
			in.ExpiresAt = clock.Now().Add(time.Hour)
		}
		if in.Data == nil {
			in.Data = []byte("secret-data-" + in.ID)
		}
		if err := s.CreateSession(context.Background(), &in); err != nil {
			t.Fatalf("CreateSession(%s): %v", in.ID, err)
		}
		clock.Advance(time.Minute)
	}
}

func sessionIDs(ss []store.Session) string {
	ids := make([]string, len(ss))
	for i, x := range ss {
		ids[i] = x.ID
	}
	return fmt.Sprint(ids)
}

// testSessionFields: where a session started, its upstream session and
// when it was last seen round-trip; TouchSession moves LastSeenAt of a
// live session only.
func testSessionFields(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	start := clock.Now()
	in := &store.Session{ID: "sid-f", Subject: "alice", Provider: "okta", Data: []byte("d"), ExpiresAt: start.Add(time.Hour),
		UpstreamSession: "_idx-1", RemoteAddr: "192.0.2.9", UserAgent: "Mozilla/5.0 test"}
	if err := s.CreateSession(ctx, in); err != nil {
		t.Fatal(err)
	}
	if !in.LastSeenAt.Equal(start) {
		t.Errorf("CreateSession set LastSeenAt %v, want CreatedAt %v", in.LastSeenAt, start)
	}
	got, err := s.GetSession(ctx, "sid-f")
	if err != nil {
		t.Fatal(err)
	}
	if got.UpstreamSession != "_idx-1" || got.RemoteAddr != "192.0.2.9" || got.UserAgent != "Mozilla/5.0 test" || !got.LastSeenAt.Equal(start) {
		t.Errorf("GetSession = %+v", got)
	}
	explicit := &store.Session{ID: "sid-g", Data: []byte("d"), ExpiresAt: start.Add(time.Hour), LastSeenAt: start.Add(-time.Minute)}
	if err := s.CreateSession(ctx, explicit); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSession(ctx, "sid-g"); !got.LastSeenAt.Equal(start.Add(-time.Minute)) {
		t.Errorf("explicit LastSeenAt not kept: %v", got.LastSeenAt)
	}

	clock.Advance(10 * time.Minute)
	if err := s.TouchSession(ctx, "sid-f", clock.Now()); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetSession(ctx, "sid-f")
	if !got.LastSeenAt.Equal(clock.Now()) || string(got.Data) != "d" || !got.ExpiresAt.Equal(start.Add(time.Hour)) {
		t.Errorf("after TouchSession: %+v (only LastSeenAt may change)", got)
	}
	wantCode(t, s.TouchSession(ctx, "nope", clock.Now()), broker.ENOTFOUND)
	clock.Advance(time.Hour)
	wantCode(t, s.TouchSession(ctx, "sid-f", clock.Now()), broker.ENOTFOUND)
}

// testListSessions: live sessions only, newest first, without data, and
// each filter field selects exactly its sessions.
func testListSessions(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	createSessions(t, s, clock,
		store.Session{ID: "a1", Provider: "okta", Subject: "alice", UpstreamSession: "idx-a"},
		store.Session{ID: "b1", Provider: "okta", Subject: "bob", UpstreamSession: "idx-b"},
		store.Session{ID: "a-kc", Provider: "kc", Subject: "alice", UpstreamSession: "idx-a"},
		store.Session{ID: "a-short", Provider: "okta", Subject: "alice", ExpiresAt: clock.Now().Add(2 * time.Minute)},
		store.Session{ID: "a2", Provider: "okta", Subject: "alice", UpstreamSession: "idx-a", RemoteAddr: "192.0.2.1", UserAgent: "ua"},
	)
	// a-short was created at +3m for 2 minutes; the clock is at +5m.
	list := func(f store.SessionFilter) []store.Session {
		t.Helper()
		got, err := s.ListSessions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for name, tc := range map[string]struct {
		f    store.SessionFilter
		want string
	}{
		"all":                      {store.SessionFilter{}, "[a2 a-kc b1 a1]"},
		"provider":                 {store.SessionFilter{Provider: "okta"}, "[a2 b1 a1]"},
		"person":                   {store.SessionFilter{Provider: "okta", Subject: "alice"}, "[a2 a1]"},
		"subject in any provider":  {store.SessionFilter{Subject: "alice"}, "[a2 a-kc a1]"},
		"other provider":           {store.SessionFilter{Provider: "kc", Subject: "alice"}, "[a-kc]"},
		"upstream":                 {store.SessionFilter{Provider: "okta", UpstreamSession: "idx-a"}, "[a2 a1]"},
		"upstream other provider":  {store.SessionFilter{Provider: "kc", UpstreamSession: "idx-b"}, "[]"},
		"id":                       {store.SessionFilter{ID: "b1"}, "[b1]"},
		"except":                   {store.SessionFilter{Provider: "okta", Subject: "alice", Except: "a2"}, "[a1]"},
		"expired session not seen": {store.SessionFilter{ID: "a-short"}, "[]"},
		"nobody":                   {store.SessionFilter{Provider: "okta", Subject: "carol"}, "[]"},
		"limit":                    {store.SessionFilter{Limit: 2}, "[a2 a-kc]"},
	} {
		if got := sessionIDs(list(tc.f)); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
	got := list(store.SessionFilter{ID: "a2"})
	if len(got) != 1 {
		t.Fatalf("list a2: %+v", got)
	}
	g := got[0]
	if g.Data != nil {
		t.Errorf("ListSessions returned Data (%d bytes): a list must not decrypt", len(g.Data))
	}
	if g.Provider != "okta" || g.Subject != "alice" || g.UpstreamSession != "idx-a" || g.RemoteAddr != "192.0.2.1" || g.UserAgent != "ua" ||
		!g.CreatedAt.Equal(g.LastSeenAt) || !g.ExpiresAt.Equal(g.CreatedAt.Add(time.Hour)) {
		t.Errorf("listed session %+v", g)
	}
}

// testListSessionsLimit: the default limit is 100 and no list is longer than 1000.
func testListSessionsLimit(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	for i := 0; i < 1005; i++ {
		if err := s.CreateSession(ctx, &store.Session{ID: fmt.Sprintf("s%04d", i), Provider: "okta", Subject: "alice",
			Data: []byte("x"), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	for limit, want := range map[int]int{0: 100, -1: 100, 10: 10, 5000: 1000} {
		got, err := s.ListSessions(ctx, store.SessionFilter{Provider: "okta", Subject: "alice", Limit: limit})
		if err != nil || len(got) != want {
			t.Errorf("Limit %d: %d sessions, %v; want %d", limit, len(got), err, want)
		}
	}
	// Deleting is not limited: "sign out everywhere" means everywhere.
	gone, err := s.DeleteSessions(ctx, store.SessionFilter{Provider: "okta", Subject: "alice"})
	if err != nil || len(gone) != 1005 {
		t.Fatalf("DeleteSessions: %d deleted, %v; want all 1005", len(gone), err)
	}
}

// testDeleteSessions: deletes exactly the matching live sessions, says
// which, and refuses a filter that names nobody.
func testDeleteSessions(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	createSessions(t, s, clock,
		store.Session{ID: "a1", Provider: "okta", Subject: "alice", UpstreamSession: "idx-1"},
		store.Session{ID: "b1", Provider: "okta", Subject: "bob", UpstreamSession: "idx-1"},
		store.Session{ID: "a-kc", Provider: "kc", Subject: "alice"},
		store.Session{ID: "a2", Provider: "okta", Subject: "alice", UpstreamSession: "idx-2", RemoteAddr: "192.0.2.1"},
		store.Session{ID: "a3", Provider: "okta", Subject: "alice"},
		store.Session{ID: "b2", Provider: "okta", Subject: "bob", UpstreamSession: "idx-3"},
	)
	for name, f := range map[string]store.SessionFilter{
		"empty":         {},
		"upstream only": {UpstreamSession: "idx-1"},
		"id only":       {ID: "a1"},
		"except only":   {Except: "a1"},
	} {
		gone, err := s.DeleteSessions(ctx, f)
		wantCode(t, err, broker.EINVALID)
		if len(gone) != 0 {
			t.Errorf("%s: refused filter deleted %v", name, sessionIDs(gone))
		}
	}
	if all, _ := s.ListSessions(ctx, store.SessionFilter{}); len(all) != 6 {
		t.Fatalf("refused deletes removed sessions: %s left", sessionIDs(all))
	}
	del := func(f store.SessionFilter) []store.Session {
		t.Helper()
		gone, err := s.DeleteSessions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return gone
	}
	remaining := func() string {
		t.Helper()
		all, err := s.ListSessions(ctx, store.SessionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(all))
		for i, x := range all {
			ids[i] = x.ID
		}
		sort.Strings(ids)
		return fmt.Sprint(ids)
	}

	// One upstream session of one provider: only the session in it.
	if got := sessionIDs(del(store.SessionFilter{Provider: "okta", UpstreamSession: "idx-2"})); got != "[a2]" {
		t.Errorf("delete by upstream session: %s, want [a2]", got)
	}
	// One session of a person, by id.
	if got := sessionIDs(del(store.SessionFilter{Provider: "okta", Subject: "bob", ID: "a1"})); got != "[]" {
		t.Errorf("id of another person's session deleted: %s", got)
	}
	// A person's sessions but one: newest first, without data.
	gone := del(store.SessionFilter{Provider: "okta", Subject: "alice", Except: "a3"})
	if sessionIDs(gone) != "[a1]" || gone[0].Data != nil || gone[0].UpstreamSession != "idx-1" || gone[0].Subject != "alice" {
		t.Errorf("delete alice's except a3: %+v", gone)
	}
	if got := remaining(); got != "[a-kc a3 b1 b2]" {
		t.Errorf("left %s, want [a-kc a3 b1 b2]: bob's and alice's at kc untouched", got)
	}
	// A person's sessions: bob's both, newest first; alice's stay.
	if got := sessionIDs(del(store.SessionFilter{Provider: "okta", Subject: "bob"})); got != "[b2 b1]" {
		t.Errorf("delete bob's: %s, want [b2 b1]", got)
	}
	if got := remaining(); got != "[a-kc a3]" {
		t.Errorf("left %s, want [a-kc a3]", got)
	}
	if got := sessionIDs(del(store.SessionFilter{Provider: "okta", Subject: "bob"})); got != "[]" {
		t.Errorf("second delete: %s", got)
	}

	// An expired session is not deleted (nor returned): Purge takes it.
	createSessions(t, s, clock, store.Session{ID: "old", Provider: "okta", Subject: "carol", ExpiresAt: clock.Now().Add(time.Minute)})
	clock.Advance(time.Minute)
	if got := sessionIDs(del(store.SessionFilter{Provider: "okta", Subject: "carol"})); got != "[]" {
		t.Errorf("expired session returned as deleted: %s", got)
	}
	if n, err := s.Purge(ctx, store.Retention{}); err != nil || n != 1 {
		t.Errorf("Purge = %d, %v; want the expired session", n, err)
	}
}
