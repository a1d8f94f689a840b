package access

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

func TestCredentialsForApps(t *testing.T) {
	st := &fakeSTS{}
	s, con, is, au := newService(t, st)
	id := *identity()

	// A broker-issued role, named as people write it: credentials, the
	// asked duration, no console URL, audited for the app.
	out, err := s.Credentials(context.Background(), CredentialsInput{
		Identity: id, Role: RoleRef{Account: acct, Role: "Developer"}, Duration: 2 * time.Hour, Client: "dashboard",
		Meta: Meta{RequestID: "r1"},
	})
	if err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	if out.Credentials.AccessKeyID == "" || out.ConsoleURL != "" || len(con.reqs) != 0 {
		t.Fatalf("outcome %+v (console calls %d): want credentials and no console URL", out, len(con.reqs))
	}
	if len(st.calls) != 1 || st.calls[0].RoleARN != devRole || st.calls[0].Duration != 2*time.Hour {
		t.Fatalf("STS calls %+v: want one for %s with 2h", st.calls, devRole)
	}
	if len(is.reqs) != 1 || is.reqs[0].Subject != "alice" {
		t.Fatalf("issuer requests %+v: want one minted assertion for alice", is.reqs)
	}
	ev := au.last(t)
	if ev.Event != "credentials_issued" || ev.Result != "success" || ev.Details["client"] != "dashboard" || ev.RoleARN != devRole {
		t.Fatalf("audit %+v", ev)
	}
	if strings.Contains(ev.Details["access_key_id"], "FAKEFAKEFAKE1234") {
		t.Errorf("audit keeps the whole access key id: %q", ev.Details["access_key_id"])
	}

	// Refusals: a role not granted, a pass-through role, a bad duration.
	for _, tc := range []struct {
		ref    RoleRef
		dur    time.Duration
		code   string
		reason string
	}{
		{RoleRef{Account: acct, Role: "Billing"}, 0, broker.EFORBIDDEN, ReasonRoleNotGranted},
		{RoleRef{Role: admRole}, 0, broker.EFORBIDDEN, ReasonPassThroughForApps},
		{RoleRef{Account: acct, Role: "Developer"}, 13 * time.Hour, broker.EINVALID, ReasonDurationInvalid},
		{RoleRef{Account: acct, Role: "Developer"}, time.Minute, broker.EINVALID, ReasonDurationInvalid},
	} {
		n := len(st.calls)
		_, err := s.Credentials(context.Background(), CredentialsInput{Identity: id, Role: tc.ref, Duration: tc.dur, Client: "dashboard"})
		if broker.ErrorCode(err) != tc.code || broker.ErrorReason(err) != tc.reason {
			t.Errorf("%+v %s: err %v, want %s/%s", tc.ref, tc.dur, err, tc.code, tc.reason)
		}
		if len(st.calls) != n {
			t.Errorf("%+v: STS was called for a refused request", tc.ref)
		}
		if ev := au.last(t); ev.Event != "credentials_issued" || ev.Result != "failure" || ev.Reason != tc.reason {
			t.Errorf("%+v: audit %+v, want a failure with reason %s", tc.ref, ev, tc.reason)
		}
	}
}

// last is the latest audit event.
func (m *memAudit) last(t *testing.T) store.AuditEvent {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.evs) == 0 {
		t.Fatal("no audit event")
	}
	return m.evs[len(m.evs)-1]
}
