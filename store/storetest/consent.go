package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// testAppConsents: a consent round-trips, a second save replaces it, a
// person's consents are listed (newest first, nobody else's), deleting
// one says whether there was one, and a missing one is ENOTFOUND.
func testAppConsents(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if _, err := s.GetAppConsent(ctx, "okta", "alice", "wiki"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Fatalf("no consent yet: %v, want ENOTFOUND", err)
	}
	if err := s.SaveAppConsent(ctx, &store.AppConsent{Provider: "okta", ClientID: "wiki"}); broker.ErrorCode(err) != broker.EINVALID {
		t.Errorf("consent without a subject: %v, want EINVALID", err)
	}
	first := clock.Now()
	if err := s.SaveAppConsent(ctx, &store.AppConsent{Provider: "okta", Subject: "alice", ClientID: "wiki", Scopes: []string{"profile", "email"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAppConsent(ctx, "okta", "alice", "wiki")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Scopes, []string{"profile", "email"}) || !got.GrantedAt.Equal(first) || got.ClientID != "wiki" || got.Subject != "alice" {
		t.Fatalf("GetAppConsent = %+v", got)
	}
	clock.Advance(time.Minute)
	if err := s.SaveAppConsent(ctx, &store.AppConsent{Provider: "okta", Subject: "alice", ClientID: "wiki", Scopes: []string{"profile", "email", "aws:roles"}}); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetAppConsent(ctx, "okta", "alice", "wiki"); err != nil || len(got.Scopes) != 3 || got.Scopes[2] != "aws:roles" || !got.GrantedAt.Equal(clock.Now()) {
		t.Fatalf("after a second save: %+v %v", got, err)
	}
	clock.Advance(time.Minute)
	for _, c := range []store.AppConsent{
		{Provider: "okta", Subject: "alice", ClientID: "grafana", Scopes: []string{"groups"}},
		{Provider: "okta", Subject: "bob", ClientID: "wiki", Scopes: []string{"profile"}},
		{Provider: "entra", Subject: "alice", ClientID: "wiki", Scopes: []string{"profile"}},
	} {
		if err := s.SaveAppConsent(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListAppConsents(ctx, "okta", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ClientID != "grafana" || list[1].ClientID != "wiki" || list[1].Subject != "alice" || len(list[1].Scopes) != 3 {
		t.Fatalf("ListAppConsents = %+v", list)
	}
	if ok, err := s.DeleteAppConsent(ctx, "okta", "alice", "wiki"); err != nil || !ok {
		t.Fatalf("DeleteAppConsent = %v %v, want true", ok, err)
	}
	if ok, err := s.DeleteAppConsent(ctx, "okta", "alice", "wiki"); err != nil || ok {
		t.Fatalf("second DeleteAppConsent = %v %v, want false", ok, err)
	}
	if _, err := s.GetAppConsent(ctx, "okta", "alice", "wiki"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Errorf("deleted consent: %v, want ENOTFOUND", err)
	}
	if c, err := s.GetAppConsent(ctx, "okta", "bob", "wiki"); err != nil || c.Scopes[0] != "profile" {
		t.Errorf("bob's consent went with alice's: %+v %v", c, err)
	}
	if list, err = s.ListAppConsents(ctx, "okta", "nobody"); err != nil || len(list) != 0 {
		t.Errorf("nobody's consents: %+v %v", list, err)
	}
}
