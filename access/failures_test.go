package access

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// failing returns Sessions on a memory audit log with the clock at *now,
// keeping at most keys windows open.
func failing(t *testing.T, now *time.Time, keys int) (*Sessions, *memAudit) {
	t.Helper()
	acc, _, _, au := newService(t, &fakeSTS{})
	s, err := NewSessions(SessionsConfig{Store: nopSessionStore{}, Access: acc, Replay: nopReplay{}, FailureKeys: keys,
		Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return s, au
}

type nopSessionStore struct{ SessionStore }
type nopReplay struct{ ReplayCache }

var errSig = broker.Wrap(errors.New("bad sig"), broker.EUNAUTHORIZED, "signature_invalid", "Sign-in failed.")
var errMalformed = broker.Errorf(broker.EINVALID, "response_malformed", "Sign-in failed.")

func (m *memAudit) take() []store.AuditEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.evs
	m.evs = nil
	return out
}

func TestFailedSignInsAggregatePerWindow(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, au := failing(t, &now, 0)
	fromA := func(id string) Meta { return Meta{RequestID: id, RemoteAddr: "192.0.2.7", UserAgent: "curl"} }

	s.Failed(ctx, "okta", errSig, fromA("r1"))
	if evs := au.take(); len(evs) != 1 || evs[0].RequestID != "r1" || evs[0].Reason != "signature_invalid" || evs[0].Details != nil {
		t.Fatalf("the first failure is audited as it is: %+v", evs)
	}
	for i := 2; i <= 5; i++ {
		now = now.Add(10 * time.Second)
		s.Failed(ctx, "okta", errSig, fromA("r"+strconv.Itoa(i)))
	}
	// Another reason, provider or address is a window of its own.
	s.Failed(ctx, "okta", errMalformed, fromA("m1"))
	s.Failed(ctx, "entra", errSig, fromA("e1"))
	s.Failed(ctx, "okta", errSig, Meta{RequestID: "b1", RemoteAddr: "198.51.100.1"})
	if evs := au.take(); len(evs) != 3 || evs[0].RequestID != "m1" || evs[1].RequestID != "e1" || evs[2].RequestID != "b1" {
		t.Fatalf("first failures of other keys: %+v", evs)
	}
	s.FlushFailures(ctx) // nothing has closed yet (40 s after the first)
	if evs := au.take(); len(evs) != 0 {
		t.Fatalf("flushed open windows: %+v", evs)
	}

	now = now.Add(20 * time.Second) // a minute after r1: its window has closed
	s.FlushFailures(ctx)
	evs := au.take()
	if len(evs) != 1 {
		t.Fatalf("after the window: %+v", evs)
	}
	e := evs[0]
	want := map[string]string{DetailCount: "4", DetailWindow: "1m", DetailSince: "2026-11-29T09:00:00Z"}
	if fmt.Sprint(e.Details) != fmt.Sprint(want) || e.RequestID != "r5" || e.Reason != "signature_invalid" || e.Provider != "okta" ||
		e.RemoteAddr != "192.0.2.7" || e.Event != "signin" || e.Result != store.ResultFailure || !e.Time.Equal(now.Add(-20*time.Second)) {
		t.Fatalf("aggregated event %+v", e)
	}

	// The next failure from A opens a new window: audited as it is.
	s.Failed(ctx, "okta", errSig, fromA("r6"))
	if evs := au.take(); len(evs) != 1 || evs[0].RequestID != "r6" || evs[0].Details != nil {
		t.Fatalf("first failure of a new window: %+v", evs)
	}
	// Windows that counted nothing close without an event.
	now = now.Add(time.Minute)
	s.FlushFailures(ctx)
	if evs := au.take(); len(evs) != 0 {
		t.Fatalf("windows without repeats wrote %+v", evs)
	}
}

// A window closes at the next failure after it, without a flush; the
// aggregated event is written before the new failure's.
func TestFailedSignInClosesTheWindowBeforeIt(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, au := failing(t, &now, 0)
	for i := range 3 {
		s.Failed(ctx, "okta", errSig, Meta{RequestID: "r" + strconv.Itoa(i), RemoteAddr: "192.0.2.7"})
	}
	au.take()
	now = now.Add(61 * time.Second)
	s.Failed(ctx, "okta", errSig, Meta{RequestID: "next", RemoteAddr: "192.0.2.7"})
	evs := au.take()
	if len(evs) != 2 || evs[0].Details[DetailCount] != "2" || evs[1].RequestID != "next" || evs[1].Details != nil {
		t.Fatalf("events %+v", evs)
	}
}

// With every window taken, failures of new keys are counted in one
// "other" window; a freed window takes new keys again.
func TestFailedSignInsOverflowIntoOther(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, au := failing(t, &now, 2)
	for i := range 10 {
		s.Failed(ctx, "okta", errSig, Meta{RequestID: "r" + strconv.Itoa(i), RemoteAddr: fmt.Sprintf("192.0.2.%d", i), UserAgent: "bot"})
	}
	if evs := au.take(); len(evs) != 2 {
		t.Fatalf("%d events for the first 10 addresses, want the 2 that got a window", len(evs))
	}
	now = now.Add(time.Minute)
	s.FlushFailures(ctx)
	evs := au.take()
	if len(evs) != 1 {
		t.Fatalf("after the window: %+v", evs)
	}
	if e := evs[0]; e.Reason != ReasonOtherFailures || e.Details[DetailCount] != "8" || e.RemoteAddr != "" || e.Provider != "" || e.UserAgent != "" || e.RequestID != "r9" {
		t.Fatalf("other event %+v", e)
	}
	s.Failed(ctx, "okta", errSig, Meta{RemoteAddr: "203.0.113.1"})
	if evs := au.take(); len(evs) != 1 || evs[0].RemoteAddr != "203.0.113.1" {
		t.Fatalf("a new address after the windows closed: %+v", evs)
	}
}

// FlushAllFailures writes the counts of windows still open (shutdown).
func TestFlushAllFailures(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, au := failing(t, &now, 1)
	for _, addr := range []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2"} {
		s.Failed(ctx, "okta", errSig, Meta{RemoteAddr: addr})
	}
	au.take()
	s.FlushAllFailures(ctx)
	evs := au.take()
	if len(evs) != 2 || evs[0].Details[DetailCount] != "2" || evs[1].Reason != ReasonOtherFailures || evs[1].Details[DetailCount] != "1" {
		t.Fatalf("flush all: %+v", evs)
	}
	s.FlushAllFailures(ctx)
	if evs := au.take(); len(evs) != 0 {
		t.Fatalf("second flush: %+v", evs)
	}
}

