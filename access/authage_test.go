package access

import (
	"context"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// A rule's max_auth_age: its role opens only for an IdP sign-in at most
// that old; an older one is refused with a step that signs in afresh.
func TestMaxAuthAge(t *testing.T) {
	e, err := mapping.Compile([]mapping.Rule{{
		Name: "recent", MaxAuthAge: mapping.Duration(15 * time.Minute),
		When:  mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
		Grant: mapping.GrantSpec{Account: acct, Role: "Developer"},
	}}, mapping.Options{BrokerSAMLProviderName: "broker"})
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeSTS{}
	s, err := New(Config{Rules: rules{e}, SAMLIssuer: &fakeIssuer{}, STS: st, Console: &fakeConsole{}, Audit: &memAudit{}})
	if err != nil {
		t.Fatal(err)
	}
	id := identity()
	key := grantKey(t, s, id, devRole)

	id.AuthnInstant = time.Now().Add(-20 * time.Minute)
	sess := &Session{Identity: *id}
	_, err = s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: key})
	if broker.ErrorReason(err) != ReasonAuthTooOld || len(st.calls) != 0 {
		t.Fatalf("a 20-minute-old sign-in: %v (STS calls %d), want %s and no call", err, len(st.calls), ReasonAuthTooOld)
	}
	for _, p := range []Provider{{SAML: true}, {OIDC: true}} {
		if step := NextStep(sess, err, p); step.Kind != StepSignInAgain || !step.Fresh {
			t.Errorf("NextStep for %+v: %+v, want a fresh sign-in", p, step)
		}
	}
	if _, err := s.Credentials(context.Background(), CredentialsInput{Identity: *id, Role: RoleRef{Role: devRole}}); broker.ErrorReason(err) != ReasonAuthTooOld {
		t.Errorf("credentials for a 20-minute-old sign-in: %v", err)
	}

	sess.Identity.AuthnInstant = time.Now().Add(-5 * time.Minute)
	if _, err := s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: key}); err != nil {
		t.Fatalf("a 5-minute-old sign-in: %v", err)
	}
}

func TestMaxAuthAgeBounds(t *testing.T) {
	for _, d := range []time.Duration{30 * time.Second, 25 * time.Hour} {
		_, err := mapping.Compile([]mapping.Rule{{Name: "r", Always: true, MaxAuthAge: mapping.Duration(d),
			Grant: mapping.GrantSpec{Account: acct, Role: "Developer"}}}, mapping.Options{BrokerSAMLProviderName: "broker"})
		if err == nil {
			t.Errorf("max_auth_age %s compiled", d)
		}
	}
}
