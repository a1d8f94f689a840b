package portal_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// browser signs subject in with a fresh jar from user agent ua and
// returns that browser's cookies and CSRF token.
func browser(t *testing.T, ev *webtest.Env, subject, ua string) ([]*http.Cookie, string) {
	t.Helper()
	res := *ev.SP.Result
	res.Identity.Subject = subject
	ev.SP.Result = &res
	ev.Jar = nil
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}}, "User-Agent", ua)
	if rec.Code == http.StatusSeeOther && rec.Header().Get("Location") == "/arrive" {
		rec = ev.Do(t, http.MethodGet, "/arrive", nil, "User-Agent", ua)
	}
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("ACS: %d %s", rec.Code, rec.Body)
	}
	m := webtest.CSRFRe.FindStringSubmatch(ev.Do(t, http.MethodGet, "/", nil).Body.String())
	if m == nil {
		t.Fatal("the portal has no CSRF token")
	}
	return ev.Jar, m[1]
}

// portalAs reports whether the browser with jar is signed in.
func portalAs(t *testing.T, ev *webtest.Env, jar []*http.Cookie) bool {
	t.Helper()
	ev.Jar = jar
	return strings.Contains(ev.Do(t, http.MethodGet, "/", nil).Body.String(), "Your AWS roles")
}

// auditOf returns the audit events named event.
func auditOf(ev *webtest.Env, event string) []store.AuditEvent {
	var out []store.AuditEvent
	for _, e := range ev.Audit.Events {
		if e.Event == event {
			out = append(out, e)
		}
	}
	return out
}

func TestOwnSessionsAndSignOutEverywhereElse(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	phone, _ := browser(t, ev, "alice", "alice-phone")
	tablet, _ := browser(t, ev, "alice", "alice-tablet")
	bob, _ := browser(t, ev, "bob", "bob-laptop")
	laptop, csrf := browser(t, ev, "alice", "alice-laptop")
	hLaptop := access.Handle(ev.SessionID("alice", "alice-laptop"))

	// The portal links to the list; the list shows alice's three sessions,
	// this one marked, and no one else's.
	ev.Jar = laptop
	if !strings.Contains(ev.Do(t, http.MethodGet, "/", nil).Body.String(), `<a href="/sessions" id="sessions-link">`) {
		t.Error("the portal does not link to /sessions")
	}
	rec := ev.Do(t, http.MethodGet, "/sessions", nil)
	page := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("/sessions: %d\n%s", rec.Code, page)
	}
	for _, want := range []string{"alice-phone", "alice-tablet", "alice-laptop", `id="end-others"`, `id="end-all"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the list lacks %s", want)
		}
	}
	if strings.Contains(page, "bob-laptop") {
		t.Error("the list shows another person's session")
	}
	if !strings.Contains(page, `<tr id="session-`+hLaptop+`" class="current">`) || strings.Count(page, `id="this-browser"`) != 1 {
		t.Errorf("this browser is not the one marked:\n%s", page)
	}
	for id := range ev.SessionStore.Snapshot() {
		if strings.Contains(page, id) {
			t.Error("the page shows a session id")
		}
	}

	// Sign out everywhere else: the laptop stays, the phone and tablet go,
	// bob is untouched.
	if rec := ev.Do(t, http.MethodPost, "/sessions/end-others", url.Values{}); rec.Code != http.StatusForbidden {
		t.Fatalf("without CSRF: %d", rec.Code)
	}
	if !portalAs(t, ev, phone) {
		t.Fatal("a refused request ended a session")
	}
	ev.Jar = laptop
	rec = ev.Do(t, http.MethodPost, "/sessions/end-others", url.Values{"csrf_token": {csrf}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/sessions" {
		t.Fatalf("end others: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	page = ev.Do(t, http.MethodGet, "/sessions", nil).Body.String()
	if want := "Signed out of 2 other sessions. This browser stays signed in."; !strings.Contains(page, want) {
		t.Errorf("no flash %q:\n%s", want, page)
	}
	if strings.Contains(page, "alice-phone") || !strings.Contains(page, "alice-laptop") || strings.Contains(page, `id="end-others"`) {
		t.Errorf("the list after signing out elsewhere:\n%s", page)
	}
	laptop = ev.Jar
	if !portalAs(t, ev, laptop) || portalAs(t, ev, phone) || portalAs(t, ev, tablet) || !portalAs(t, ev, bob) {
		t.Error("sign out everywhere else ended the wrong sessions")
	}
	evs := auditOf(ev, "sessions_ended")
	if len(evs) != 1 || evs[0].Subject != "alice" || evs[0].Provider != "okta" || evs[0].Details["by"] != "okta/alice" ||
		evs[0].Details["count"] != "2" || evs[0].Details["kept"] != hLaptop || evs[0].UserAgent != "" {
		t.Fatalf("audit %+v", evs)
	}
}

func TestSignOutEverywhere(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	phone, _ := browser(t, ev, "alice", "alice-phone")
	bob, _ := browser(t, ev, "bob", "bob-laptop")
	laptop, csrf := browser(t, ev, "alice", "alice-laptop")

	ev.Jar = laptop
	rec := ev.Do(t, http.MethodPost, "/sessions/end-all", url.Values{"csrf_token": {csrf}}, "User-Agent", "alice-laptop")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("end all: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// The cookie no longer names a session; the sign-in page says why.
	page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	if want := "You are signed out everywhere (2 sessions ended)."; !strings.Contains(html.UnescapeString(page), want) || !strings.Contains(page, `id="providers"`) {
		t.Errorf("after sign out everywhere, want the sign-in page with %q:\n%s", want, page)
	}
	laptop = ev.Jar
	if portalAs(t, ev, laptop) || portalAs(t, ev, phone) || !portalAs(t, ev, bob) {
		t.Error("sign out everywhere ended the wrong sessions")
	}
	if ev.SessionID("alice", "alice-laptop") != "" || ev.SessionID("alice", "alice-phone") != "" {
		t.Error("alice's sessions are still stored")
	}
	evs := auditOf(ev, "sessions_ended")
	if len(evs) != 1 || evs[0].Details["count"] != "2" || evs[0].Details["by"] != "okta/alice" || evs[0].Details["kept"] != "" || evs[0].UserAgent != "alice-laptop" {
		t.Fatalf("audit %+v", evs)
	}

	// Signed out: the list sends the browser to sign in, the forms refuse.
	ev.Jar = laptop
	if rec := ev.Do(t, http.MethodGet, "/sessions", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Errorf("/sessions signed out: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := ev.Do(t, http.MethodPost, "/sessions/end-all", url.Values{"csrf_token": {csrf}}); rec.Code == http.StatusSeeOther {
		t.Errorf("end all signed out: %d", rec.Code)
	}
}
