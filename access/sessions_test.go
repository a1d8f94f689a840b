package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

// newSessions is the session lifecycle on a real SQLite store, with the
// clock at *now.
func newSessions(t *testing.T, now *time.Time) (*Sessions, *sqlstore.DB, *memAudit) {
	t.Helper()
	return newSessionsWith(t, now, nil)
}

// newSessionsWith is newSessions with Lifetime 1 h, changed by edit (nil:
// none) before NewSessions.
func newSessionsWith(t *testing.T, now *time.Time, edit func(*SessionsConfig)) (*Sessions, *sqlstore.DB, *memAudit) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: ":memory:", Keys: [][]byte{bytes.Repeat([]byte{9}, 32)},
		Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc, _, _, au := newService(t, &fakeSTS{})
	cfg := SessionsConfig{Store: db, Access: acc, RecordSignIns: true, Replay: db, Lifetime: time.Hour,
		Now: func() time.Time { return *now }}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewSessions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, db, au
}

func TestSessionsLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, db, au := newSessions(t, &now)
	meta := Meta{RequestID: "r1", RemoteAddr: "192.0.2.7", UserAgent: "test"}

	first, _, err := s.Start(ctx, NewOIDCSession(*identity(), "id-token-1", now.Add(time.Hour), "refresh-1"), "", meta)
	if err != nil {
		t.Fatal(err)
	}
	sess := NewSAMLSession(*identity(), []byte("<Response/>"))
	sid, decision, err := s.Start(ctx, sess, first, meta)
	if err != nil {
		t.Fatal(err)
	}
	if sid == first || len(sid) < 40 {
		t.Fatalf("session id %q (previous %q): a sign-in must get a new, long id", sid, first)
	}
	if len(decision.Grants) != 2 {
		t.Errorf("decision has %d grants, want developer + pass-through", len(decision.Grants))
	}
	if _, err := s.Load(ctx, first); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Errorf("the replaced session still loads: %v", err)
	}

	got, err := s.Load(ctx, sid)
	if err != nil || got.Identity.Subject != "alice" || len(got.samlResponse) == 0 {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	got.used = true
	now = now.Add(30 * time.Minute)
	if err := s.Save(ctx, sid, got); err != nil {
		t.Fatal(err)
	}
	if again, err := s.Load(ctx, sid); err != nil || !again.used {
		t.Fatalf("saved session = %+v, %v", again, err)
	}
	// Save keeps the expiry: an hour after the sign-in it is gone.
	now = now.Add(31 * time.Minute)
	if _, err := s.Load(ctx, sid); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Errorf("session outlived its lifetime: %v", err)
	}

	ins, err := db.RecentSignIns(ctx, 10)
	if err != nil || len(ins) != 1 || ins[0].Subject != "alice" {
		t.Fatalf("recent sign-ins = %+v, %v", ins, err)
	}
	var recorded broker.Identity
	if err := json.Unmarshal(ins[0].Identity, &recorded); err != nil || recorded.Subject != "alice" {
		t.Errorf("recorded identity %s: %v", ins[0].Identity, err)
	}
	if bytes.Contains(ins[0].Identity, []byte("Response")) || bytes.Contains(ins[0].Identity, []byte("id-token-1")) {
		t.Error("the recorded sign-in holds a credential")
	}

	// The sign-in's audit record went with its session, to the store.
	var signins int
	evs, err := db.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Event == "signin" {
			signins++
			if e.Result != store.ResultSuccess || e.RequestID != "r1" || e.RemoteAddr != "192.0.2.7" || e.Details["roles"] != "2" {
				t.Errorf("signin audit %+v", e)
			}
		}
	}
	if signins != 2 {
		t.Errorf("%d signin audit records, want 2", signins)
	}
	for _, e := range au.evs {
		if e.Event == "signin" && e.Result == store.ResultSuccess {
			t.Errorf("a sign-in audited apart from its session's write: %+v", e)
		}
	}
}

func TestSessionsEndFailedAndUseOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, _, au := newSessions(t, &now)
	sid, _, err := s.Start(ctx, NewSAMLSession(*identity(), nil), "", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	au.evs = nil
	if err := s.End(ctx, sid, Meta{RequestID: "r2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, sid); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Errorf("ended session loads: %v", err)
	}
	if len(au.evs) != 1 || au.evs[0].Event != "logout" || au.evs[0].Subject != "alice" || au.evs[0].RequestID != "r2" {
		t.Errorf("logout audit %+v", au.evs)
	}
	if err := s.End(ctx, sid, Meta{}); err != nil || len(au.evs) != 1 {
		t.Errorf("ending a gone session: %v, %d records", err, len(au.evs))
	}

	s.Failed(ctx, "okta", broker.Wrap(errors.New("bad sig"), broker.EUNAUTHORIZED, "signature_invalid", "Sign-in failed."), Meta{RequestID: "r3"})
	if e := au.evs[len(au.evs)-1]; e.Event != "signin" || e.Result != store.ResultFailure || e.Reason != "signature_invalid" || e.Provider != "okta" {
		t.Errorf("failed sign-in audit %+v", e)
	}

	exp := now.Add(10 * time.Minute)
	if err := s.UseOnce(ctx, "oidc-state:kc", "state-1", exp); err != nil {
		t.Fatal(err)
	}
	if err := s.UseOnce(ctx, "oidc-state:kc", "state-1", exp); broker.ErrorCode(err) != broker.EREPLAY {
		t.Errorf("second use: %v, want EREPLAY", err)
	}
}
