package webtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store/sqlstore"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/site"
)

// AdminEnv is a site with the admin UI on a real (in-memory SQLite) store
// and a live rule set, signing people in through the fake SP.
type AdminEnv struct {
	*Env
	DB    *sqlstore.DB
	Rules *ruleset.Source
}

// AdminGroup is the group the admin condition asks for.
const AdminGroup = "broker-admins"

// NewAdminEnv builds the site with the admin pages and API on a store
// seeded with one rule, devs (group dev gets Developer in account sandbox,
// Acct), at version 1 in revision 2.
func NewAdminEnv(t testing.TB) *AdminEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{DSN: ":memory:", Keys: [][]byte{bytes.Repeat([]byte{3}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	seed := []mapping.Rule{
		{Name: "devs", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: "sandbox", Role: "Developer", Label: "Developer"}},
	}
	seeder, err := ruleset.NewAdmin(ruleset.AdminConfig{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seeder.Seed(ctx, seed, []mapping.Account{{ID: Acct, Alias: "sandbox", Label: "Sandbox"}}); err != nil {
		t.Fatal(err)
	}
	src, err := ruleset.New(ctx, ruleset.Config{Store: db, Options: mapping.Options{BrokerSAMLProviderName: "broker"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.CompileMatcher("admin", mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: AdminGroup}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := newFakes()
	ev.SessionStore.Audit = db // a sign-in's audit record goes where the others do
	acc, err := access.New(access.Config{Rules: src, STS: ev.STS, Console: FakeConsole{}, Audit: db, SAMLIssuer: FakeIssuer{}})
	if err != nil {
		t.Fatal(err)
	}
	adm, err := admins.New(admins.Config{Matcher: m, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	ruleAdmin, err := ruleset.NewAdmin(ruleset.AdminConfig{Store: db, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	ev.Rebuild(t, site.Config{
		ExternalURL: "https://aws.example.com", Providers: []web.Provider{{ID: "okta", Label: "Okta", SAML: ev.SP}},
		Access: acc, Sessions: ev.NewSessions(t, acc, db), Health: ev.SessionStore,
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, MaxBodyBytes: 64 << 10,
		Admin: &site.AdminConfig{Admins: adm, Rules: src, Admin: ruleAdmin}, Personal: db,
	})
	return &AdminEnv{Env: ev, DB: db, Rules: src}
}

// As signs in, with a fresh cookie jar, as subject with groups and returns
// the CSRF token.
func (ev *AdminEnv) As(t testing.TB, subject string, groups ...string) string {
	t.Helper()
	ev.Jar = nil
	ev.SP.Result = signInResult(subject, groups)
	csrf, _ := ev.SignIn(t)
	return csrf
}

// AsBrowser is As from a browser whose requests carry User-Agent ua (what
// session lists show); ev.Jar is then that browser's cookies.
func (ev *AdminEnv) AsBrowser(t testing.TB, ua, subject string, groups ...string) string {
	t.Helper()
	ev.Jar = nil
	ev.SP.Result = signInResult(subject, groups)
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}}, "User-Agent", ua)
	if rec.Code == http.StatusSeeOther && rec.Header().Get("Location") == "/arrive" {
		rec = ev.Do(t, http.MethodGet, "/arrive", nil, "User-Agent", ua)
	}
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("ACS: %d %s", rec.Code, rec.Body)
	}
	m := CSRFRe.FindStringSubmatch(ev.Do(t, http.MethodGet, "/", nil, "User-Agent", ua).Body.String())
	if m == nil {
		t.Fatal("the portal has no CSRF token")
	}
	return m[1]
}

// signInResult is a verified sign-in of subject with groups at okta.
func signInResult(subject string, groups []string) *saml.Result {
	return &saml.Result{Identity: broker.Identity{
		Provider: "okta", Protocol: broker.ProtocolSAML, Subject: subject,
		Attributes: map[string][]string{"groups": groups, "displayName": {strings.ToUpper(subject[:1]) + subject[1:]}},
		Expires:    time.Now().Add(5 * time.Minute),
	}, ResponseXML: []byte("<Response/>"), AssertionID: "_" + subject + time.Now().String()}
}

// SessionID is the id of the live session of subject at okta started
// from user agent ua ("" if none): tests compare pages against it.
func (ev *Env) SessionID(subject, ua string) string {
	for id, s := range ev.SessionStore.Snapshot() {
		if s.Provider == "okta" && s.Subject == subject && s.UserAgent == ua {
			return id
		}
	}
	return ""
}

// API sends body (JSON when not empty) with the jar's cookies and hdr
// (name, value pairs).
func (ev *AdminEnv) API(t testing.TB, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return ev.Send(req, hdr...)
}

// AdminRoutes lists every admin page and API route with a request that
// would succeed for an admin. TestAdminRoutesListIsComplete (web/site)
// checks it against the routes the site registers, so a new route cannot
// escape the refusal tests in web/adminauth, which walk it.
var AdminRoutes = []struct{ Method, Path string }{
	{"GET", "/admin"}, {"GET", "/admin/rules"}, {"GET", "/admin/rules/new"}, {"POST", "/admin/rules/new"},
	{"GET", "/admin/rules/devs"}, {"POST", "/admin/rules/devs"}, {"POST", "/admin/rules/devs/toggle"},
	{"POST", "/admin/rules/devs/delete"}, {"POST", "/admin/rules/devs/move"}, {"GET", "/admin/rules/devs/history"},
	{"POST", "/admin/rules/devs/revert"}, {"GET", "/admin/simulate"}, {"POST", "/admin/simulate"}, {"GET", "/admin/audit"},
	{"GET", "/admin/audit?format=csv"}, {"GET", "/admin/accounts"}, {"POST", "/admin/accounts"},
	{"POST", "/admin/accounts/" + Acct + "/delete"}, {"GET", "/admin/tokens"}, {"POST", "/admin/tokens"},
	{"POST", "/admin/tokens/x/delete"},
	{"GET", "/admin/sessions?provider=okta&subject=ann"}, {"POST", "/admin/sessions/end"}, {"POST", "/admin/sessions/end-all"},
	{"GET", "/api/v1/rules"}, {"PUT", "/api/v1/rules"}, {"POST", "/api/v1/rules"}, {"GET", "/api/v1/rules/devs"},
	{"PUT", "/api/v1/rules/devs"}, {"DELETE", "/api/v1/rules/devs?version=1"}, {"GET", "/api/v1/rules/devs/history"},
	{"POST", "/api/v1/simulate"}, {"GET", "/api/v1/audit"}, {"GET", "/api/v1/accounts"},
	{"GET", "/api/v1/sessions?provider=okta&subject=ann"}, {"DELETE", "/api/v1/sessions?provider=okta&subject=ann"},
	{"DELETE", "/api/v1/sessions/x?provider=okta&subject=ann"},
	{"GET", "/admin/links"}, {"POST", "/admin/links"}, {"POST", "/admin/links/devs/delete"},
	{"GET", "/api/v1/links"}, {"GET", "/api/v1/links/devs"}, {"PUT", "/api/v1/links/devs"}, {"DELETE", "/api/v1/links/devs"},
	{"GET", "/admin/apps"}, {"GET", "/admin/apps/new"}, {"POST", "/admin/apps/new"}, {"GET", "/admin/apps/x"},
	{"POST", "/admin/apps/x"}, {"POST", "/admin/apps/x/secret"}, {"POST", "/admin/apps/x/delete"},
	{"GET", "/api/v1/apps"}, {"PUT", "/api/v1/apps"}, {"POST", "/api/v1/apps"}, {"GET", "/api/v1/apps/export"},
	{"GET", "/api/v1/apps/x"}, {"PUT", "/api/v1/apps/x"}, {"DELETE", "/api/v1/apps/x?version=1"}, {"POST", "/api/v1/apps/x/secret"},
}
