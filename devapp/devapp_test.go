package devapp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func newTestApp(t *testing.T) *App {
	t.Helper()
	a, err := New(Config{BrokerURL: "http://127.0.0.1:1", ClientID: "demo-app", ClientSecret: "s", BaseURL: "http://127.0.0.1:8084"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func serve(a *App, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	return w
}

// TestSignedOutPage: / offers "Sign in with broker" and nothing else, with
// the security headers.
func TestSignedOutPage(t *testing.T) {
	w := serve(newTestApp(t), httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Sign in with broker") || strings.Contains(w.Body.String(), `id="logout"`) {
		t.Fatalf("signed-out page: %d\n%s", w.Code, w.Body)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if got := w.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP %q", w.Header().Get("Content-Security-Policy"))
	}
}

// TestCallbackRefusesForeignState: a callback whose state is not this
// browser's (no cookie, another cookie, unknown) is a 400, never a session.
func TestCallbackRefusesForeignState(t *testing.T) {
	a := newTestApp(t)
	known := a.sessions.startLogin("v", "n")
	for _, tc := range []struct{ name, state, cookie string }{
		{"no cookie", known, ""},
		{"another browser's state", known, "other"},
		{"unknown state", "forged", "forged"},
		{"no state", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/callback?code=x&state="+url.QueryEscape(tc.state), nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: loginCookie, Value: tc.cookie})
			}
			w := serve(a, r)
			if w.Code != http.StatusBadRequest || strings.Contains(w.Header().Get("Set-Cookie"), sessionCookie+"=") {
				t.Errorf("%d, Set-Cookie %q", w.Code, w.Header().Get("Set-Cookie"))
			}
		})
	}
}

// TestFormsNeedCSRF: POST /credentials and /logout with a session but
// without its CSRF token are refused and the session stays.
func TestFormsNeedCSRF(t *testing.T) {
	a := newTestApp(t)
	id := a.sessions.start(nil, claims{Sub: "demo:alice"})
	for _, path := range []string{"/credentials", "/logout"} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader("csrf=wrong&account=sandbox&role=Developer"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
		if w := serve(a, r); w.Code != http.StatusForbidden {
			t.Errorf("%s without CSRF: %d", path, w.Code)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	if _, x := a.sessions.get(r); x == nil {
		t.Error("a refused sign-out ended the session")
	}
}

// TestSessionCookieFlags: the session and login cookies are HttpOnly and
// SameSite=Lax, and hold no token.
func TestSessionCookieFlags(t *testing.T) {
	a := newTestApp(t)
	w := httptest.NewRecorder()
	a.setCookie(w, sessionCookie, "id", sessionLifetime)
	c := w.Result().Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie %+v", c)
	}
}