// Concurrent failures are all counted, once.
func TestFailedSignInsConcurrent(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := now
	acc, _, _, au := newService(t, &fakeSTS{})
	s, err := NewSessions(SessionsConfig{Store: nopSessionStore{}, Access: acc, Replay: nopReplay{}, FailureKeys: 4,
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Millisecond) // 800 failures span 0.8 s
			return clock
		}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				s.Failed(ctx, "okta", errSig, Meta{RemoteAddr: fmt.Sprintf("192.0.2.%d", (g+i)%6)})
			}
		}()
	}
	wg.Wait()
	s.FlushAllFailures(ctx)
	var total int64
	evs := au.take()
	for _, e := range evs {
		n := int64(1)
		if c, ok := e.Details[DetailCount]; ok {
			n, _ = strconv.ParseInt(c, 10, 64)
		}
		total += n
	}
	if total != 800 || len(evs) != 4+4+1 {
		t.Fatalf("%d failures in %d events; want 800 in 4 first + 4 aggregated + 1 other", total, len(evs))
	}
}

// refusal is a protocol package's refusal cause, as saml.RefusedError and
// oidc.RefusedError are.
type refusal struct {
	subject string
	details map[string]string
}

func (r refusal) Error() string                   { return "refused" }
func (r refusal) VerifiedSubject() string         { return r.subject }
func (r refusal) AuditDetails() map[string]string { return r.details }

func refused(reason, subject string, details map[string]string) error {
	return broker.Wrap(refusal{subject, details}, broker.EEXPIRED, reason, "Sign-in failed.")
}

// A refusal after the signature verified is audited with its subject and
// details; the window's aggregated event keeps them while every failure it
// counts agrees, and drops them when they differ.
func TestFailedSignInsKeepTheSubject(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, au := failing(t, &now, 0)
	meta := Meta{RemoteAddr: "192.0.2.7"}
	replay := refused("replay", "alice@example.com", nil)
	s.Failed(ctx, "okta", replay, meta)
	if evs := au.take(); len(evs) != 1 || evs[0].Subject != "alice@example.com" || evs[0].Reason != "replay" || evs[0].Details != nil {
		t.Fatalf("first replay: %+v", evs)
	}
	s.Failed(ctx, "okta", replay, meta)
	s.Failed(ctx, "okta", replay, meta)
	denied := refused("status_not_success", "", map[string]string{"status": "urn:oasis:names:tc:SAML:2.0:status:Responder"})
	s.Failed(ctx, "okta", denied, meta)
	if evs := au.take(); len(evs) != 1 || evs[0].Subject != "" || evs[0].Details["status"] == "" {
		t.Fatalf("IdP status: %+v", evs)
	}
	now = now.Add(time.Minute)
	s.FlushFailures(ctx)
	if evs := au.take(); len(evs) != 1 || evs[0].Reason != "replay" || evs[0].Subject != "alice@example.com" || evs[0].Details[DetailCount] != "2" {
		t.Fatalf("replays of one subject: %+v", evs)
	}

	// Different subjects (or none) in one window: the count names nobody.
	s.Failed(ctx, "okta", refused("assertion_expired", "alice@example.com", nil), meta)
	s.Failed(ctx, "okta", refused("assertion_expired", "bob@example.com", nil), meta)
	s.Failed(ctx, "okta", refused("assertion_expired", "alice@example.com", nil), meta)
	s.Failed(ctx, "okta", refused("status_not_success", "", map[string]string{"status": "a"}), meta)
	s.Failed(ctx, "okta", refused("status_not_success", "", map[string]string{"status": "a"}), meta)
	s.Failed(ctx, "okta", refused("status_not_success", "", map[string]string{"status": "b"}), meta)
	au.take()
	now = now.Add(time.Minute)
	s.FlushFailures(ctx)
	for _, e := range au.take() {
		if e.Subject != "" || e.Details["status"] != "" || e.Details[DetailCount] != "2" {
			t.Errorf("mixed window %+v", e)
		}
	}
}
