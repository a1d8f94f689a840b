package portal_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
	"github.com/broker-dev/broker/web/portal"
)

// scaleAccount is the id of the i-th account of a scale env.
func scaleAccount(i int) string { return fmt.Sprintf("%012d", 100000000000+i) }

// newScaleEnv is the admin env with n roles for group dev: two per
// account (Administrator and ReadOnly), the accounts aliased team-NNN and
// labelled "Team NNN"; the Administrator rules ask for 8 h.
func newScaleEnv(t testing.TB, n int) *webtest.AdminEnv {
	t.Helper()
	ev := webtest.NewAdminEnv(t)
	ctx := context.Background()
	var named []store.NamedRule
	for i := range n / 2 {
		alias := fmt.Sprintf("team-%03d", i)
		if err := ev.DB.PutAccount(ctx, store.Account{ID: scaleAccount(i), Alias: alias, Label: fmt.Sprintf("Team %03d", i)}, "test"); err != nil {
			t.Fatal(err)
		}
		when := mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}}
		admin := mapping.Rule{Name: alias + "-admin", When: when, Grant: mapping.GrantSpec{Account: alias, Role: "Admin", Label: "Administrator",
			Duration: mapping.Duration(8 * time.Hour)}}
		ro := mapping.Rule{Name: alias + "-ro", When: when, Grant: mapping.GrantSpec{Account: alias, Role: "ReadOnly", Label: "Read only"}}
		named = append(named, store.NamedRule{Name: admin.Name, Rule: ruleset.Encode(admin)}, store.NamedRule{Name: ro.Name, Rule: ruleset.Encode(ro)})
	}
	rev, err := ev.DB.RulesRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.DB.ReplaceRules(ctx, named, rev, "test"); err != nil {
		t.Fatal(err)
	}
	if err := ev.Rules.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	return ev
}

var (
	// roleCardRe finds the cards in the accounts' lists: their account's
	// search text, then the grant, label and role name of each.
	accountRe  = regexp.MustCompile(`(?s)<details data-search="([^"]*)"[^>]*>.*?</details>`)
	roleCardRe = regexp.MustCompile(`<li><button name="grant" value="([^"]*)"><b>([^<]*)</b>(?: <small>([^<]*)</small>)?`)
	pinnedRe   = regexp.MustCompile(`(?s)<section class="card role-group" id="pinned".*?</section>`)
	recentRe   = regexp.MustCompile(`(?s)<section class="card role-group" id="recent".*?</section>`)
	todayRe    = regexp.MustCompile(`(?s)<details class="card" id="today">.*?</details>`)
)

// card is a role card of an account's list.
type card struct{ grant, search string }

// accountCards lists the cards of the accounts' lists, each with the text
// a search matches (its account's and its own).
func accountCards(page string) []card {
	var out []card
	for _, a := range accountRe.FindAllStringSubmatch(page, -1) {
		for _, m := range roleCardRe.FindAllStringSubmatch(a[0], -1) {
			text := html.UnescapeString(a[1] + " " + m[2] + " " + m[3])
			out = append(out, card{grant: html.UnescapeString(m[1]), search: strings.ToLower(text)})
		}
	}
	return out
}

// grantOf finds the grant key of role (Administrator or ReadOnly) in the
// account with alias on a portal page.
func grantOf(t testing.TB, page, acct, roleARNSuffix string) string {
	t.Helper()
	re := regexp.MustCompile(`name="grant" value="(arn:aws:iam::` + acct + `:role/` + roleARNSuffix + `[^"]*)"`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no grant for %s %s on the page", acct, roleARNSuffix)
	}
	return html.UnescapeString(m[1])
}

