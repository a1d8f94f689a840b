package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// signInWrite is a complete sign-in of alice with session sid, burning key.
func signInWrite(clock *Clock, key, sid, replaces string) *store.SignInWrite {
	now := clock.Now()
	return &store.SignInWrite{
		Replay:   store.ReplayEntry{Namespace: "saml:okta", Key: key, Expires: now.Add(5 * time.Minute)},
		Replaces: replaces,
		Session: &store.Session{ID: sid, Subject: "alice", Provider: "okta", Data: []byte("data-" + sid),
			ExpiresAt: now.Add(time.Hour), UpstreamSession: "_idx", RemoteAddr: "192.0.2.1", UserAgent: "ua"},
		SignIn: &store.SignIn{Provider: "okta", Subject: "alice", Identity: []byte(`{"n":"` + sid + `"}`)},
		Audit:  &store.AuditEvent{RequestID: "rq-" + sid, Event: "signin", Result: store.ResultSuccess, Provider: "okta", Subject: "alice"},
	}
}

// auditCount is how many "signin" events the store holds.
func auditCount(t *testing.T, s store.Store) int {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), store.AuditFilter{Event: "signin", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// testCompleteSignIn: one call writes the replay entry, ends the previous
// session, stores the session, the sign-in and the audit event; a replay
// writes nothing at all, nor does a session ID conflict (whose replay
// entry stays unburned); an incomplete write is refused.
func testCompleteSignIn(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	createSessions(t, s, clock, store.Session{ID: "old", Subject: "alice", Provider: "okta"})
	w := signInWrite(clock, "_a1", "s1", "old")
	if err := s.CompleteSignIn(ctx, w); err != nil {
		t.Fatalf("CompleteSignIn: %v", err)
	}
	if w.Audit.ID == 0 || w.Audit.Time.IsZero() {
		t.Errorf("audit event not given its ID and time: %+v", w.Audit)
	}
	got, err := s.GetSession(ctx, "s1")
	if err != nil || string(got.Data) != "data-s1" || got.UpstreamSession != "_idx" || got.RemoteAddr != "192.0.2.1" || !got.LastSeenAt.Equal(clock.Now()) {
		t.Fatalf("session after CompleteSignIn = %+v, %v", got, err)
	}
	wantCode(t, func() error { _, err := s.GetSession(ctx, "old"); return err }(), broker.ENOTFOUND)
	if in, err := s.SignIn(ctx, "okta", "alice"); err != nil || string(in.Identity) != `{"n":"s1"}` {
		t.Fatalf("sign-in record = %+v, %v", in, err)
	}
	if evs, _ := s.ListAudit(ctx, store.AuditFilter{Event: "signin"}); len(evs) != 1 || evs[0].RequestID != "rq-s1" || evs[0].ID != w.Audit.ID {
		t.Fatalf("audit = %+v", evs)
	}
	wantCode(t, s.Remember(ctx, "saml:okta", "_a1", clock.Now().Add(time.Minute)), broker.EREPLAY)

	// The same assertion again: EREPLAY, and nothing of it is written.
	clock.Advance(time.Minute)
	err = s.CompleteSignIn(ctx, signInWrite(clock, "_a1", "s2", "s1"))
	wantCode(t, err, broker.EREPLAY)
	if broker.ErrorReason(err) != "replay" {
		t.Errorf("replay reason %q", broker.ErrorReason(err))
	}
	wantCode(t, func() error { _, err := s.GetSession(ctx, "s2"); return err }(), broker.ENOTFOUND)
	if _, err := s.GetSession(ctx, "s1"); err != nil {
		t.Errorf("a replayed sign-in ended the session it would replace: %v", err)
	}
	if in, _ := s.SignIn(ctx, "okta", "alice"); in == nil || string(in.Identity) != `{"n":"s1"}` {
		t.Errorf("a replayed sign-in updated the sign-in record: %+v", in)
	}
	if n := auditCount(t, s); n != 1 {
		t.Errorf("%d signin audit events after a replay, want 1", n)
	}

	// A session ID that exists: ECONFLICT, the replay entry not burned.
	err = s.CompleteSignIn(ctx, signInWrite(clock, "_a2", "s1", ""))
	wantCode(t, err, broker.ECONFLICT)
	if err := s.CompleteSignIn(ctx, signInWrite(clock, "_a2", "s3", "")); err != nil {
		t.Fatalf("the replay entry of a conflicted write was kept: %v", err)
	}
	if n := auditCount(t, s); n != 2 {
		t.Errorf("%d signin audit events, want 2", n)
	}

	// No replay entry and no sign-in record: the rest is written.
	w = signInWrite(clock, "", "s4", "")
	w.Replay, w.SignIn = store.ReplayEntry{}, nil
	if err := s.CompleteSignIn(ctx, w); err != nil {
		t.Fatal(err)
	}
	// An expired replay entry is replaced, as by Remember.
	clock.Advance(10 * time.Minute)
	if err := s.CompleteSignIn(ctx, signInWrite(clock, "_a1", "s5", "")); err != nil {
		t.Fatalf("expired replay entry: %v", err)
	}

	for name, w := range map[string]*store.SignInWrite{
		"no session": {Audit: &store.AuditEvent{Event: "signin"}},
		"no audit":   {Session: &store.Session{ID: "s9", ExpiresAt: clock.Now().Add(time.Hour)}},
	} {
		if err := s.CompleteSignIn(ctx, w); broker.ErrorCode(err) != broker.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if err := s.CheckWrite(ctx); err != nil {
		t.Fatalf("CheckWrite: %v", err)
	}
	if err := s.CheckWrite(ctx); err != nil {
		t.Fatalf("CheckWrite again: %v", err)
	}
}

// testCompleteSignInConcurrent: the same assertion posted many times at
// once signs in exactly once: one session, one audit event.
func testCompleteSignInConcurrent(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CompleteSignIn(ctx, signInWrite(clock, "_same", fmt.Sprintf("c%d", i), ""))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch broker.ErrorCode(err) {
		case "":
			won++
		case broker.EREPLAY:
		default:
			t.Errorf("concurrent CompleteSignIn: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent sign-ins with one assertion succeeded, want 1", won, n)
	}
	if got := auditCount(t, s); got != 1 {
		t.Errorf("%d audit events, want 1", got)
	}
	if live, _ := s.ListSessions(ctx, store.SessionFilter{Subject: "alice"}); len(live) != 1 {
		t.Errorf("%d sessions, want 1", len(live))
	}
}
