package site

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
	"github.com/broker-dev/broker/web"
)

// adminEnv is a server with the admin UI on a real (in-memory SQLite)
// store and a live rule set, signing people in through the fake SP.
type adminEnv struct {
	*env
	db    *sqlstore.DB
	rules *ruleset.Source
}

const adminGroup = "broker-admins"

func newAdminEnv(t *testing.T) *adminEnv {
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
	if _, err := seeder.Seed(ctx, seed, []mapping.Account{{ID: acct, Alias: "sandbox", Label: "Sandbox"}}); err != nil {
		t.Fatal(err)
	}
	src, err := ruleset.New(ctx, ruleset.Config{Store: db, Options: mapping.Options{BrokerSAMLProviderName: "broker"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.CompileMatcher("admin", mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: adminGroup}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := &env{sp: &fakeSP{}, sess: &memSessions{m: map[string]store.Session{}}, audit: &audit{}, sts: &fakeSTS{}}
	acc, err := access.New(access.Config{Rules: src, STS: ev.sts, Console: fakeConsole{}, Audit: db, SAMLIssuer: fakeIssuer{}})
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
	ev.srv, err = New(Config{
		ExternalURL: "https://aws.example.com", Providers: []web.Provider{{ID: "okta", Label: "Okta", SAML: ev.sp}},
		Access: acc, Sessions: newSessions(t, acc, ev.sess, db), Health: ev.sess,
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, MaxBodyBytes: 64 << 10,
		Admin: &AdminConfig{Admins: adm, Rules: src, Admin: ruleAdmin},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &adminEnv{env: ev, db: db, rules: src}
}

// as signs in as subject with groups and returns the CSRF token.
func (ev *adminEnv) as(t *testing.T, subject string, groups ...string) string {
	t.Helper()
	ev.jar = nil
	ev.sp.result = &saml.Result{Identity: broker.Identity{
		Provider: "okta", Protocol: broker.ProtocolSAML, Subject: subject,
		Attributes: map[string][]string{"groups": groups, "displayName": {strings.ToUpper(subject[:1]) + subject[1:]}},
		Expires:    time.Now().Add(5 * time.Minute),
	}, ResponseXML: []byte("<Response/>"), AssertionID: "_" + subject + time.Now().String()}
	csrf, _ := ev.signIn(t)
	return csrf
}

func (ev *adminEnv) api(t *testing.T, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return ev.send(req, hdr...)
}

// adminRoutes lists every admin route with a request that would succeed
// for an admin.
var adminRoutes = []struct{ method, path string }{
	{"GET", "/admin"}, {"GET", "/admin/rules"}, {"GET", "/admin/rules/new"}, {"POST", "/admin/rules/new"},
	{"GET", "/admin/rules/devs"}, {"POST", "/admin/rules/devs"}, {"POST", "/admin/rules/devs/toggle"},
	{"POST", "/admin/rules/devs/delete"}, {"POST", "/admin/rules/devs/move"}, {"GET", "/admin/rules/devs/history"},
	{"POST", "/admin/rules/devs/revert"}, {"GET", "/admin/simulate"}, {"POST", "/admin/simulate"}, {"GET", "/admin/audit"},
	{"GET", "/admin/audit?format=csv"}, {"GET", "/admin/accounts"}, {"POST", "/admin/accounts"},
	{"POST", "/admin/accounts/" + acct + "/delete"}, {"GET", "/admin/tokens"}, {"POST", "/admin/tokens"},
	{"POST", "/admin/tokens/x/delete"},
	{"GET", "/api/v1/rules"}, {"PUT", "/api/v1/rules"}, {"POST", "/api/v1/rules"}, {"GET", "/api/v1/rules/devs"},
	{"PUT", "/api/v1/rules/devs"}, {"DELETE", "/api/v1/rules/devs?version=1"}, {"GET", "/api/v1/rules/devs/history"},
	{"POST", "/api/v1/simulate"}, {"GET", "/api/v1/audit"}, {"GET", "/api/v1/accounts"},
}

// Every admin route the server registers is in adminRoutes, so a new
// route cannot escape the refusal tests below.
func TestAdminRoutesListIsComplete(t *testing.T) {
	ev := newAdminEnv(t)
	listed := map[string]bool{}
	for _, r := range adminRoutes {
		listed[r.method+" "+strings.SplitN(r.path, "?", 2)[0]] = true
	}
	param := strings.NewReplacer(":name", "devs", ":id", "x")
	for _, r := range ev.srv.Echo().Routes() {
		if (!strings.HasPrefix(r.Path, "/admin") && !strings.HasPrefix(r.Path, "/api/")) || r.Method == "echo_route_not_found" {
			continue // the groups' catch-alls answer 404 only after requireAdmin
		}
		p := param.Replace(r.Path)
		if strings.HasPrefix(r.Path, "/admin/accounts/:id") {
			p = strings.Replace(r.Path, ":id", acct, 1)
		}
		if !listed[r.Method+" "+p] {
			t.Errorf("route %s %s is not in adminRoutes", r.Method, r.Path)
		}
	}
}

func TestAdminRoutesRefuseNonAdmins(t *testing.T) {
	ev := newAdminEnv(t)
	// Anonymous: pages redirect to sign in (GET) or 401; nothing changes.
	for _, r := range adminRoutes {
		rec := ev.api(t, r.method, r.path, "")
		want := http.StatusUnauthorized
		if r.method == "GET" && strings.HasPrefix(r.path, "/admin") {
			want = http.StatusSeeOther
		}
		if rec.Code != want {
			t.Errorf("anonymous %s %s: %d, want %d", r.method, r.path, rec.Code, want)
		}
	}
	if rec := ev.do(t, "GET", "/?admin=1", nil); !strings.Contains(rec.Body.String(), "Sign in to use the admin pages") {
		t.Error("the sign-in page does not say why the admin was sent there")
	}
	// Signed in, not an admin: 403 on every route, with or without CSRF.
	csrf := ev.as(t, "bob", "dev")
	for _, r := range adminRoutes {
		for _, withCSRF := range []bool{false, true} {
			var rec *httptest.ResponseRecorder
			if withCSRF {
				rec = ev.do(t, r.method, r.path, url.Values{"csrf_token": {csrf}, "version": {"1"}}, "X-CSRF-Token", csrf)
			} else {
				rec = ev.api(t, r.method, r.path, "")
			}
			if rec.Code != http.StatusForbidden {
				t.Errorf("non-admin %s %s: %d, want 403", r.method, r.path, rec.Code)
			}
		}
	}
	// The portal shows no admin link to a non-admin.
	if strings.Contains(ev.do(t, "GET", "/", nil).Body.String(), `id="admin-link"`) {
		t.Error("non-admin sees the admin link")
	}
	if set, _ := ev.db.Rules(context.Background()); set.Revision != 2 || len(set.Rules) != 1 || set.Rules[0].Version != 1 {
		t.Fatalf("refused requests changed the rules: %+v", set)
	}
	// An admin in another group list loses access at once when the
	// condition no longer holds (checked on every request, not at sign-in).
	ev.as(t, "ann", adminGroup)
	if rec := ev.do(t, "GET", "/admin/rules", nil); rec.Code != http.StatusOK {
		t.Fatalf("admin: %d", rec.Code)
	}
	if !strings.Contains(ev.do(t, "GET", "/", nil).Body.String(), `id="admin-link"`) {
		t.Error("admin sees no admin link")
	}
}

func TestAdminCSRFOnEveryChange(t *testing.T) {
	ev := newAdminEnv(t)
	ev.as(t, "ann", adminGroup)
	for _, r := range adminRoutes {
		if r.method == "GET" {
			continue
		}
		for name, hdr := range map[string][]string{
			"no token":   nil,
			"bad token":  {"X-CSRF-Token", "forged"},
			"cross-site": {"Sec-Fetch-Site", "cross-site"},
		} {
			form := url.Values{"version": {"1"}, "name": {"t"}}
			if name == "bad token" {
				form.Set("csrf_token", "forged")
			}
			rec := ev.do(t, r.method, r.path, form, hdr...)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "csrf") {
				t.Errorf("%s %s (%s): %d, want 403 csrf", r.method, r.path, name, rec.Code)
			}
		}
	}
	if set, _ := ev.db.Rules(context.Background()); set.Rules[0].Version != 1 || len(set.Rules) != 1 {
		t.Fatalf("a forged request changed the rules: %+v", set)
	}
}

var versionRe = regexp.MustCompile(`name="version" value="(\d+)"`)

func ruleFormValues(csrf, name, when, role string) url.Values {
	return url.Values{"csrf_token": {csrf}, "name": {name}, "effect": {"allow"}, "when": {when},
		"grant.account": {"sandbox"}, "grant.role": {role}, "grant.duration": {"1h"}}
}

func TestAdminCreateSimulatePreviewSave(t *testing.T) {
	ev := newAdminEnv(t)
	// Bob signs in once (recorded for the simulator) and has no ops role.
	ev.as(t, "bob", "ops")
	csrf := ev.as(t, "ann", adminGroup)

	// A bad regex is refused inline, on the conditions field, and nothing is saved.
	form := ruleFormValues(csrf, "ops", "all:\n  - {attribute: groups, regex: '(ops'}\n", "Operator")
	form.Set("op", "save")
	rec := ev.do(t, "POST", "/admin/rules/new", form)
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="when-err"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("bad regex: %d\n%s", rec.Code, body)
	}
	if !strings.Contains(body, "(ops") {
		t.Fatal("the admin's input was not kept")
	}
	// Unknown condition keys are refused too (a typo must not widen a rule).
	form.Set("when", "all:\n  - {attribute: groups, equal: ops}\n")
	if rec := ev.do(t, "POST", "/admin/rules/new", form); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "equal") {
		t.Fatalf("typo in conditions: %d", rec.Code)
	}

	form.Set("when", "all:\n  - {attribute: groups, equals: ops}\n")
	form.Set("signin", "okta/bob")
	form.Set("op", "simulate")
	rec = ev.do(t, "POST", "/admin/rules/new", form)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "arn:aws:iam::"+acct+":role/Operator") {
		t.Fatalf("simulate: %d\n%s", rec.Code, rec.Body)
	}
	form.Set("op", "preview")
	rec = ev.do(t, "POST", "/admin/rules/new", form)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-subject="bob"`) || !strings.Contains(rec.Body.String(), "role/Operator") {
		t.Fatalf("impact preview: %d\n%s", rec.Code, rec.Body)
	}
	if _, ok := findRuleIn(ev.rules, "ops"); ok {
		t.Fatal("simulate or preview saved the rule")
	}
	form.Set("op", "save")
	rec = ev.do(t, "POST", "/admin/rules/new", form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", rec.Code, rec.Body)
	}
	if r, ok := findRuleIn(ev.rules, "ops"); !ok || r.UpdatedBy != "okta/ann" || r.Version != 1 {
		t.Fatalf("saved rule %+v %v", r, ok)
	}
	if !strings.Contains(ev.do(t, "GET", "/admin/rules", nil).Body.String(), "Saved rule ops") {
		t.Error("no confirmation after save")
	}
	// Bob now gets the role in the portal.
	ev.as(t, "bob", "ops")
	if !strings.Contains(ev.do(t, "GET", "/", nil).Body.String(), "role/Operator") {
		t.Fatal("bob's portal does not show the new role")
	}
	evs, _ := ev.db.ListAudit(context.Background(), store.AuditFilter{Event: "rule_saved"})
	if len(evs) != 1 || evs[0].Subject != "okta/ann" {
		t.Fatalf("rule change audit %+v", evs)
	}
}

func findRuleIn(src *ruleset.Source, name string) (ruleset.Rule, bool) {
	for _, r := range src.State().Rules {
		if r.Name == name {
			return r, true
		}
	}
	return ruleset.Rule{}, false
}

func TestAdminConcurrentEditIsRefused(t *testing.T) {
	ev := newAdminEnv(t)
	csrf := ev.as(t, "ann", adminGroup)
	page := ev.do(t, "GET", "/admin/rules/devs", nil).Body.String()
	m := versionRe.FindStringSubmatch(page)
	if m == nil || m[1] != "1" {
		t.Fatalf("edit page has no version 1:\n%s", page)
	}
	first := ruleFormValues(csrf, "devs", "all:\n  - {attribute: groups, equals: dev}\n", "PowerUser")
	first.Set("version", "1")
	first.Set("op", "save")
	if rec := ev.do(t, "POST", "/admin/rules/devs", first); rec.Code != http.StatusSeeOther {
		t.Fatalf("first save: %d %s", rec.Code, rec.Body)
	}
	second := ruleFormValues(csrf, "devs", "all:\n  - {attribute: groups, equals: dev}\n", "ReadOnly")
	second.Set("version", "1")
	second.Set("op", "save")
	rec := ev.do(t, "POST", "/admin/rules/devs", second)
	body := html.UnescapeString(rec.Body.String())
	if rec.Code != http.StatusConflict || !strings.Contains(body, "changed by someone else") || !strings.Contains(body, `value="ReadOnly"`) {
		t.Fatalf("second save: %d\n%s", rec.Code, body)
	}
	if r, _ := findRuleIn(ev.rules, "devs"); r.Grant.Role != "PowerUser" || r.Version != 2 {
		t.Fatalf("the first save was lost: %+v", r)
	}

	// History shows both versions with a diff, and revert brings v1 back as v3.
	hist := html.UnescapeString(ev.do(t, "GET", "/admin/rules/devs/history", nil).Body.String())
	if !strings.Contains(hist, `class="ddel">-     role: Developer`) || !strings.Contains(hist, `class="dadd">+     role: PowerUser`) {
		t.Fatalf("history has no diff:\n%s", hist)
	}
	h, _ := ev.db.RuleHistory(context.Background(), "devs")
	rec = ev.do(t, "POST", "/admin/rules/devs/revert", url.Values{"csrf_token": {csrf}, "change": {fmtInt(h[1].ID)}, "version": {"2"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("revert: %d %s", rec.Code, rec.Body)
	}
	if r, _ := findRuleIn(ev.rules, "devs"); r.Grant.Role != "Developer" || r.Version != 3 {
		t.Fatalf("after revert: %+v", r)
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

func TestAdminReorderToggleDeleteAccounts(t *testing.T) {
	ev := newAdminEnv(t)
	csrf := ev.as(t, "ann", adminGroup)
	form := ruleFormValues(csrf, "second", "all:\n  - {attribute: groups, equals: x}\n", "X")
	form.Set("op", "save")
	if rec := ev.do(t, "POST", "/admin/rules/new", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d", rec.Code)
	}
	rev := ev.rules.State().Revision
	// A stale revision is refused.
	if rec := ev.do(t, "POST", "/admin/rules/second/move", url.Values{"csrf_token": {csrf}, "dir": {"up"}, "revision": {fmtInt(rev - 1)}}); rec.Code != http.StatusConflict {
		t.Fatalf("stale move: %d", rec.Code)
	}
	if rec := ev.do(t, "POST", "/admin/rules/second/move", url.Values{"csrf_token": {csrf}, "dir": {"up"}, "revision": {fmtInt(rev)}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("move: %d %s", rec.Code, rec.Body)
	}
	if st := ev.rules.State(); st.Rules[0].Name != "second" {
		t.Fatalf("order %v", st.Rules)
	}
	// Disabling first shows who would lose what, and changes nothing.
	ev.as(t, "bob", "dev")
	csrf = ev.as(t, "ann", adminGroup)
	rec := ev.do(t, "POST", "/admin/rules/devs/toggle", url.Values{"csrf_token": {csrf}, "version": {"1"}})
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, `data-subject="bob"`) || !strings.Contains(body, "role/Developer") {
		t.Fatalf("toggle preview: %d\n%s", rec.Code, body)
	}
	if r, _ := findRuleIn(ev.rules, "devs"); r.Disabled || r.Version != 1 {
		t.Fatal("the preview changed the rule")
	}
	if rec := ev.do(t, "POST", "/admin/rules/devs/toggle", url.Values{"csrf_token": {csrf}, "version": {"1"}, "confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("toggle: %d", rec.Code)
	}
	if r, _ := findRuleIn(ev.rules, "devs"); !r.Disabled {
		t.Fatal("not disabled")
	}
	// The account alias is used by rules: removing it is refused.
	rec = ev.do(t, "POST", "/admin/accounts/"+acct+"/delete", url.Values{"csrf_token": {csrf}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(html.UnescapeString(rec.Body.String()), "sandbox") {
		t.Fatalf("delete used account: %d %s", rec.Code, rec.Body)
	}
	// Adding one works; a duplicate alias is refused with a message.
	if rec := ev.do(t, "POST", "/admin/accounts", url.Values{"csrf_token": {csrf}, "id": {"444455556666"}, "alias": {"prod"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("add account: %d %s", rec.Code, rec.Body)
	}
	rec = ev.do(t, "POST", "/admin/accounts", url.Values{"csrf_token": {csrf}, "id": {"777788889999"}, "alias": {"prod"}})
	if rec.Code != http.StatusConflict && rec.Code != http.StatusBadRequest {
		t.Fatalf("duplicate alias: %d", rec.Code)
	}
	if rec := ev.do(t, "POST", "/admin/rules/devs/delete", url.Values{"csrf_token": {csrf}, "version": {"2"}}); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="confirm"`) {
		t.Fatalf("delete preview: %d", rec.Code)
	}
	if _, ok := findRuleIn(ev.rules, "devs"); !ok {
		t.Fatal("the delete preview deleted the rule")
	}
	if rec := ev.do(t, "POST", "/admin/rules/devs/delete", url.Values{"csrf_token": {csrf}, "version": {"2"}, "confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if _, ok := findRuleIn(ev.rules, "devs"); ok {
		t.Fatal("not deleted")
	}
	if !strings.Contains(ev.do(t, "GET", "/admin/rules", nil).Body.String(), `<a href="/admin/rules/devs/history">devs</a>`) {
		t.Fatal("the deleted rule is not listed for restoring")
	}
	// Restore it from its history page.
	hist := ev.do(t, "GET", "/admin/rules/devs/history", nil).Body.String()
	if !strings.Contains(hist, "Restore this version") {
		t.Fatalf("history of a deleted rule offers no restore:\n%s", hist)
	}
	h, _ := ev.db.RuleHistory(context.Background(), "devs")
	if rec := ev.do(t, "POST", "/admin/rules/devs/revert", url.Values{"csrf_token": {csrf}, "change": {fmtInt(h[2].ID)}, "version": {"0"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("restore: %d %s", rec.Code, rec.Body)
	}
	if r, ok := findRuleIn(ev.rules, "devs"); !ok || r.Disabled || r.Grant.Role != "Developer" {
		t.Fatalf("restored %+v %v", r, ok)
	}
}

func TestAdminAPIWithTokens(t *testing.T) {
	ev := newAdminEnv(t)
	csrf := ev.as(t, "ann", adminGroup)
	rec := ev.do(t, "POST", "/admin/tokens", url.Values{"csrf_token": {csrf}, "name": {"ci"}})
	tok := regexp.MustCompile(`id="token-value">(brk_[^<]+)<`).FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusCreated || tok == nil {
		t.Fatalf("create token: %d\n%s", rec.Code, rec.Body)
	}
	if strings.Contains(ev.do(t, "GET", "/admin/tokens", nil).Body.String(), tok[1]) {
		t.Fatal("the token is shown twice")
	}
	ev.jar = nil // the token alone, no session
	bearer := []string{"Authorization", "Bearer " + tok[1]}

	rec = ev.api(t, "GET", "/api/v1/rules", "", bearer...)
	var got struct {
		Revision int64
		Rules    []struct {
			Name    string
			Version int64
		}
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &got) != nil || len(got.Rules) != 1 || got.Rules[0].Name != "devs" {
		t.Fatalf("GET rules: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.api(t, "GET", "/admin/rules", "", bearer...); rec.Code != http.StatusForbidden {
		t.Fatalf("token on a page: %d", rec.Code)
	}
	// Bad rules: 422 with the rule, field and reason.
	rec = ev.api(t, "POST", "/api/v1/rules", `{"name":"bad","when":{"all":[{"attribute":"g","regex":"("}]},"grant":{"account":"sandbox","role":"X"}}`, bearer...)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"field": "when.all[0].regex"`) {
		t.Fatalf("bad rule: %d %s", rec.Code, rec.Body)
	}
	rec = ev.api(t, "POST", "/api/v1/rules", `{"name":"ops","when":{"all":[{"attribute":"groups","equals":"ops"}]},"grant":{"account":"sandbox","role":"Operator"}}`, bearer...)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	// Update from a stale version: 409, nothing lost.
	rec = ev.api(t, "PUT", "/api/v1/rules/devs", `{"version": 7, "rule": {"when":{"all":[{"attribute":"groups","equals":"dev"}]},"grant":{"account":"sandbox","role":"Y"}}}`, bearer...)
	if rec.Code != http.StatusConflict {
		t.Fatalf("stale update: %d %s", rec.Code, rec.Body)
	}
	// Simulate with claims and with candidate rules.
	rec = ev.api(t, "POST", "/api/v1/simulate", `{"provider":"okta","claims":{"sub":"x","groups":["ops","dev"]}}`, bearer...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "role/Operator") || !strings.Contains(rec.Body.String(), "role/Developer") {
		t.Fatalf("simulate: %d %s", rec.Code, rec.Body)
	}
	rec = ev.api(t, "POST", "/api/v1/simulate", `{"provider":"okta","attributes":{"groups":["ops"]},"rules":[]}`, bearer...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"roles": []`) {
		t.Fatalf("simulate candidate: %d %s", rec.Code, rec.Body)
	}
	rec = ev.api(t, "POST", "/api/v1/simulate", `{"provider":"okta","attributes":{},"bogus":1}`, bearer...)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", rec.Code)
	}
	// Audit as JSON, filtered.
	rec = ev.api(t, "GET", "/api/v1/audit?event=rule_saved", "", bearer...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"Subject": "token:ci"`) {
		t.Fatalf("audit: %d %s", rec.Code, rec.Body)
	}
	// Revoked: 401.
	ev.as(t, "ann", adminGroup)
	toks, _ := ev.db.APITokens(context.Background())
	csrf = ev.as(t, "ann", adminGroup)
	ev.do(t, "POST", "/admin/tokens/"+toks[0].ID+"/delete", url.Values{"csrf_token": {csrf}})
	if rec := ev.api(t, "GET", "/api/v1/rules", "", bearer...); rec.Code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", rec.Code)
	}
	if rec := ev.api(t, "GET", "/api/v1/rules", "", "Authorization", "Bearer nope"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("malformed token: %d", rec.Code)
	}
}

func TestAdminAPIWithSessionNeedsCSRFHeader(t *testing.T) {
	ev := newAdminEnv(t)
	csrf := ev.as(t, "ann", adminGroup)
	body := `{"rules":[]}`
	if rec := ev.api(t, "PUT", "/api/v1/rules", body); rec.Code != http.StatusForbidden {
		t.Fatalf("no header: %d", rec.Code)
	}
	rec := ev.api(t, "PUT", "/api/v1/rules", body, "X-CSRF-Token", csrf)
	if rec.Code != http.StatusOK {
		t.Fatalf("with header: %d %s", rec.Code, rec.Body)
	}
	if len(ev.rules.State().Rules) != 0 {
		t.Fatal("rules not replaced")
	}
}

func TestAdminSimulatorAndAudit(t *testing.T) {
	ev := newAdminEnv(t)
	ev.as(t, "bob", "dev")
	csrf := ev.as(t, "ann", adminGroup)
	rec := ev.do(t, "POST", "/admin/simulate", url.Values{"csrf_token": {csrf}, "source": {"signin"}, "signin": {"okta/bob"}})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "role/Developer") || !strings.Contains(rec.Body.String(), `id="sim-trace"`) {
		t.Fatalf("simulate sign-in: %d\n%s", rec.Code, rec.Body)
	}
	rec = ev.do(t, "POST", "/admin/simulate", url.Values{"csrf_token": {csrf}, "source": {"claims"}, "provider": {"okta"}, "claims": {`{"sub":"z","groups":"nope"}`}})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="sim-no-roles"`) || !strings.Contains(rec.Body.String(), "signature was not checked") {
		t.Fatalf("simulate claims: %d\n%s", rec.Code, rec.Body)
	}
	rec = ev.do(t, "POST", "/admin/simulate", url.Values{"csrf_token": {csrf}, "source": {"saml"}, "provider": {"okta"}, "saml": {"<!DOCTYPE x><Response/>"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "DTD") {
		t.Fatalf("simulate DTD: %d", rec.Code)
	}
	// Audit page filters and CSV export.
	rec = ev.do(t, "GET", "/admin/audit?user=bob&event=signin", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<td>bob") || strings.Contains(rec.Body.String(), "<td>ann") {
		t.Fatalf("audit filter: %d\n%s", rec.Code, rec.Body)
	}
	rec = ev.do(t, "GET", "/admin/audit?event=signin&format=csv", nil)
	csv, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || strings.Count(string(csv), "\n") != 3 || !strings.HasPrefix(string(csv), "id,time,event") {
		t.Fatalf("csv: %d\n%s", rec.Code, csv)
	}
	if rec := ev.do(t, "GET", "/admin/audit?since=yesterday", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad time: %d", rec.Code)
	}
}

func TestAdminSaveWithoutChangeKeepsVersion(t *testing.T) {
	ev := newAdminEnv(t)
	csrf := ev.as(t, "ann", adminGroup)
	r, _ := findRuleIn(ev.rules, "devs")
	form := url.Values{"csrf_token": {csrf}, "op": {"save"}}
	for k, v := range map[string]string{"name": "devs", "when": "all:\n  - {attribute: groups, equals: dev}\n", "grant.account": "sandbox", "grant.role": "Developer", "grant.label": "Developer", "version": "1"} {
		form.Set(k, v)
	}
	rec := ev.do(t, "POST", "/admin/rules/devs", form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	if r2, _ := findRuleIn(ev.rules, "devs"); r2.Version != r.Version {
		t.Fatalf("an unchanged save made version %d", r2.Version)
	}
	if !strings.Contains(ev.do(t, "GET", "/admin/rules", nil).Body.String(), "unchanged") {
		t.Fatal("no message for an unchanged save")
	}
}

func TestAdminConditionRows(t *testing.T) {
	ev := newAdminEnv(t)
	csrf := ev.as(t, "ann", adminGroup)
	// The seeded rule is flat: its edit page shows rows, not YAML.
	page := ev.do(t, "GET", "/admin/rules/devs", nil).Body.String()
	if !strings.Contains(page, `id="cond-0-attribute" name="cond.attribute" value="groups"`) || !strings.Contains(page, `id="cond-0-value" name="cond.value" value="dev"`) || strings.Contains(page, `id="when"`) {
		t.Fatalf("edit page of a flat rule:\n%s", page)
	}
	base := func(op string) url.Values {
		return url.Values{"csrf_token": {csrf}, "name": {"ops"}, "when_mode": {"rows"}, "match": {"any"}, "op": {op},
			"cond.attribute": {"groups", "", "email"}, "cond.op": {"regex", "equals", "suffix"},
			"cond.value": {"(ops", "", "@ops.example.com"}, "cond.case": {"", "", "ignore"},
			"grant.account": {"sandbox"}, "grant.role": {"Operator"}}
	}
	// An error in the first row is shown on that row.
	rec := ev.do(t, "POST", "/admin/rules/new", base("save"))
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="cond-0-err"`) || !strings.Contains(body, `aria-describedby="cond-0-err"`) {
		t.Fatalf("row error: %d\n%s", rec.Code, body)
	}
	// The blank middle row is dropped; the third row becomes the second and
	// an error in it would be reported there.
	form := base("save")
	form["cond.value"][0] = "^ops$"
	form["cond.op"][2] = "regex"
	form["cond.value"][2] = "[unclosed"
	rec = ev.do(t, "POST", "/admin/rules/new", form)
	if body := rec.Body.String(); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="cond-1-err"`) || strings.Contains(body, `id="cond-0-err"`) {
		t.Fatalf("second-row error: %d\n%s", rec.Code, body)
	}
	form = base("save")
	form["cond.value"][0] = "^ops$"
	if rec := ev.do(t, "POST", "/admin/rules/new", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	r, _ := findRuleIn(ev.rules, "ops")
	if len(r.When.Any) != 2 || r.When.Any[0].Regex != "^ops$" || r.When.Any[1].Suffix != "@ops.example.com" || !r.When.Any[1].IgnoreCase || len(r.When.All) != 0 {
		t.Fatalf("saved conditions %+v", r.When)
	}
	// Add a row; switch to YAML and back.
	rec = ev.do(t, "POST", "/admin/rules/ops", base("add-row"))
	if !strings.Contains(rec.Body.String(), `id="cond-3-attribute"`) {
		t.Fatalf("add row: %d", rec.Code)
	}
	rec = ev.do(t, "POST", "/admin/rules/ops", base("to-yaml"))
	if body := html.UnescapeString(rec.Body.String()); rec.Code != 200 || !strings.Contains(body, "any:") || !strings.Contains(body, "regex: (ops") || !strings.Contains(body, `name="when_mode" value="yaml"`) {
		t.Fatalf("to yaml: %d\n%s", rec.Code, body)
	}
	nested := url.Values{"csrf_token": {csrf}, "when_mode": {"yaml"}, "op": {"to-rows"}, "grant.account": {"sandbox"}, "grant.role": {"Operator"},
		"when": {"all:\n  - any:\n      - {attribute: groups, equals: a}\n      - {attribute: groups, equals: b}\n"}}
	if rec := ev.do(t, "POST", "/admin/rules/ops", nested); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "only YAML") {
		t.Fatalf("nested to rows: %d", rec.Code)
	}
	nested.Set("op", "save")
	nested.Set("version", "1")
	if rec := ev.do(t, "POST", "/admin/rules/ops", nested); rec.Code != http.StatusSeeOther {
		t.Fatalf("save nested: %d %s", rec.Code, rec.Body)
	}
	// A nested rule opens in YAML.
	if page := ev.do(t, "GET", "/admin/rules/ops", nil).Body.String(); !strings.Contains(page, `id="when"`) || strings.Contains(page, `id="cond-0-attribute"`) {
		t.Fatal("a nested rule does not open in YAML")
	}
}
