package access

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

// Store growth per login (issue 15: at most 3 KB in broker-issued mode):
// n people sign in through Sessions.Start on a SQLite file, then the file
// is checkpointed (Compact) and measured. Each login is a realistic one:
// ten attributes, and in pass-through a 12 KB upstream Response.

// loginIdentity is person i with ten attributes and, as the issue
// measured, an AWS Role attribute (whether it is used is the rules' call).
func loginIdentity(i int, now time.Time) broker.Identity {
	subject := fmt.Sprintf("person%04d@example.com", i)
	attrs := map[string][]string{
		"email": {subject}, "displayName": {fmt.Sprintf("Person %04d", i)}, "givenName": {"Person"}, "surname": {fmt.Sprintf("%04d", i)},
		"groups":     {"dev", "eng-platform", "oncall-primary", "aws-sandbox-users", "vpn-users"},
		"department": {"Engineering"}, "employeeType": {"full-time"}, "costCenter": {"CC-1234"},
		"title": {"Software Engineer"}, "manager": {"manager@example.com"},
	}
	id := broker.Identity{Provider: "okta", Protocol: broker.ProtocolSAML, Subject: subject, Attributes: attrs,
		RoleSessionName: subject, SessionDuration: time.Hour, Expires: now.Add(5 * time.Minute), AuthnInstant: now,
		SessionIndex: fmt.Sprintf("_session-index-%032d", i)}
	attrs[broker.SAMLAttrRole] = []string{admRole + "," + idpProv}
	id.Roles = []broker.RolePair{{RoleARN: admRole, ProviderARN: idpProv}}
	return id
}

// storeBytesPerLogin signs n people in and returns the SQLite file's
// growth per login and the rows each login added. Broker-issued: the
// rules grant only a broker-issued role; pass-through: also the
// upstream's roles.
func storeBytesPerLogin(t testing.TB, n int, passThrough bool) (perLogin float64, rows map[string]int) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	db, err := sqlstore.Open(ctx, sqlstore.Config{DSN: filepath.Join(t.TempDir(), "broker.db"), Keys: [][]byte{bytes.Repeat([]byte{9}, 32)},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	set := []mapping.Rule{{Name: "devs", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
		Grant: mapping.GrantSpec{Account: acct, Role: "Developer"}}}
	if passThrough {
		set = append(set, mapping.Rule{Name: "passthrough", When: mapping.Group{All: []mapping.Condition{{Attribute: broker.SAMLAttrRole, Exists: true}}},
			Grant: mapping.GrantSpec{Mode: string(broker.ModePassThrough), Role: "*"}})
	}
	e, err := mapping.Compile(set, mapping.Options{BrokerSAMLProviderName: "broker"})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := New(Config{Rules: rules{e}, SAMLIssuer: &fakeIssuer{}, STS: &fakeSTS{}, Console: &fakeConsole{}, Audit: &memAudit{}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSessions(SessionsConfig{Store: db, Access: acc, Replay: db, RecordSignIns: true, Lifetime: 8 * time.Hour,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		if err := db.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		u, err := db.DiskUsage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return u.DB + u.WAL
	}
	// A 12 KB Response, as the load measured; random content, so
	// that compression at rest cannot shrink it (the worst case).
	noise := make([]byte, 9<<10)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	response := []byte("<samlp:Response>" + base64.StdEncoding.EncodeToString(noise) + "</samlp:Response>")
	before := size()
	for i := range n {
		id := loginIdentity(i, now)
		sess := NewSAMLSession(id, response, WithOneTime("saml:okta", fmt.Sprintf("_assertion-%040d", i), now.Add(10*time.Minute), nil))
		if _, _, err := s.Start(ctx, sess, "", Meta{RequestID: fmt.Sprintf("%016x", i), RemoteAddr: "192.0.2.10",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}); err != nil {
			t.Fatal(err)
		}
	}
	after := size()
	live, _ := db.ListSessions(ctx, store.SessionFilter{Limit: 1000})
	audit, _ := db.ListAudit(ctx, store.AuditFilter{Limit: 1000})
	signins, _ := db.RecentSignIns(ctx, 1000)
	return float64(after-before) / float64(n), map[string]int{"sessions": len(live), "audit": len(audit), "signins": len(signins)}
}

// TestStoreGrowthPerLogin holds broker-issued logins to 3 KB of store
// each and reports both modes (go test -v -run StoreGrowth ./access).
func TestStoreGrowthPerLogin(t *testing.T) {
	const n = 500
	issued, rows := storeBytesPerLogin(t, n, false)
	t.Logf("broker-issued: %.0f bytes of SQLite file per login (%d logins; rows %v)", issued, n, rows)
	if issued > 3<<10 {
		t.Errorf("broker-issued login grows the store by %.0f bytes, want at most 3072", issued)
	}
	if rows["sessions"] != n || rows["audit"] != n || rows["signins"] != n {
		t.Errorf("rows %v, want %d of each", rows, n)
	}
	pass, _ := storeBytesPerLogin(t, n, true)
	t.Logf("pass-through: %.0f bytes of SQLite file per login while the upstream Response is kept (until its NotOnOrAfter)", pass)
	if pass < 12<<10 {
		t.Errorf("pass-through login grows the store by only %.0f bytes: the 12 KB Response is not kept", pass)
	}
}

// BenchmarkLoginStoreGrowth reports the store bytes per login as a metric.
func BenchmarkLoginStoreGrowth(b *testing.B) {
	for _, pt := range []bool{false, true} {
		name := map[bool]string{false: "broker-issued", true: "pass-through"}[pt]
		b.Run(name, func(b *testing.B) {
			per, _ := storeBytesPerLogin(b, max(b.N, 100), pt)
			b.ReportMetric(per, "store-B/login")
		})
	}
}