func TestPortalSearchFiltersOnTheServer(t *testing.T) {
	ev := newScaleEnv(t, 40)
	ev.As(t, "alice", "dev")
	all := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	if n := len(accountCards(all)); n != 40 {
		t.Fatalf("%d role cards without a search, want 40", n)
	}
	for _, tt := range []struct {
		name, q string
		want    int
		has     string
	}{
		{"account id", scaleAccount(7), 2, "team-007"},
		{"alias", "team-013", 2, scaleAccount(13)},
		{"account label and role, any order, any case", "read team 019", 1, scaleAccount(19)},
		{"role label", "administrator", 20, ""},
		{"role name", "readonly", 20, ""},
		{"nothing", "no-such-thing", 0, `id="no-match"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := ev.Do(t, http.MethodGet, "/?q="+url.QueryEscape(tt.q), nil)
			body := rec.Body.String()
			cards := accountCards(body)
			if rec.Code != http.StatusOK || len(cards) != tt.want {
				t.Fatalf("%d, %d cards for %q, want %d", rec.Code, len(cards), tt.q, tt.want)
			}
			for _, c := range cards {
				for _, w := range strings.Fields(strings.ToLower(tt.q)) {
					if !strings.Contains(c.search, w) {
						t.Errorf("card %q (%q) does not match %q", c.grant, c.search, w)
					}
				}
			}
			if tt.has != "" && !strings.Contains(body, tt.has) {
				t.Errorf("page lacks %q", tt.has)
			}
			if !strings.Contains(body, `value="`+html.EscapeString(tt.q)+`"`) {
				t.Error("the search box does not keep the query")
			}
		})
	}
}

func TestFavouritesPersistAcrossSignIns(t *testing.T) {
	ev := newScaleEnv(t, 40)
	csrf := ev.As(t, "alice", "dev")
	page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	if pinnedRe.MatchString(page) {
		t.Fatal("a pinned section before any pin")
	}
	key := grantOf(t, page, scaleAccount(17), "ReadOnly")
	rec := ev.Do(t, http.MethodPost, "/favourites", url.Values{"csrf_token": {csrf}, "grant": {key}, "pin": {"1"}, "q": {"team"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/?q=team" {
		t.Fatalf("pin: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// Sign out, and in again: the pin is the person's, kept server-side.
	if rec := ev.Do(t, http.MethodPost, "/logout", url.Values{"csrf_token": {csrf}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", rec.Code)
	}
	csrf = ev.As(t, "alice", "dev")
	pinned := pinnedRe.FindString(ev.Do(t, http.MethodGet, "/", nil).Body.String())
	if !strings.Contains(pinned, html.EscapeString(key)) || strings.Count(pinned, `name="grant"`) != 1 || !strings.Contains(pinned, ">Unpin<") {
		t.Fatalf("after signing in again the pinned section is %q", pinned)
	}
	// Someone else does not see alice's pins (nor her cards, kept for
	// reuse: a pinned card is another card).
	ev.As(t, "bob", "dev")
	if bob := ev.Do(t, http.MethodGet, "/", nil).Body.String(); pinnedRe.MatchString(bob) || strings.Contains(bob, `name="unpin"`) {
		t.Error("bob sees alice's pins")
	}
	// Unpin.
	csrf = ev.As(t, "alice", "dev")
	ev.Do(t, http.MethodPost, "/favourites", url.Values{"csrf_token": {csrf}, "grant": {key}, "pin": {"0"}})
	if pinnedRe.MatchString(ev.Do(t, http.MethodGet, "/", nil).Body.String()) {
		t.Error("still pinned after unpin")
	}
}

// The page is one form for its roles (the CSRF token once, not per card),
// and a card's pin button posts its pin reference to the form "pins":
// pressing it pins the role, and the pinned card's button unpins it.
func TestPinButtons(t *testing.T) {
	ev := newScaleEnv(t, 40)
	ev.As(t, "alice", "dev")
	page := ev.Do(t, http.MethodGet, "/?q=team", nil).Body.String()
	if n := strings.Count(page, `action="/console"`); n != 1 {
		t.Fatalf("%d forms post to /console, want 1", n)
	}
	if n := strings.Count(page, `name="csrf_token"`); n != 3 {
		t.Fatalf("the CSRF token is %d times on the page, want 3 (sign out, pins, roles)", n)
	}
	pins := regexp.MustCompile(`(?s)<form method="post" action="/favourites" id="pins">.*?</form>`).FindString(page)
	csrf := webtest.CSRFRe.FindStringSubmatch(pins)
	if csrf == nil || !strings.Contains(pins, `name="q" value="team"`) {
		t.Fatalf("the pins form %q", pins)
	}
	key := grantOf(t, page, scaleAccount(3), "Admin")
	pinRe := regexp.MustCompile(regexp.QuoteMeta(`<li><button name="grant" value="`+html.EscapeString(key)+`">`) + `.*\n.*<button form="pins" name="(un)?pin" value="([^"]+)">`)
	m := pinRe.FindStringSubmatch(page)
	if m == nil || m[1] != "" {
		t.Fatalf("the card of %s has no pin button: %q", key, m)
	}
	rec := ev.Do(t, http.MethodPost, "/favourites", url.Values{"csrf_token": {csrf[1]}, "q": {"team"}, "pin": {m[2]}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/?q=team" {
		t.Fatalf("pin: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if favs, _ := ev.DB.Favourites(context.Background(), "okta", "alice"); len(favs) != 1 || favs[0] != key {
		t.Fatalf("pinned %q, want %q", favs, key)
	}
	page = ev.Do(t, http.MethodGet, "/", nil).Body.String()
	if m := pinRe.FindStringSubmatch(page); m == nil || m[1] != "un" {
		t.Fatalf("the pinned card has no unpin button: %q", m)
	}
	ev.Do(t, http.MethodPost, "/favourites", url.Values{"csrf_token": {csrf[1]}, "unpin": {m[2]}})
	if favs, _ := ev.DB.Favourites(context.Background(), "okta", "alice"); len(favs) != 0 {
		t.Fatalf("still pinned: %q", favs)
	}
	for _, form := range []url.Values{{"pin": {"AAAAAAAA"}}, {"pin": {m[2] + "x"}}, {"unpin": {""}}, {}} {
		form.Set("csrf_token", csrf[1])
		if rec := ev.Do(t, http.MethodPost, "/favourites", form); rec.Code != http.StatusForbidden {
			t.Errorf("%v: %d, want 403", form, rec.Code)
		}
	}
}

func TestPinRefusals(t *testing.T) {
	ev := newScaleEnv(t, 4)
	csrf := ev.As(t, "alice", "dev")
	key := grantOf(t, ev.Do(t, http.MethodGet, "/", nil).Body.String(), scaleAccount(1), "Admin")
	for _, tt := range []struct {
		name string
		form url.Values
		want int
	}{
		{"no CSRF token", url.Values{"grant": {key}, "pin": {"1"}}, http.StatusForbidden},
		{"wrong CSRF token", url.Values{"csrf_token": {"x" + csrf}, "grant": {key}, "pin": {"1"}}, http.StatusForbidden},
		{"not the person's role", url.Values{"csrf_token": {csrf}, "grant": {"arn:aws:iam::999999999999:role/Admin|arn:aws:iam::999999999999:saml-provider/broker|"}, "pin": {"1"}}, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if rec := ev.Do(t, http.MethodPost, "/favourites", tt.form); rec.Code != tt.want {
				t.Fatalf("%d, want %d", rec.Code, tt.want)
			}
			if favs, _ := ev.DB.Favourites(context.Background(), "okta", "alice"); len(favs) != 0 {
				t.Fatalf("pinned %q", favs)
			}
		})
	}
}

// An opened role is at the top under "Recently used", is listed among
// today's console sessions with its end, and its card says what AWS gave
// (1 h) rather than what the rule asks (8 h).
func TestRecentRolesAndTodaysSessions(t *testing.T) {
	ev := newScaleEnv(t, 40)
	csrf := ev.As(t, "alice", "dev")
	page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	if recentRe.MatchString(page) || todayRe.MatchString(page) {
		t.Fatal("recent roles before any was opened")
	}
	key := grantOf(t, page, scaleAccount(5), "Admin")
	rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {key}})
	if rec.Code != http.StatusFound {
		t.Fatalf("console: %d %s", rec.Code, rec.Body)
	}
	page = ev.Do(t, http.MethodGet, "/", nil).Body.String()
	recent := recentRe.FindString(page)
	if strings.Count(recent, `name="grant"`) != 1 || !strings.Contains(recent, html.EscapeString(key)) || !strings.Contains(recent, "Team 005") {
		t.Fatalf("recently used: %q", recent)
	}
	if !strings.Contains(recent, "credentials 1 h (what AWS allowed last time; the rule asks 8 h)") {
		t.Errorf("the card does not say what the person gets: %q", recent)
	}
	if i, j := strings.Index(page, `id="recent"`), strings.Index(page, `id="accounts"`); i < 0 || i > j {
		t.Error("recently used roles are not above the accounts")
	}
	today := todayRe.FindString(page)
	if !strings.Contains(today, "Administrator in Team 005: opened ") || !strings.Contains(today, " UTC, ends ") || !strings.Contains(today, "(1)") {
		t.Errorf("today's console sessions: %q", today)
	}
	// Another person has no recents of alice's.
	ev.As(t, "bob", "dev")
	if recentRe.MatchString(ev.Do(t, http.MethodGet, "/", nil).Body.String()) {
		t.Error("bob sees alice's recent roles")
	}
}

