package access

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

var t0 = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// touchCounter is the SQLite store, counting TouchSession writes.
type touchCounter struct {
	*sqlstore.DB
	n atomic.Int32
}

func (c *touchCounter) TouchSession(ctx context.Context, id string, at time.Time) error {
	c.n.Add(1)
	return c.DB.TouchSession(ctx, id, at)
}

func start(t *testing.T, s *Sessions, sess *Session, meta Meta) string {
	t.Helper()
	sid, _, err := s.Start(context.Background(), sess, "", meta)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

func wantLoads(t *testing.T, s *Sessions, sid string, want bool) {
	t.Helper()
	_, err := s.Load(context.Background(), sid)
	if want && err != nil {
		t.Fatalf("session does not load: %v", err)
	}
	if !want && broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Fatalf("ended session: Load err %v, want ENOTFOUND", err)
	}
}

func events(au *memAudit, event string) []store.AuditEvent {
	au.mu.Lock()
	defer au.mu.Unlock()
	var out []store.AuditEvent
	for _, e := range au.evs {
		if e.Event == event {
			out = append(out, e)
		}
	}
	return out
}

func samlIdentity(subject, sessionIndex string, notOnOrAfter time.Time) broker.Identity {
	id := *identity()
	id.Subject, id.SessionIndex, id.SessionNotOnOrAfter = subject, sessionIndex, notOnOrAfter
	return id
}

// The IdP's SessionNotOnOrAfter ends the session before its lifetime.
func TestSessionCappedBySessionNotOnOrAfter(t *testing.T) {
	ctx := context.Background()
	now := t0
	s, db, au := newSessionsWith(t, &now, func(c *SessionsConfig) { c.Lifetime = 8 * time.Hour })

	sid := start(t, s, NewSAMLSession(samlIdentity("alice", "_idx", t0.Add(45*time.Minute)), nil), Meta{RemoteAddr: "192.0.2.7", UserAgent: "ua"})
	got, err := db.ListSessions(ctx, store.SessionFilter{Provider: "okta", Subject: "alice"})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListSessions: %+v %v", got, err)
	}
	if !got[0].ExpiresAt.Equal(t0.Add(45*time.Minute)) || got[0].UpstreamSession != "_idx" || got[0].RemoteAddr != "192.0.2.7" ||
		got[0].UserAgent != "ua" || !got[0].LastSeenAt.Equal(t0) {
		t.Errorf("stored session %+v: want it capped at +45m, with its upstream session and origin", got[0])
	}
	now = t0.Add(44 * time.Minute)
	wantLoads(t, s, sid, true)
	now = t0.Add(45 * time.Minute)
	wantLoads(t, s, sid, false)

	t.Run("cap later than the lifetime", func(t *testing.T) {
		now = t0
		sid := start(t, s, NewSAMLSession(samlIdentity("bob", "", t0.Add(24*time.Hour)), nil), Meta{})
		got, _ := db.ListSessions(ctx, store.SessionFilter{Provider: "okta", Subject: "bob"})
		if len(got) != 1 || !got[0].ExpiresAt.Equal(t0.Add(8*time.Hour)) {
			t.Errorf("expires %+v, want the 8h lifetime", got)
		}
		_ = s.End(ctx, sid, Meta{})
	})

	t.Run("cap already past: refused, previous session kept", func(t *testing.T) {
		now = t0.Add(time.Hour)
		prev := start(t, s, NewSAMLSession(samlIdentity("carol", "", time.Time{}), nil), Meta{})
		before := len(events(au, "signin"))
		_, _, err := s.Start(ctx, NewSAMLSession(samlIdentity("carol", "", now), nil), prev, Meta{RequestID: "r9"})
		if broker.ErrorCode(err) != broker.EEXPIRED || broker.ErrorReason(err) != ReasonSessionNotOnOrAfter || broker.ErrorMessage(err) == "" {
			t.Fatalf("Start err %v, want EEXPIRED %s", err, ReasonSessionNotOnOrAfter)
		}
		wantLoads(t, s, prev, true)
		evs := events(au, "signin")
		if len(evs) != before+1 {
			t.Fatalf("%d signin events, want one more (the refusal)", len(evs))
		}
		if e := evs[len(evs)-1]; e.Result != store.ResultFailure || e.Reason != ReasonSessionNotOnOrAfter || e.Subject != "carol" || e.RequestID != "r9" {
			t.Errorf("refusal audit %+v", e)
		}
	})

	t.Run("CapAt after the start ends it at Save", func(t *testing.T) {
		now = t0
		sess := NewOIDCSession(broker.Identity{Provider: "kc", Subject: "dave"}, "tok", t0.Add(time.Hour), "rt")
		sid := start(t, s, sess, Meta{})
		sess.CapAt(t0.Add(20 * time.Minute)) // the OP's refresh_expires_in
		sess.CapAt(t0.Add(30 * time.Minute)) // a later cap does not extend it
		if err := s.Save(ctx, sid, sess); err != nil {
			t.Fatal(err)
		}
		now = t0.Add(19 * time.Minute)
		wantLoads(t, s, sid, true)
		now = t0.Add(20 * time.Minute)
		wantLoads(t, s, sid, false)
	})
}

