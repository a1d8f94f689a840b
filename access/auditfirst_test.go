package access

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

// errStoreReadOnly is what a store that cannot write answers.
var errStoreReadOnly = broker.Wrap(errors.New("attempt to write a readonly database"), broker.EUNAVAILABLE, "store_read_only", "The broker cannot save anything right now.")

// No console URL and no credentials leave the broker before their audit
// record is written: with the audit log failing, the portal's role, the
// console API and the credentials API are refused 503 (EUNAVAILABLE
// audit_unavailable) and the Outcome holds no secret.
func TestNothingHandedOutWithoutAuditRecord(t *testing.T) {
	ctx := context.Background()
	id := identity()
	for _, tc := range []struct {
		name string
		do   func(s *Service) (*Outcome, error)
	}{
		{"portal role", func(s *Service) (*Outcome, error) {
			return s.Assume(ctx, AssumeInput{Session: &Session{Identity: *id}, GrantKey: grantKey(t, s, id, devRole), Meta: Meta{RequestID: "r1"}})
		}},
		{"console API", func(s *Service) (*Outcome, error) {
			return s.Console(ctx, ConsoleInput{Identity: *id, Role: RoleRef{Account: acct, Role: "Developer"}, Client: "cli", Meta: Meta{RequestID: "r2"}})
		}},
		{"credentials API", func(s *Service) (*Outcome, error) {
			return s.Credentials(ctx, CredentialsInput{Identity: *id, Role: RoleRef{Account: acct, Role: "Developer"}, Client: "cli", Meta: Meta{RequestID: "r3"}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeSTS{}
			s, _, _, au := newService(t, st)
			au.fail = errStoreReadOnly
			out, err := tc.do(s)
			if broker.ErrorCode(err) != broker.EUNAVAILABLE || broker.ErrorReason(err) != ReasonAuditUnavailable {
				t.Fatalf("err = %v (%s %s), want EUNAVAILABLE %s", err, broker.ErrorCode(err), broker.ErrorReason(err), ReasonAuditUnavailable)
			}
			if !strings.Contains(broker.ErrorMessage(err), "audit log") {
				t.Errorf("message %q does not say why", broker.ErrorMessage(err))
			}
			if len(st.calls) == 0 {
				t.Fatal("STS was not called: the test does not reach the audit write")
			}
			if out != nil && (out.ConsoleURL != "" || out.Credentials.AccessKeyID != "" || out.Credentials.SecretAccessKey != "" || out.Credentials.SessionToken != "") {
				t.Fatalf("handed out without its audit record: %+v", out)
			}
			// The same call with a working audit log hands it out.
			au.fail = nil
			if out, err := tc.do(s); err != nil || (out.ConsoleURL == "" && out.Credentials.SecretAccessKey == "") {
				t.Fatalf("with the audit log back: %+v, %v", out, err)
			}
		})
	}
}

// failingSignIns is a session store whose sign-in write fails.
type failingSignIns struct {
	SessionStore
	err error
}

func (f failingSignIns) CompleteSignIn(context.Context, *store.SignInWrite) error { return f.err }

// A sign-in whose write fails (store read-only) gets no session id: Start
// returns the store's EUNAVAILABLE.
func TestStartRefusedWhenTheStoreCannotWrite(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, db, _ := newSessionsWith(t, &now, nil)
	s.cfg.Store = failingSignIns{SessionStore: db, err: errStoreReadOnly}
	sid, _, err := s.Start(context.Background(), NewSAMLSession(*identity(), []byte("<Response/>")), "", Meta{RequestID: "r"})
	if sid != "" || broker.ErrorCode(err) != broker.EUNAVAILABLE {
		t.Fatalf("Start = %q, %v; want no session and EUNAVAILABLE", sid, err)
	}
	if live, _ := db.ListSessions(context.Background(), store.SessionFilter{Subject: "alice"}); len(live) != 0 {
		t.Fatalf("%d sessions stored", len(live))
	}
}

// A one-time value is burned with the sign-in: used again, the sign-in is
// refused with the caller's refusal, audited as a failure naming the
// verified subject, and nothing else is written.
func TestStartOneTime(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, db, au := newSessionsWith(t, &now, nil)
	refusal := broker.Errorf(broker.EREPLAY, "state_replay", "already used")
	start := func(replaces string) (string, error) {
		sid, _, err := s.Start(ctx, NewSAMLSession(*identity(), []byte("<Response/>"), WithOneTime("saml:okta", "_a1", now.Add(5*time.Minute), refusal)), replaces, Meta{RequestID: "rq"})
		return sid, err
	}
	first, err := start("")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Remember(ctx, "saml:okta", "_a1", now.Add(time.Minute)); broker.ErrorCode(err) != broker.EREPLAY {
		t.Fatalf("the one-time value was not burned: %v", err)
	}
	second, err := start(first)
	if second != "" || !errors.Is(err, refusal) {
		t.Fatalf("replayed Start = %q, %v; want the refusal", second, err)
	}
	if _, err := s.Load(ctx, first); err != nil {
		t.Errorf("a refused sign-in ended the session it would replace: %v", err)
	}
	if live, _ := db.ListSessions(ctx, store.SessionFilter{Subject: "alice"}); len(live) != 1 {
		t.Errorf("%d sessions, want 1", len(live))
	}
	var failed []store.AuditEvent
	for _, e := range au.evs {
		if e.Event == "signin" && e.Result == store.ResultFailure {
			failed = append(failed, e)
		}
	}
	if len(failed) != 1 || failed[0].Reason != "state_replay" || failed[0].Subject != "alice" {
		t.Fatalf("failed sign-in audit %+v", failed)
	}
}

// storedSession is the session sid as the store holds it (decrypted).
func storedSession(t *testing.T, db *sqlstore.DB, sid string) []byte {
	t.Helper()
	st, err := db.GetSession(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	return st.Data
}

// Small state: a broker-issued sign-in never stores the upstream Response;
// a pass-through one keeps it until it is spent or expires, then drops it.
func TestUpstreamResponseKeptOnlyWhileUsable(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	s, db, _ := newSessionsWith(t, &now, func(c *SessionsConfig) { c.Lifetime = 8 * time.Hour })
	stored := func(sid string) []byte { return storedSession(t, db, sid) }
	marker := []byte("UPSTREAM-RESPONSE-MARKER")
	response := append([]byte("<Response>"), append(marker, "</Response>"...)...)

	// Roles in the assertion, but the rules give no pass-through role.
	brokerOnly := identity()
	brokerOnly.Attributes = map[string][]string{"groups": {"dev"}}
	brokerOnly.Roles = []broker.RolePair{{RoleARN: admRole, ProviderARN: idpProv}}
	sid, _, err := s.Start(ctx, NewSAMLSession(*brokerOnly, response), "", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if data := stored(sid); bytes.Contains(data, []byte("saml_response")) {
		t.Fatalf("broker-issued session stores the upstream Response: %s", data)
	}

	// Pass-through: kept, until the assertion's expiry, then dropped at the
	// next Load and written back without it.
	pt := identity()
	pt.Expires = now.Add(5 * time.Minute)
	sid, _, err = s.Start(ctx, NewSAMLSession(*pt, response), "", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if data := stored(sid); !bytes.Contains(data, []byte("saml_response")) {
		t.Fatalf("pass-through session lost its upstream Response: %s", data)
	}
	now = now.Add(5 * time.Minute)
	got, err := s.Load(ctx, sid)
	if err != nil || len(got.samlResponse) != 0 {
		t.Fatalf("Load after NotOnOrAfter = %+v, %v", got, err)
	}
	if data := stored(sid); bytes.Contains(data, []byte("saml_response")) {
		t.Fatalf("expired upstream Response still stored: %s", data)
	}

	// Spent on STS: dropped (AWS will not take it again), still "used".
	sess := NewSAMLSession(*identity(), response)
	if !sess.spend(&Outcome{UsedUpstream: true}, nil) || len(sess.samlResponse) != 0 || !sess.used {
		t.Fatalf("spent session %+v", sess)
	}
}

// Small state, OIDC: the upstream ID token is a bearer credential AWS
// takes until it expires. A sign-in the rules give no pass-through web
// identity role stores none (the refresh token stays, to verify the person
// again); one they do keeps it until it expires, then drops it at the next
// Load and writes the session back without it.
func TestUpstreamIDTokenKeptOnlyWhileUsable(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	acc, _, _ := webIdentityService(t)
	s, db, _ := newSessionsWith(t, &now, func(c *SessionsConfig) { c.Access = acc; c.Lifetime = 8 * time.Hour })
	stored := func(sid string) []byte { return storedSession(t, db, sid) }
	const token, refresh = "UPSTREAM-ID-TOKEN-MARKER", "UPSTREAM-REFRESH-MARKER"
	person := func(groups ...string) broker.Identity {
		return broker.Identity{Provider: "keycloak", Protocol: broker.ProtocolOIDC, Subject: "bob",
			Attributes: map[string][]string{"groups": groups}}
	}

	// No role at all, or none that passes the token through: not stored.
	sid, _, err := s.Start(ctx, NewOIDCSession(person("ops"), token, now.Add(5*time.Minute), refresh), "", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if data := stored(sid); bytes.Contains(data, []byte(token)) || !bytes.Contains(data, []byte(refresh)) {
		t.Fatalf("a session without pass-through roles: %s", data)
	}

	// dev gets WebDev, pass-through by web identity: kept until it expires.
	sid, _, err = s.Start(ctx, NewOIDCSession(person("dev"), token, now.Add(5*time.Minute), refresh), "", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if data := stored(sid); !bytes.Contains(data, []byte(token)) {
		t.Fatalf("a pass-through session lost its ID token: %s", data)
	}
	now = now.Add(5 * time.Minute)
	got, err := s.Load(ctx, sid)
	if err != nil || got.idToken != "" || got.RefreshToken() != refresh {
		t.Fatalf("Load after the ID token's expiry = %+v, %v", got, err)
	}
	if data := stored(sid); bytes.Contains(data, []byte(token)) {
		t.Fatalf("an expired ID token still stored: %s", data)
	}

	// After a refresh, the decision on the refreshed identity says again.
	sess := NewOIDCSession(person("dev"), "", time.Time{}, refresh)
	sess.Refreshed(token, now.Add(5*time.Minute), refresh)
	sess.KeepUpstreamFor(acc.Decide(&sess.Identity))
	if sess.idToken != token {
		t.Fatal("a refreshed ID token dropped though a pass-through role uses it")
	}
	sess.Reverified(person("ops"), now)
	sess.KeepUpstreamFor(acc.Decide(&sess.Identity))
	if sess.idToken != "" || sess.RefreshToken() != refresh {
		t.Fatalf("after the person left dev: %+v", sess)
	}
}
