package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// signedIn reports whether the browser with jar is signed in to the
// portal (its next request carries a live session).
func signedIn(t *testing.T, ev *webtest.AdminEnv, jar []*http.Cookie) bool {
	t.Helper()
	keep := ev.Jar
	defer func() { ev.Jar = keep }()
	ev.Jar = jar
	body := ev.Do(t, "GET", "/", nil).Body.String()
	return strings.Contains(body, `id="user"`) && !strings.Contains(body, `id="providers"`)
}

// noSessionID fails when a page shows any session id (only handles may
// appear).
func noSessionID(t *testing.T, ev *webtest.AdminEnv, what, body string) {
	t.Helper()
	for id := range ev.SessionStore.Snapshot() {
		if strings.Contains(body, id) {
			t.Errorf("%s shows a session id", what)
		}
	}
}

func TestAdminListsAndEndsSessions(t *testing.T) {
	ctx := context.Background()
	ev := webtest.NewAdminEnv(t)
	ev.AsBrowser(t, "carol-laptop", "carol", "dev")
	laptop := ev.Jar
	ev.AsBrowser(t, "carol-phone", "carol", "dev")
	phone := ev.Jar
	ev.AsBrowser(t, "dave-laptop", "dave", "dev")
	dave := ev.Jar
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	hLaptop, hPhone := access.Handle(ev.SessionID("carol", "carol-laptop")), access.Handle(ev.SessionID("carol", "carol-phone"))
	hDave := access.Handle(ev.SessionID("dave", "dave-laptop"))

	// The list: carol's two sessions with where they came from, not dave's.
	rec := ev.Do(t, "GET", "/admin/sessions?provider=okta&subject=carol", nil)
	page := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("list: %d\n%s", rec.Code, page)
	}
	for _, want := range []string{`id="session-` + hLaptop + `"`, `id="session-` + hPhone + `"`, "carol-laptop", "carol-phone", "192.0.2.1",
		`<option value="okta" selected>okta</option>`, "End all sessions of this person", `<a href="/admin/sessions" aria-current="page">Sessions</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the list lacks %s", want)
		}
	}
	if strings.Contains(page, hDave) || strings.Contains(page, "dave-laptop") {
		t.Error("the list shows another person's session")
	}
	noSessionID(t, ev, "the admin list", page)

	// End the laptop's: that browser is signed out at its next request,
	// the phone is not.
	rec = ev.Do(t, "POST", "/admin/sessions/end", url.Values{"csrf_token": {csrf}, "provider": {"okta"}, "subject": {"carol"}, "handle": {hLaptop}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/sessions?provider=okta&subject=carol" {
		t.Fatalf("end: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	page = ev.Do(t, "GET", rec.Header().Get("Location"), nil).Body.String()
	if want := "Ended session " + hLaptop + " of carol (okta). They are signed out at their next request; AWS console sessions already opened last until they expire."; !strings.Contains(page, want) {
		t.Errorf("no flash %q in\n%s", want, page)
	}
	if strings.Contains(page, `id="session-`+hLaptop+`"`) || !strings.Contains(page, `id="session-`+hPhone+`"`) {
		t.Error("the list after the end is wrong")
	}
	if signedIn(t, ev, laptop) {
		t.Error("the ended session still works")
	}
	if !signedIn(t, ev, phone) {
		t.Error("the other session was ended too")
	}
	evs, _ := ev.DB.ListAudit(ctx, store.AuditFilter{Event: "session_ended"})
	if len(evs) != 1 || evs[0].Provider != "okta" || evs[0].Subject != "carol" || evs[0].Details["by"] != "okta/ann" || evs[0].Details["handle"] != hLaptop {
		t.Fatalf("session_ended audit %+v", evs)
	}

	// Ending it again says it is gone.
	rec = ev.Do(t, "POST", "/admin/sessions/end", url.Values{"csrf_token": {csrf}, "provider": {"okta"}, "subject": {"carol"}, "handle": {hLaptop}})
	if page := ev.Do(t, "GET", rec.Header().Get("Location"), nil).Body.String(); !strings.Contains(page, "That session has already ended.") {
		t.Errorf("ending an ended session: %d\n%s", rec.Code, page)
	}

	// End all: the phone goes too, dave stays.
	rec = ev.Do(t, "POST", "/admin/sessions/end-all", url.Values{"csrf_token": {csrf}, "provider": {"okta"}, "subject": {"carol"}})
	page = ev.Do(t, "GET", rec.Header().Get("Location"), nil).Body.String()
	if want := "Ended 1 session of carol (okta). They are signed out"; rec.Code != http.StatusSeeOther || !strings.Contains(page, want) || !strings.Contains(page, `id="no-sessions"`) {
		t.Errorf("end all: %d, want %q and an empty list\n%s", rec.Code, want, page)
	}
	if signedIn(t, ev, phone) || !signedIn(t, ev, dave) {
		t.Error("end all ended the wrong sessions")
	}
	evs, _ = ev.DB.ListAudit(ctx, store.AuditFilter{Event: "sessions_ended"})
	if len(evs) != 1 || evs[0].Subject != "carol" || evs[0].Details["count"] != "1" || evs[0].Details["by"] != "okta/ann" {
		t.Fatalf("sessions_ended audit %+v", evs)
	}
	rec = ev.Do(t, "POST", "/admin/sessions/end-all", url.Values{"csrf_token": {csrf}, "provider": {"okta"}, "subject": {"carol"}})
	if page := ev.Do(t, "GET", rec.Header().Get("Location"), nil).Body.String(); !strings.Contains(page, "carol (okta) had no live sessions; none ended.") {
		t.Errorf("end all of nobody:\n%s", page)
	}
}

func TestAdminSessionsPageRefusals(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	// The bare page is the lookup form.
	rec := ev.Do(t, "GET", "/admin/sessions", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="session-lookup"`) || strings.Contains(rec.Body.String(), `id="sessions"`) {
		t.Fatalf("bare page: %d", rec.Code)
	}
	// The admin's own session is marked as theirs.
	if page := ev.Do(t, "GET", "/admin/sessions?provider=okta&subject=ann", nil).Body.String(); !strings.Contains(page, `id="session-current"`) {
		t.Error("the admin's own session is not marked")
	}
	// Half a person, or a subject too long: 400 saying what to send.
	for _, q := range []string{"provider=okta", "subject=carol", "provider=okta&subject=" + strings.Repeat("x", 1001)} {
		rec := ev.Do(t, "GET", "/admin/sessions?"+q, nil)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `id="form-problem"`) || !strings.Contains(rec.Body.String(), "provider and subject") {
			t.Errorf("%s: %d", q, rec.Code)
		}
	}
	rec = ev.Do(t, "POST", "/admin/sessions/end-all", url.Values{"csrf_token": {csrf}, "provider": {"okta"}})
	if rec.Code != http.StatusBadRequest {
		t.Errorf("end all without subject: %d", rec.Code)
	}
	rec = ev.Do(t, "POST", "/admin/sessions/end", url.Values{"csrf_token": {csrf}, "subject": {"ann"}, "handle": {"x"}})
	if rec.Code != http.StatusBadRequest {
		t.Errorf("end without provider: %d", rec.Code)
	}
	if !signedIn(t, ev, ev.Jar) {
		t.Error("a refused request ended the admin's session")
	}
}
