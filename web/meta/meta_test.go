package meta_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
)

func TestHealthAndReadiness(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	if rec := ev.Do(t, http.MethodGet, "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("healthz %d", rec.Code)
	}
	rec := ev.Do(t, http.MethodGet, "/readyz", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"provider:okta":"ok"`) {
		t.Errorf("readyz %d %s", rec.Code, rec.Body)
	}
	ev.SP.NotReady = webtest.ErrString("metadata fetch failed")
	rec = ev.Do(t, http.MethodGet, "/readyz", nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"provider:okta":"unavailable"`) {
		t.Errorf("readyz with the only IdP down: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.Do(t, http.MethodGet, "/saml/okta/login", nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("login with metadata down: %d", rec.Code)
	}
	ev.SP.NotReady = nil
	// A store that answers but cannot write (read-only, disk full).
	ev.SessionStore.ReadOnly = true
	if rec := ev.Do(t, http.MethodGet, "/readyz", nil); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"store":"read_only"`) {
		t.Errorf("readyz with a read-only store: %d %s", rec.Code, rec.Body)
	}
	ev.SessionStore.ReadOnly = false
	ev.SessionStore.Down = true
	if rec := ev.Do(t, http.MethodGet, "/readyz", nil); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"store":"unavailable"`) {
		t.Errorf("readyz with store down: %d %s", rec.Code, rec.Body)
	}
}