// A session unused for Idle ends at its next request, audited; use keeps
// it alive past Idle.
func TestSessionIdleTimeout(t *testing.T) {
	ctx := context.Background()
	now := t0
	s, db, au := newSessionsWith(t, &now, func(c *SessionsConfig) { c.Lifetime, c.Idle = 8*time.Hour, time.Hour })
	sid := start(t, s, NewSAMLSession(*identity(), nil), Meta{})
	other := start(t, s, NewSAMLSession(samlIdentity("bob", "", time.Time{}), nil), Meta{})

	now = t0.Add(59 * time.Minute)
	wantLoads(t, s, sid, true)
	now = t0.Add(118 * time.Minute) // 59 minutes after the last use
	wantLoads(t, s, sid, true)
	if infos, err := s.List(ctx, "okta", "bob"); err != nil || len(infos) != 0 {
		t.Errorf("List shows an idle session: %+v, %v", infos, err)
	}

	now = t0.Add(178 * time.Minute) // an hour after the last use
	au.evs = nil
	_, err := s.Load(ctx, sid)
	if broker.ErrorCode(err) != broker.ENOTFOUND || broker.ErrorReason(err) != ReasonSessionIdle {
		t.Fatalf("idle Load err %v, want ENOTFOUND %s", err, ReasonSessionIdle)
	}
	if msg := broker.ErrorMessage(err); !strings.Contains(msg, "1 hour without activity") {
		t.Errorf("message %q does not say why", msg)
	}
	if _, err := db.GetSession(ctx, sid); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Errorf("idle session still stored: %v", err)
	}
	logouts := events(au, "logout")
	if len(logouts) != 1 {
		t.Fatalf("%d logout events, want 1: %+v", len(logouts), au.evs)
	}
	e := logouts[0]
	if e.Result != store.ResultSuccess || e.Reason != "idle" || e.Subject != "alice" || e.Provider != "okta" ||
		e.Details["idle"] != "1h0m0s" || e.Details["last_seen"] != t0.Add(118*time.Minute).Format(time.RFC3339) || e.Details["handle"] != Handle(sid) {
		t.Errorf("idle logout audit %+v", e)
	}
	// The next request finds no session, and is not audited again.
	_, err = s.Load(ctx, sid)
	if broker.ErrorCode(err) != broker.ENOTFOUND || broker.ErrorReason(err) == ReasonSessionIdle || len(events(au, "logout")) != 1 {
		t.Errorf("second Load: %v, %d logout events", err, len(events(au, "logout")))
	}
	// Bob's session, unused since the start, is idle as well.
	_, err = s.Load(ctx, other)
	if broker.ErrorReason(err) != ReasonSessionIdle {
		t.Errorf("bob's idle session: %v", err)
	}
}

// Load records use at most once a minute.
func TestSessionTouchThrottled(t *testing.T) {
	now := t0
	var counter *touchCounter
	s, _, _ := newSessionsWith(t, &now, func(c *SessionsConfig) {
		counter = &touchCounter{DB: c.Store.(*sqlstore.DB)}
		c.Store = counter
	})
	sid := start(t, s, NewSAMLSession(*identity(), nil), Meta{})
	for _, step := range []struct {
		at     time.Duration
		writes int32
	}{
		{0, 0}, {time.Second, 0}, {59 * time.Second, 0}, {60 * time.Second, 1}, {61 * time.Second, 1},
		{119 * time.Second, 1}, {120 * time.Second, 2}, {10 * time.Minute, 3}, {10*time.Minute + 30*time.Second, 3},
	} {
		now = t0.Add(step.at)
		for range 3 {
			wantLoads(t, s, sid, true)
		}
		if got := counter.n.Load(); got != step.writes {
			t.Fatalf("at +%s: %d touches, want %d", step.at, got, step.writes)
		}
	}

	t.Run("short idle touches more often", func(t *testing.T) {
		now = t0
		s, _, _ := newSessionsWith(t, &now, func(c *SessionsConfig) { c.Idle = 2 * time.Minute })
		sid := start(t, s, NewSAMLSession(*identity(), nil), Meta{})
		// Used every 40 s for 5 minutes: never idle for 2 minutes.
		for i := 1; i <= 8; i++ {
			now = t0.Add(time.Duration(i) * 40 * time.Second)
			wantLoads(t, s, sid, true)
		}
	})
}

