package portal_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/web/internal/webtest"
)

// switchEnv is alice signed in, with a clock the test moves.
func switchEnv(t *testing.T) (ev *webtest.Env, csrf string, now *time.Time) {
	t.Helper()
	ev = webtest.NewEnv(t, "http://localhost:8080")
	clock := time.Now()
	now = &clock
	cfg := ev.Config
	cfg.Now = func() time.Time { return *now }
	ev.Rebuild(t, cfg)
	csrf, _ = ev.SignIn(t)
	return ev, csrf, now
}

// arrive posts an unsolicited Response for subject (bob: someone else)
// from another site.
func arrive(t *testing.T, ev *webtest.Env, subject, name string) *httptest.ResponseRecorder {
	t.Helper()
	r := *ev.SP.Result
	id := r.Identity
	id.Subject, id.RoleSessionName = subject, subject
	id.Attributes = map[string][]string{"groups": {"dev"}, "displayName": {name}}
	id.Roles = nil
	r.Identity = id
	saved := ev.SP.Result
	ev.SP.Result = &r
	defer func() { ev.SP.Result = saved }()
	return fromIdP(t, ev, url.Values{"SAMLResponse": {"x"}})
}

// fromIdP posts an unsolicited Response to the ACS as a browser does when
// another site posts it: without the SameSite=Lax session cookie. The ACS
// must leave that cookie alone and send the browser on to /arrive, which
// gets it; fromIdP returns the answer of /arrive.
func fromIdP(t *testing.T, ev *webtest.Env, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var held, kept []*http.Cookie
	for _, c := range ev.Jar {
		if c.Name == "broker_session" {
			held = append(held, c)
		} else {
			kept = append(kept, c)
		}
	}
	ev.Jar = kept
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", form, "Sec-Fetch-Site", "cross-site")
	for _, c := range rec.Result().Cookies() {
		if c.Name == "broker_session" {
			t.Errorf("the ACS set the session cookie for an unsolicited Response: %v", c)
		}
	}
	ev.Jar = append(ev.Jar, held...)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/arrive" {
		t.Fatalf("unsolicited Response: %d %q, want 303 /arrive\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	return ev.Do(t, http.MethodGet, "/arrive", nil, "Sec-Fetch-Site", "cross-site")
}

// sessionsOf counts the server-side sessions by subject.
func sessionsOf(ev *webtest.Env) map[string]int {
	n := map[string]int{}
	for _, s := range ev.SessionStore.M {
		n[s.Subject]++
	}
	return n
}

// signedInAs is who the portal says is signed in ("" = the sign-in page).
func signedInAs(t *testing.T, ev *webtest.Env) string {
	t.Helper()
	rec := ev.Do(t, http.MethodGet, "/", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("portal: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	m := userRe.FindStringSubmatch(rec.Body.String())
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func switchPage(t *testing.T, ev *webtest.Env, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/switch" {
		t.Fatalf("unsolicited sign-in of someone else: %d %q, want 303 /switch", rec.Code, rec.Header().Get("Location"))
	}
	page := ev.Do(t, http.MethodGet, "/switch", nil)
	body := page.Body.String()
	if page.Code != http.StatusOK || !strings.Contains(body, "Alice &lt;script&gt;") || !strings.Contains(body, "Bob Builder") || !strings.Contains(body, "Okta") {
		t.Fatalf("switch page: %d\n%s", page.Code, body)
	}
	return body
}

func TestUnsolicitedSignInOfSomeoneElse(t *testing.T) {
	t.Run("stay", func(t *testing.T) {
		ev, csrf, _ := switchEnv(t)
		body := switchPage(t, ev, arrive(t, ev, "bob", "Bob Builder"))
		if got := sessionsOf(ev); got["alice"] != 1 || got["bob"] != 1 {
			t.Fatalf("sessions %v: alice's must remain, bob's waits", got)
		}
		// While the question is open, the portal asks it.
		if rec := ev.Do(t, http.MethodGet, "/", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/switch" {
			t.Errorf("portal during a pending switch: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		if webtest.CSRFRe.FindStringSubmatch(body)[1] != csrf {
			t.Errorf("the switch page must use the current session's CSRF token")
		}
		for name, form := range map[string]url.Values{"no token": {"choice": {"switch"}}, "wrong token": {"choice": {"switch"}, "csrf_token": {wrongToken(csrf)}}} {
			if rec := ev.Do(t, http.MethodPost, "/switch", form); rec.Code != http.StatusForbidden {
				t.Errorf("%s: %d", name, rec.Code)
			}
		}
		if rec := ev.Do(t, http.MethodPost, "/switch", url.Values{"choice": {"switch"}, "csrf_token": {csrf}}, "Sec-Fetch-Site", "cross-site"); rec.Code != http.StatusForbidden {
			t.Errorf("cross-site switch: %d", rec.Code)
		}
		rec := ev.Do(t, http.MethodPost, "/switch", url.Values{"choice": {"stay"}, "csrf_token": {csrf}}, "Sec-Fetch-Site", "same-origin")
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("stay: %d\n%s", rec.Code, rec.Body)
		}
		if got := sessionsOf(ev); got["alice"] != 1 || got["bob"] != 0 {
			t.Errorf("after stay, sessions %v", got)
		}
		if who := signedInAs(t, ev); who != "Alice <script>" {
			t.Errorf("after stay, signed in as %q", who)
		}
		if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {devGrant}}); rec.Code != http.StatusFound {
			t.Errorf("alice's CSRF token stopped working: %d", rec.Code)
		}
	})
	t.Run("switch", func(t *testing.T) {
		ev, csrf, _ := switchEnv(t)
		switchPage(t, ev, arrive(t, ev, "bob", "Bob Builder"))
		rec := ev.Do(t, http.MethodPost, "/switch", url.Values{"choice": {"switch"}, "csrf_token": {csrf}}, "Sec-Fetch-Site", "same-origin")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Fatalf("switch: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		if got := sessionsOf(ev); got["alice"] != 0 || got["bob"] != 1 {
			t.Errorf("after switch, sessions %v: alice's ends, bob's is the browser's", got)
		}
		if who := signedInAs(t, ev); who != "Bob Builder" {
			t.Errorf("after switch, signed in as %q", who)
		}
		if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {devGrant}}); rec.Code != http.StatusForbidden {
			t.Errorf("the old CSRF token still works after the switch: %d", rec.Code)
		}
		var ended bool
		for _, e := range ev.Audit.Events {
			ended = ended || (e.Event == "logout" && e.Subject == "alice")
		}
		if !ended {
			t.Errorf("alice's session end is not audited: %+v", ev.Audit.Events)
		}
	})
	t.Run("switch keeps the role behind a confirmation", func(t *testing.T) {
		ev, csrf, _ := switchEnv(t)
		cfg := ev.Config
		cfg.AutoSelectSingleRole = true
		ev.Rebuild(t, cfg)
		switchPage(t, ev, arrive(t, ev, "bob", "Bob Builder"))
		rec := ev.Do(t, http.MethodPost, "/switch", url.Values{"choice": {"switch"}, "csrf_token": {csrf}}, "Sec-Fetch-Site", "same-origin")
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/open?") || !strings.Contains(loc, "confirm=1") {
			t.Fatalf("switch with bob's single role: %d %q", rec.Code, loc)
		}
		if page := ev.Do(t, http.MethodGet, rec.Header().Get("Location"), nil, "Sec-Fetch-Site", "same-origin"); !strings.Contains(page.Body.String(), `id="confirm-role"`) || ev.STS.N != 0 {
			t.Fatalf("after switch: %d, %d STS calls", page.Code, ev.STS.N)
		}
	})
	t.Run("expires after 5 minutes", func(t *testing.T) {
		ev, csrf, now := switchEnv(t)
		switchPage(t, ev, arrive(t, ev, "bob", "Bob Builder"))
		*now = now.Add(5*time.Minute + time.Second)
		rec := ev.Do(t, http.MethodPost, "/switch", url.Values{"choice": {"switch"}, "csrf_token": {csrf}}, "Sec-Fetch-Site", "same-origin")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Fatalf("late switch: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		if got := sessionsOf(ev); got["alice"] != 1 || got["bob"] != 0 {
			t.Errorf("after expiry, sessions %v", got)
		}
		page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
		if !strings.Contains(page, "waited more than 5 minutes") || !strings.Contains(page, `id="user">Alice &lt;script&gt;`) {
			t.Errorf("portal after expiry:\n%s", page)
		}
		if rec := ev.Do(t, http.MethodGet, "/switch", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Errorf("switch page after expiry: %d %q", rec.Code, rec.Header().Get("Location"))
		}
	})
	t.Run("just before expiry still switches", func(t *testing.T) {
		ev, csrf, now := switchEnv(t)
		switchPage(t, ev, arrive(t, ev, "bob", "Bob Builder"))
		*now = now.Add(5*time.Minute - time.Second)
		ev.Do(t, http.MethodPost, "/switch", url.Values{"choice": {"switch"}, "csrf_token": {csrf}}, "Sec-Fetch-Site", "same-origin")
		if who := signedInAs(t, ev); who != "Bob Builder" {
			t.Errorf("signed in as %q", who)
		}
	})
	t.Run("a second arrival replaces the first pending one", func(t *testing.T) {
		ev, _, _ := switchEnv(t)
		switchPage(t, ev, arrive(t, ev, "bob", "Bob Builder"))
		rec := arrive(t, ev, "carol", "Carol")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/switch" {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
		if got := sessionsOf(ev); got["alice"] != 1 || got["bob"] != 0 || got["carol"] != 1 {
			t.Errorf("sessions %v", got)
		}
	})
	t.Run("the same person arriving again proceeds", func(t *testing.T) {
		ev, csrf, _ := switchEnv(t)
		rec := fromIdP(t, ev, url.Values{"SAMLResponse": {"x"}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Fatalf("alice again: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		if got := sessionsOf(ev); got["alice"] != 1 || len(got) != 1 {
			t.Errorf("sessions %v: the new session replaces the old", got)
		}
		if who := signedInAs(t, ev); who != "Alice <script>" {
			t.Errorf("signed in as %q", who)
		}
		if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {devGrant}}); rec.Code != http.StatusForbidden {
			t.Errorf("a new sign-in must get a new CSRF token: %d", rec.Code)
		}
	})
	t.Run("someone else, same subject at another provider, is someone else", func(t *testing.T) {
		ev, _, _ := switchEnv(t)
		r := *ev.SP.Result
		r.Identity.Provider = "other"
		saved := ev.SP.Result
		ev.SP.Result = &r
		rec := fromIdP(t, ev, url.Values{"SAMLResponse": {"x"}})
		ev.SP.Result = saved
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/switch" {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
	})
	t.Run("a solicited answer is the person's own sign-in", func(t *testing.T) {
		ev, _, _ := switchEnv(t)
		ev.Do(t, http.MethodGet, "/saml/okta/login", nil, "Sec-Fetch-Site", "same-origin")
		r := *ev.SP.Result
		r.InResponseTo = "id-a"
		r.Identity.Subject = "bob"
		r.Identity.Attributes = map[string][]string{"displayName": {"Bob Builder"}}
		saved := ev.SP.Result
		ev.SP.Result = &r
		rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
		ev.SP.Result = saved
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
		if who := signedInAs(t, ev); who != "Bob Builder" {
			t.Errorf("signed in as %q", who)
		}
	})
}
