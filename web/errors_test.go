package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// A store outage answers 503 "temporarily unavailable" with Retry-After,
// not 500: for the signed-in portal, for a sign-in (refused, no session
// started) and for readiness; when the store is back, all work again.
func TestStoreOutageAnswers503(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	ev.SignIn(t)
	sessions := len(ev.SessionStore.M)
	// What sqlstore returns when the database cannot be reached.
	ev.SessionStore.Err = broker.Errorf(broker.EUNAVAILABLE, "store_unavailable", "The broker's database is unavailable. Try again later.")

	for _, tc := range []struct {
		name, method, target string
		form                 url.Values
		hdr                  []string
	}{
		{"portal", http.MethodGet, "/", nil, nil},
		{"sign-in", http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}}, nil},
		{"json", http.MethodGet, "/", nil, []string{"Accept", "application/json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := ev.Do(t, tc.method, tc.target, tc.form, tc.hdr...)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != web.RetryAfterUnavailable {
				t.Fatalf("%d Retry-After %q\n%s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
			body := rec.Body.String()
			if !strings.Contains(body, "database is unavailable") {
				t.Errorf("the answer does not say what happened:\n%s", body)
			}
			if len(tc.hdr) == 0 && !strings.Contains(body, "Temporarily unavailable") {
				t.Errorf("the page is not titled as temporary:\n%s", body)
			}
		})
	}
	if len(ev.SessionStore.M) != sessions {
		t.Errorf("a sign-in was accepted during the outage: %d sessions, had %d", len(ev.SessionStore.M), sessions)
	}
	if rec := ev.Do(t, http.MethodGet, "/readyz", nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz during the outage: %d", rec.Code)
	}

	ev.SessionStore.Err = nil
	if rec := ev.Do(t, http.MethodGet, "/", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="grant"`) {
		t.Fatalf("portal after the outage: %d\n%s", rec.Code, rec.Body)
	}
}