// The copy link of a role is its /go link (relative: the browser and
// portal.js make it absolute on the portal's URL), and following it opens
// that very role.
func TestCopyLinkOpensTheRole(t *testing.T) {
	ev := newScaleEnv(t, 40)
	ev.As(t, "alice", "dev")
	page := ev.Do(t, http.MethodGet, "/?q=team-011+read", nil).Body.String()
	m := goLinkRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no copy link")
	}
	link := html.UnescapeString(m[1])
	if want := "/go?account=team-011&role=ReadOnly"; link != want {
		t.Fatalf("copy link %q, want %q", link, want)
	}
	u, _ := url.Parse(link)
	rec := ev.Do(t, http.MethodGet, u.RequestURI(), nil, "Sec-Fetch-Site", "none")
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "https://signin.aws.amazon.com/") {
		t.Fatalf("following the link: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	evs, _ := ev.DB.ListAudit(context.Background(), store.AuditFilter{Event: "role_assumed", Subject: "alice"})
	if len(evs) != 1 || evs[0].RoleARN != "arn:aws:iam::"+scaleAccount(11)+":role/ReadOnly" {
		t.Fatalf("the link opened %+v", evs)
	}
}

// BenchmarkPortal1000Roles renders the portal of a person with 1,000
// roles in 500 accounts (a pin and a recent role included) and reports
// the page's size and the process's CPU time per page (cpu-ms/op, GC
// included). Run it with
//
//	go test -run '^$' -bench Portal1000Roles -benchmem ./web/portal
func BenchmarkPortal1000Roles(b *testing.B) {
	ev := newScaleEnv(b, 1000)
	csrf := ev.As(b, "alice", "dev")
	page := ev.Do(b, http.MethodGet, "/", nil).Body.String()
	key := grantOf(b, page, scaleAccount(250), "Admin")
	ev.Do(b, http.MethodPost, "/favourites", url.Values{"csrf_token": {csrf}, "grant": {key}, "pin": {"1"}})
	ev.Do(b, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {grantOf(b, page, scaleAccount(400), "ReadOnly")}})
	benchPortalPage(b, ev)
	if n := len(accountCards(page)); n != 1000 {
		b.Fatalf("%d cards", n)
	}
}

