package adminauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
)

func TestAdminRoutesRefuseNonAdmins(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	// Anonymous: pages redirect to sign in (GET) or 401; nothing changes.
	for _, r := range webtest.AdminRoutes {
		rec := ev.API(t, r.Method, r.Path, "")
		want := http.StatusUnauthorized
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/admin") {
			want = http.StatusSeeOther
		}
		if rec.Code != want {
			t.Errorf("anonymous %s %s: %d, want %d", r.Method, r.Path, rec.Code, want)
		}
	}
	if rec := ev.Do(t, "GET", "/?admin=1", nil); !strings.Contains(rec.Body.String(), "Sign in to use the admin pages") {
		t.Error("the sign-in page does not say why the admin was sent there")
	}
	// Signed in, not an admin: 403 on every route, with or without CSRF.
	csrf := ev.As(t, "bob", "dev")
	for _, r := range webtest.AdminRoutes {
		for _, withCSRF := range []bool{false, true} {
			var rec *httptest.ResponseRecorder
			if withCSRF {
				rec = ev.Do(t, r.Method, r.Path, url.Values{"csrf_token": {csrf}, "version": {"1"}}, "X-CSRF-Token", csrf)
			} else {
				rec = ev.API(t, r.Method, r.Path, "")
			}
			if rec.Code != http.StatusForbidden {
				t.Errorf("non-admin %s %s: %d, want 403", r.Method, r.Path, rec.Code)
			}
		}
	}
	// The portal shows no admin link to a non-admin.
	if strings.Contains(ev.Do(t, "GET", "/", nil).Body.String(), `id="admin-link"`) {
		t.Error("non-admin sees the admin link")
	}
	if set, _ := ev.DB.Rules(context.Background()); set.Revision != 2 || len(set.Rules) != 1 || set.Rules[0].Version != 1 {
		t.Fatalf("refused requests changed the rules: %+v", set)
	}
	// An admin in another group list loses access at once when the
	// condition no longer holds (checked on every request, not at sign-in).
	ev.As(t, "ann", webtest.AdminGroup)
	if rec := ev.Do(t, "GET", "/admin/rules", nil); rec.Code != http.StatusOK {
		t.Fatalf("admin: %d", rec.Code)
	}
	if !strings.Contains(ev.Do(t, "GET", "/", nil).Body.String(), `id="admin-link"`) {
		t.Error("admin sees no admin link")
	}
}

func TestAdminCSRFOnEveryChange(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	for _, r := range webtest.AdminRoutes {
		if r.Method == "GET" {
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
			// As JSON: the reason is not on the HTML error page.
			rec := ev.Do(t, r.Method, r.Path, form, append(hdr, "Accept", "application/json")...)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"reason":"csrf_`) {
				t.Errorf("%s %s (%s): %d, want 403 csrf", r.Method, r.Path, name, rec.Code)
			}
		}
	}
	if set, _ := ev.DB.Rules(context.Background()); set.Rules[0].Version != 1 || len(set.Rules) != 1 {
		t.Fatalf("a forged request changed the rules: %+v", set)
	}
}
