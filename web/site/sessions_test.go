package site_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// A session id is a bearer secret: no page or JSON answer shows one, of a
// live session or an ended one; the handle stands for it everywhere.
func TestSessionIDNeverShown(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	carolCSRF := ev.AsBrowser(t, "carol-laptop", "carol", "dev")
	carol := ev.Jar
	ev.AsBrowser(t, "carol-phone", "carol", "dev")
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	ann := ev.Jar
	ids := ev.SessionStore.Snapshot() // every id, kept past the ends below
	phone := ev.SessionID("carol", "carol-phone")
	hPhone := access.Handle(phone)

	// End one, so the audit log holds a handle.
	if rec := ev.Do(t, "POST", "/admin/sessions/end", url.Values{"csrf_token": {csrf}, "provider": {"okta"}, "subject": {"carol"}, "handle": {hPhone}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("end: %d", rec.Code)
	}
	type page struct {
		jar        []*http.Cookie
		method     string
		path       string
		wantHandle string
	}
	hCarol, hAnn := access.Handle(ev.SessionID("carol", "carol-laptop")), access.Handle(ev.SessionID("ann", ""))
	pages := []page{
		{carol, "GET", "/", ""},
		{carol, "GET", "/sessions", hCarol},
		{ann, "GET", "/admin/sessions?provider=okta&subject=carol", hCarol},
		{ann, "GET", "/admin/sessions?provider=okta&subject=ann", hAnn},
		{ann, "GET", "/admin/audit", ""},
		{ann, "GET", "/admin/audit?format=csv", ""},
		{ann, "GET", "/api/v1/sessions?provider=okta&subject=carol", hCarol},
		{ann, "GET", "/api/v1/audit", hPhone},
	}
	for _, p := range pages {
		ev.Jar = p.jar
		rec := ev.API(t, p.method, p.path, "")
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Errorf("%s %s: %d", p.method, p.path, rec.Code)
		}
		for id := range ids {
			if strings.Contains(body, id) {
				t.Errorf("%s %s shows a session id", p.method, p.path)
			}
		}
		if p.wantHandle != "" && !strings.Contains(body, p.wantHandle) {
			t.Errorf("%s %s lacks the handle %s", p.method, p.path, p.wantHandle)
		}
	}
	// Nor do the answers to the person's own sign-outs.
	ev.Jar = carol
	for _, path := range []string{"/sessions/end-others", "/sessions/end-all"} {
		rec := ev.Do(t, "POST", path, url.Values{"csrf_token": {carolCSRF}})
		for id := range ids {
			if strings.Contains(rec.Body.String(), id) || strings.Contains(rec.Header().Get("Location"), id) {
				t.Errorf("POST %s shows a session id", path)
			}
		}
	}
}