// Stale: verified ReauthAfter ago or longer, or at an unknown time.
func TestSessionStale(t *testing.T) {
	now := t0
	s, _, _ := newSessionsWith(t, &now, func(c *SessionsConfig) { c.Lifetime, c.ReauthAfter = 8*time.Hour, time.Hour })
	sid := start(t, s, NewSAMLSession(*identity(), nil), Meta{})
	sess, err := s.Load(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.VerifiedAt().Equal(t0) {
		t.Errorf("VerifiedAt %v, want Start's now", sess.VerifiedAt())
	}
	for _, c := range []struct {
		at    time.Duration
		stale bool
	}{{0, false}, {59 * time.Minute, false}, {time.Hour, true}, {3 * time.Hour, true}} {
		now = t0.Add(c.at)
		if got := s.Stale(sess); got != c.stale {
			t.Errorf("at +%s: Stale = %v, want %v", c.at, got, c.stale)
		}
	}
	now = t0
	if !s.Stale(&Session{Identity: *identity()}) {
		t.Error("a session verified at an unknown time is not stale")
	}
	early := NewSAMLSession(*identity(), nil, WithVerifiedAt(t0.Add(-2*time.Hour)))
	start(t, s, early, Meta{})
	if !early.VerifiedAt().Equal(t0.Add(-2*time.Hour)) || !s.Stale(early) {
		t.Errorf("WithVerifiedAt: verified %v, stale %v; want kept and stale", early.VerifiedAt(), s.Stale(early))
	}
}

// List, EndHandle, EndAll and EndUpstream end exactly the sessions they
// name, and audit them.
func TestSessionsEnd(t *testing.T) {
	ctx := context.Background()
	now := t0
	s, _, au := newSessionsWith(t, &now, func(c *SessionsConfig) { c.Lifetime = 8 * time.Hour })
	next := func(sess *Session, ua string) string {
		t.Helper()
		now = now.Add(time.Minute)
		return start(t, s, sess, Meta{RemoteAddr: "192.0.2.1", UserAgent: ua})
	}
	a1 := next(NewSAMLSession(samlIdentity("alice", "idx-1", time.Time{}), nil), "laptop")
	a2 := next(NewSAMLSession(samlIdentity("alice", "idx-2", time.Time{}), nil), "phone")
	a3 := next(NewSAMLSession(samlIdentity("alice", "idx-3", time.Time{}), nil), "tablet")
	a4 := next(NewSAMLSession(samlIdentity("alice", "", time.Time{}), nil), "desktop")
	b1 := next(NewSAMLSession(samlIdentity("bob", "idx-1", time.Time{}), nil), "bob")
	kc := next(NewOIDCSession(broker.Identity{Provider: "kc", Subject: "alice", SessionIndex: "idx-1"}, "tok", now.Add(time.Hour), ""), "kc")
	admin := broker.Actor{ID: "okta/root", RequestID: "r-admin", RemoteAddr: "198.51.100.1", UserAgent: "admin-ua"}
	alive := func(want map[string]bool) {
		t.Helper()
		for name, sid := range map[string]string{"a1": a1, "a2": a2, "a3": a3, "a4": a4, "b1": b1, "kc": kc} {
			_, err := s.Load(ctx, sid)
			if got := err == nil; got != want[name] {
				t.Errorf("%s alive = %v, want %v (%v)", name, got, want[name], err)
			}
		}
	}

	infos, err := s.List(ctx, "okta", "alice")
	if err != nil || len(infos) != 4 {
		t.Fatalf("List = %+v, %v", infos, err)
	}
	if infos[0].Handle != Handle(a4) || infos[3].Handle != Handle(a1) || infos[0].UserAgent != "desktop" || infos[0].RemoteAddr != "192.0.2.1" ||
		infos[0].Provider != "okta" || infos[0].Subject != "alice" || infos[0].Current || !infos[0].ExpiresAt.Equal(infos[0].CreatedAt.Add(8*time.Hour)) {
		t.Errorf("List newest first with its fields: %+v", infos[0])
	}
	if b, _ := json.Marshal(infos); strings.Contains(string(b), a1) || strings.Contains(string(b), a4) {
		t.Error("a listed session shows its id")
	}
	for _, bad := range [][2]string{{"", "alice"}, {"okta", ""}} {
		if _, err := s.List(ctx, bad[0], bad[1]); broker.ErrorCode(err) != broker.EINVALID {
			t.Errorf("List(%q, %q): %v, want EINVALID", bad[0], bad[1], err)
		}
	}

	// EndHandle: one session of the person, by its handle.
	au.evs = nil
	if err := s.EndHandle(ctx, "okta", "alice", Handle(a2), admin); err != nil {
		t.Fatal(err)
	}
	ended := events(au, "session_ended")
	if len(ended) != 1 || ended[0].Subject != "alice" || ended[0].Provider != "okta" || ended[0].Details["by"] != "okta/root" ||
		ended[0].Details["handle"] != Handle(a2) || ended[0].RequestID != "r-admin" || ended[0].RemoteAddr != "198.51.100.1" {
		t.Errorf("session_ended audit %+v", ended)
	}
	for name, h := range map[string]string{"ended already": Handle(a2), "another person's": Handle(b1), "unknown": "nope", "empty": "", "raw id": a1} {
		err := s.EndHandle(ctx, "okta", "alice", h, admin)
		if broker.ErrorCode(err) != broker.ENOTFOUND || broker.ErrorReason(err) != ReasonSessionNotFound {
			t.Errorf("EndHandle %s: %v, want ENOTFOUND %s", name, err, ReasonSessionNotFound)
		}
	}
	if len(events(au, "session_ended")) != 1 {
		t.Errorf("refused EndHandle calls were audited")
	}
	alive(map[string]bool{"a1": true, "a3": true, "a4": true, "b1": true, "kc": true})

	// EndUpstream: the IdP's session idx-1 at okta: alice's a1 and bob's
	// b1, not alice's session at kc with the same index.
	au.evs = nil
	for _, bad := range [][3]string{{"okta", "", ""}, {"", "alice", "idx-1"}} {
		if _, err := s.EndUpstream(ctx, bad[0], bad[1], bad[2], "saml_slo", Meta{}); broker.ErrorCode(err) != broker.EINVALID {
			t.Errorf("EndUpstream%q: %v, want EINVALID", bad, err)
		}
	}
	n, err := s.EndUpstream(ctx, "okta", "", "idx-1", "saml_slo", Meta{RequestID: "r-slo"})
	if err != nil || n != 2 {
		t.Fatalf("EndUpstream = %d, %v; want 2", n, err)
	}
	logouts := events(au, "logout")
	if len(logouts) != 2 {
		t.Fatalf("%d logout events, want one per ended session", len(logouts))
	}
	subjects := map[string]string{}
	for _, e := range logouts {
		if e.Details["via"] != "saml_slo" || e.Reason != ReasonUpstreamLogout || e.RequestID != "r-slo" || e.Provider != "okta" {
			t.Errorf("upstream logout audit %+v", e)
		}
		subjects[e.Subject] = e.Details["handle"]
	}
	if subjects["alice"] != Handle(a1) || subjects["bob"] != Handle(b1) {
		t.Errorf("audited %v, want alice's a1 and bob's b1", subjects)
	}
	alive(map[string]bool{"a3": true, "a4": true, "kc": true})
	// By subject and index together: only that person's session in it.
	if n, err := s.EndUpstream(ctx, "okta", "bob", "idx-3", "oidc_backchannel", Meta{}); err != nil || n != 0 {
		t.Errorf("EndUpstream(bob, idx-3) = %d, %v; want nothing (idx-3 is alice's)", n, err)
	}

	// EndAll: "sign out everywhere" from a4 keeps a4; alice at kc untouched.
	au.evs = nil
	self := broker.Actor{ID: "okta/alice", RequestID: "r-self"}
	if n, err := s.EndAll(ctx, "okta", "alice", self, a4); err != nil || n != 1 {
		t.Fatalf("EndAll except a4 = %d, %v; want 1 (a3)", n, err)
	}
	alive(map[string]bool{"a4": true, "kc": true})
	if n, err := s.EndAll(ctx, "okta", "alice", admin, ""); err != nil || n != 1 {
		t.Fatalf("EndAll = %d, %v; want 1 (a4)", n, err)
	}
	if n, err := s.EndAll(ctx, "okta", "alice", admin, ""); err != nil || n != 0 {
		t.Fatalf("EndAll again = %d, %v; want 0", n, err)
	}
	all := events(au, "sessions_ended")
	if len(all) != 3 || all[0].Details["count"] != "1" || all[0].Details["by"] != "okta/alice" || all[0].Details["kept"] != Handle(a4) ||
		all[0].RequestID != "r-self" || all[1].Details["by"] != "okta/root" || all[1].Details["kept"] != "" || all[2].Details["count"] != "0" {
		t.Errorf("sessions_ended audit %+v", all)
	}
	if _, err := s.EndAll(ctx, "okta", "", admin, ""); broker.ErrorCode(err) != broker.EINVALID {
		t.Errorf("EndAll without a subject: %v, want EINVALID", err)
	}
	alive(map[string]bool{"kc": true})

	// Back-channel logout by subject only.
	if n, err := s.EndUpstream(ctx, "kc", "alice", "", "oidc_backchannel", Meta{}); err != nil || n != 1 {
		t.Fatalf("EndUpstream(kc, alice) = %d, %v", n, err)
	}
	alive(map[string]bool{})
}

func TestHandle(t *testing.T) {
	id := newSessionID()
	h := Handle(id)
	if h != Handle(id) || len(h) != 16 || strings.Contains(id, h) || h == Handle(newSessionID()) {
		t.Errorf("Handle(%q) = %q: want 16 stable characters that differ per id and are not part of it", id, h)
	}
}

// Sessions stored before verified_at and not_after decode with both zero
// (so stale); new ones keep them.
func TestSessionWireNewFields(t *testing.T) {
	old := []byte(`{"identity":{"Provider":"okta","Subject":"alice"},"saml_response":"UmVzcG9uc2U=","used":true}`)
	var s Session
	if err := s.UnmarshalBinary(old); err != nil {
		t.Fatal(err)
	}
	if !s.VerifiedAt().IsZero() || !s.NotAfter().IsZero() || !s.used || s.Identity.Subject != "alice" {
		t.Errorf("old session decoded as %+v", s)
	}
	now := t0
	ss, _, _ := newSessions(t, &now)
	if !ss.Stale(&s) {
		t.Error("an old session is not stale")
	}

	in := NewSAMLSession(samlIdentity("alice", "", t0.Add(time.Hour)), nil, WithVerifiedAt(t0))
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"verified_at":"2026-11-29T09:00:00Z"`) || !strings.Contains(string(b), `"not_after":"2026-11-29T10:00:00Z"`) {
		t.Errorf("stored form %s lacks verified_at / not_after", b)
	}
	var got Session
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !got.VerifiedAt().Equal(t0) || !got.NotAfter().Equal(t0.Add(time.Hour)) {
		t.Errorf("decoded verified %v, not after %v", got.VerifiedAt(), got.NotAfter())
	}
}

func TestCapAtEarliestWins(t *testing.T) {
	s := NewOIDCSession(broker.Identity{}, "", time.Time{}, "")
	for _, c := range []struct {
		capAt, want time.Time
	}{
		{time.Time{}, time.Time{}},
		{t0.Add(2 * time.Hour), t0.Add(2 * time.Hour)},
		{t0.Add(3 * time.Hour), t0.Add(2 * time.Hour)},
		{t0.Add(time.Hour), t0.Add(time.Hour)},
		{time.Time{}, t0.Add(time.Hour)},
	} {
		s.CapAt(c.capAt)
		if !s.NotAfter().Equal(c.want) {
			t.Errorf("after CapAt(%v): %v, want %v", c.capAt, s.NotAfter(), c.want)
		}
	}
}

func TestSpell(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1 hour", 2 * time.Hour: "2 hours", time.Minute: "1 minute", 30 * time.Minute: "30 minutes",
		90 * time.Minute: "1h30m0s", 45 * time.Second: "45s",
	} {
		if got := spell(d); got != want {
			t.Errorf("spell(%s) = %q, want %q", d, got, want)
		}
	}
}
