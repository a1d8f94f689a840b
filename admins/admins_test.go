package admins_test

import (
	"bytes"
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store/sqlstore"
)

func newService(t *testing.T, withCondition bool) (*admins.Service, *sqlstore.DB) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: ":memory:", Keys: [][]byte{bytes.Repeat([]byte{5}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := admins.Config{Store: db}
	if withCondition {
		m, err := mapping.CompileMatcher("admin", mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "broker-admins"}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Matcher = m
	}
	s, err := admins.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestIsAdmin(t *testing.T) {
	s, _ := newService(t, true)
	admin := &broker.Identity{Provider: "okta", Subject: "alice", Attributes: map[string][]string{"groups": {"dev", "broker-admins"}}}
	dev := &broker.Identity{Provider: "okta", Subject: "bob", Attributes: map[string][]string{"groups": {"dev"}}}
	if ok, why := s.IsAdmin(admin); !ok {
		t.Errorf("alice is not an admin: %s", why)
	}
	if ok, _ := s.IsAdmin(dev); ok {
		t.Error("bob is an admin")
	}
	if ok, _ := s.IsAdmin(nil); ok {
		t.Error("nobody is an admin")
	}
	off, _ := newService(t, false)
	if off.Enabled() {
		t.Error("enabled without a condition")
	}
	if ok, _ := off.IsAdmin(admin); ok {
		t.Error("admin without a condition")
	}
	if _, err := off.Authenticate(context.Background(), admins.TokenPrefix+"x", admins.Actor{}); broker.ErrorReason(err) != "admin_disabled" {
		t.Errorf("token with admin disabled: %v", err)
	}
}

func TestAuditQuery(t *testing.T) {
	f, err := admins.AuditQuery{User: "Ali", Role: "dev", Result: "failure", Since: "2026-11-22", Until: "2026-11-22T10:30"}.Filter()
	if err != nil {
		t.Fatal(err)
	}
	if f.SubjectContains != "Ali" || f.RoleContains != "dev" || f.Result != "failure" || f.Limit != 100 ||
		!f.Since.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) || !f.Until.Equal(time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("filter %+v", f)
	}
	if f, _ := (admins.AuditQuery{Since: "2026-11-22T10:00:00+02:00", Limit: 7}).Filter(); !f.Since.Equal(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)) || f.Limit != 7 {
		t.Errorf("RFC 3339 with an offset: %+v", f)
	}
	for _, q := range []admins.AuditQuery{{Result: "ok"}, {Since: "yesterday"}, {Until: "22/11/2026"}} {
		if _, err := q.Filter(); broker.ErrorCode(err) != broker.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", q, err)
		}
	}
}

func TestParseAuditQuery(t *testing.T) {
	q, _ := url.ParseQuery("user=ali&role=dev&result=failure&event=signin&since=2026-11-22&until=2026-11-23&limit=7&before=42")
	want := admins.AuditQuery{User: "ali", Role: "dev", Result: "failure", Event: "signin", Since: "2026-11-22", Until: "2026-11-23", Limit: 7, Before: 42}
	if got := admins.ParseAuditQuery(q); got != want {
		t.Errorf("ParseAuditQuery = %+v, want %+v", got, want)
	}
}