// BenchmarkPortalBusyDay renders the portal of a person who opened
// consoles 300 times today across 20 roles (the whole-login load test
// signs one person in again and again, and a busy engineer or a script
// behind the portal does too). The page reads the person's latest
// openings and lists today's; it reports the process's CPU time per page
// (cpu-ms/op, GC included) and the page's size:
//
//	go test -run '^$' -bench PortalBusyDay -benchmem ./web/portal
func BenchmarkPortalBusyDay(b *testing.B) {
	ev := newScaleEnv(b, 20)
	csrf := ev.As(b, "alice", "dev")
	page := ev.Do(b, http.MethodGet, "/", nil).Body.String()
	var grants []string
	for i := range 10 {
		grants = append(grants, grantOf(b, page, scaleAccount(i), "Admin"), grantOf(b, page, scaleAccount(i), "ReadOnly"))
	}
	for i := range 300 {
		if rec := ev.Do(b, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {grants[i%len(grants)]}}); rec.Code != http.StatusSeeOther && rec.Code != http.StatusFound {
			b.Fatalf("opening %d: %d", i, rec.Code)
		}
	}
	b.ReportAllocs()
	benchPortalPage(b, ev)
}

// benchPortalPage renders the signed-in person's portal page b.N times
// and reports the process's CPU time per page (cpu-ms/op, GC included)
// and the page's size.
func benchPortalPage(b *testing.B, ev *webtest.AdminEnv) {
	var size int
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		rec := ev.Do(b, http.MethodGet, "/", nil)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(size), "html-bytes")
}

// TestTodaysSessionsBounded: a person who opened more console sessions
// today than the page lists sees the newest portal.MaxToday, newest first, and
// the count of all of them; once the history read ends inside today the
// count says "at least".
func TestTodaysSessionsBounded(t *testing.T) {
	ev := newScaleEnv(t, 40)
	csrf := ev.As(t, "alice", "dev")
	page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	open := func(n int) {
		t.Helper()
		for i := range n {
			key := grantOf(t, page, scaleAccount(i%20), "Admin")
			if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {key}}); rec.Code != http.StatusFound {
				t.Fatalf("console %d: %d %s", i, rec.Code, rec.Body)
			}
		}
	}
	listed := regexp.MustCompile(`<li>Administrator in (Team \d+): opened `)
	open(portal.MaxToday + 5)
	today := todayRe.FindString(ev.Do(t, http.MethodGet, "/", nil).Body.String())
	items := listed.FindAllStringSubmatch(today, -1)
	if len(items) != portal.MaxToday || !strings.Contains(today, fmt.Sprintf("(%d)", portal.MaxToday+5)) || !strings.Contains(today, fmt.Sprintf("The latest %d are listed.", portal.MaxToday)) {
		t.Fatalf("%d listed of %d opened: %q", len(items), portal.MaxToday+5, today)
	}
	// Newest first: the last opened was Team 004 ((portal.MaxToday+4) % 20).
	if items[0][1] != "Team 004" || items[1][1] != "Team 003" {
		t.Errorf("not newest first: %q, %q", items[0][1], items[1][1])
	}
	open(portal.HistoryEvents - portal.MaxToday)
	today = todayRe.FindString(ev.Do(t, http.MethodGet, "/", nil).Body.String())
	if n := len(listed.FindAllString(today, -1)); n != portal.MaxToday || !strings.Contains(today, fmt.Sprintf("(at least %d)", portal.HistoryEvents)) {
		t.Fatalf("%d listed, past the history read: %q", n, today)
	}
}
