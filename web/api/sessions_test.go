package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// listSessions decodes GET /sessions, insisting on exactly the documented
// fields.
func listSessions(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("not a JSON list: %s", body)
	}
	want := []string{"handle", "provider", "subject", "created_at", "last_seen_at", "expires_at", "remote_addr", "user_agent"}
	for _, s := range out {
		if len(s) != len(want) {
			t.Errorf("session fields %v, want %v", s, want)
		}
		for _, k := range want {
			if _, ok := s[k]; !ok {
				t.Errorf("session lacks %s: %v", k, s)
			}
		}
	}
	return out
}

// alive reports whether the browser with jar still has a live session.
func alive(t *testing.T, ev *webtest.AdminEnv, jar []*http.Cookie) bool {
	t.Helper()
	keep := ev.Jar
	defer func() { ev.Jar = keep }()
	ev.Jar = jar
	return strings.Contains(ev.Do(t, "GET", "/", nil).Body.String(), `id="user"`)
}

func TestSessionsAPI(t *testing.T) {
	ctx := context.Background()
	ev := webtest.NewAdminEnv(t)
	ev.AsBrowser(t, "carol-laptop", "carol", "dev")
	laptop := ev.Jar
	ev.AsBrowser(t, "carol-phone", "carol", "dev")
	phone := ev.Jar
	ev.AsBrowser(t, "carol-tablet", "carol", "dev")
	tablet := ev.Jar
	ev.As(t, "ann", webtest.AdminGroup)
	ev.Jar = nil
	hLaptop := access.Handle(ev.SessionID("carol", "carol-laptop"))
	reader := []string{"Authorization", "Bearer " + storedToken(t, ev, "reader", []string{admins.ScopeSessionsRead}, time.Now().Add(time.Hour))}
	writer := []string{"Authorization", "Bearer " + storedToken(t, ev, "writer", []string{admins.ScopeSessionsWrite}, time.Now().Add(time.Hour))}
	rules := []string{"Authorization", "Bearer " + storedToken(t, ev, "rules", []string{admins.ScopeRulesRead}, time.Now().Add(time.Hour))}

	// sessions:read lists, with handles and never ids.
	rec := ev.API(t, "GET", "/api/v1/sessions?provider=okta&subject=carol", "", reader...)
	if rec.Code != http.StatusOK {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	list := listSessions(t, rec.Body.Bytes())
	var found map[string]any
	for _, s := range list {
		if s["handle"] == hLaptop {
			found = s
		}
	}
	if len(list) != 3 || found == nil || found["user_agent"] != "carol-laptop" || found["remote_addr"] != "192.0.2.1" ||
		found["provider"] != "okta" || found["subject"] != "carol" || found["expires_at"] == "" {
		t.Fatalf("list %s", rec.Body)
	}
	for id := range ev.SessionStore.Snapshot() {
		if strings.Contains(rec.Body.String(), id) {
			t.Fatal("the list shows a session id")
		}
	}
	if rec := ev.API(t, "GET", "/api/v1/sessions?provider=okta&subject=nobody", "", reader...); rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("nobody's sessions: %d %s", rec.Code, rec.Body)
	}

	// Out of scope: a rules:read token may not list, a sessions:read one
	// may not end.
	for _, c := range []struct {
		method, path, scope string
		hdr                 []string
	}{
		{"GET", "/api/v1/sessions?provider=okta&subject=carol", "sessions:read", rules},
		{"DELETE", "/api/v1/sessions?provider=okta&subject=carol", "sessions:write", rules},
		{"DELETE", "/api/v1/sessions/" + hLaptop + "?provider=okta&subject=carol", "sessions:write", reader},
		{"DELETE", "/api/v1/sessions?provider=okta&subject=carol", "sessions:write", reader},
	} {
		rec := ev.API(t, c.method, c.path, "", c.hdr...)
		if reason, msg := refusal(t, rec); rec.Code != http.StatusForbidden || reason != "api_token_scope" || !strings.Contains(msg, c.scope) {
			t.Errorf("%s %s: %d %s %q", c.method, c.path, rec.Code, reason, msg)
		}
	}
	if !alive(t, ev, laptop) || !alive(t, ev, phone) || !alive(t, ev, tablet) {
		t.Fatal("a refused request ended a session")
	}

	// Missing person: 400 saying what to send.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/sessions"}, {"GET", "/api/v1/sessions?provider=okta"}, {"DELETE", "/api/v1/sessions?subject=carol"},
		{"DELETE", "/api/v1/sessions/" + hLaptop + "?provider=okta"},
	} {
		hdr := reader
		if r.method == "DELETE" {
			hdr = writer
		}
		rec := ev.API(t, r.method, r.path, "", hdr...)
		if reason, msg := refusal(t, rec); rec.Code != http.StatusBadRequest || reason != "session_owner_missing" || !strings.Contains(msg, "?provider=P&subject=S") {
			t.Errorf("%s %s: %d %s %q", r.method, r.path, rec.Code, reason, msg)
		}
	}

	// sessions:write ends one: 204, the browser is signed out, the others
	// are not; again: 404.
	rec = ev.API(t, "DELETE", "/api/v1/sessions/"+hLaptop+"?provider=okta&subject=carol", "", writer...)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("end one: %d %s", rec.Code, rec.Body)
	}
	if alive(t, ev, laptop) || !alive(t, ev, phone) {
		t.Fatal("end one ended the wrong sessions")
	}
	rec = ev.API(t, "DELETE", "/api/v1/sessions/"+hLaptop+"?provider=okta&subject=carol", "", writer...)
	if reason, _ := refusal(t, rec); rec.Code != http.StatusNotFound || reason != access.ReasonSessionNotFound {
		t.Fatalf("end one again: %d %s", rec.Code, reason)
	}
	// Another person's handle is not carol's.
	hAnn := access.Handle(ev.SessionID("ann", ""))
	if rec := ev.API(t, "DELETE", "/api/v1/sessions/"+hAnn+"?provider=okta&subject=carol", "", writer...); rec.Code != http.StatusNotFound {
		t.Fatalf("someone else's handle: %d", rec.Code)
	}

	// End all: {"ended": 2}.
	rec = ev.API(t, "DELETE", "/api/v1/sessions?provider=okta&subject=carol", "", writer...)
	var ended struct{ Ended *int }
	if err := json.Unmarshal(rec.Body.Bytes(), &ended); err != nil || rec.Code != http.StatusOK || ended.Ended == nil || *ended.Ended != 2 {
		t.Fatalf("end all: %d %s", rec.Code, rec.Body)
	}
	if alive(t, ev, phone) || alive(t, ev, tablet) {
		t.Fatal("end all left a session")
	}
	if ev.SessionID("ann", "") == "" {
		t.Fatal("end all ended another person's session")
	}

	// Audited, with the token as the actor.
	one, _ := ev.DB.ListAudit(ctx, store.AuditFilter{Event: "session_ended"})
	all, _ := ev.DB.ListAudit(ctx, store.AuditFilter{Event: "sessions_ended"})
	if len(one) != 1 || one[0].Subject != "carol" || one[0].Details["by"] != "token:writer" || one[0].Details["handle"] != hLaptop {
		t.Errorf("session_ended audit %+v", one)
	}
	if len(all) != 1 || all[0].Subject != "carol" || all[0].Details["by"] != "token:writer" || all[0].Details["count"] != "2" {
		t.Errorf("sessions_ended audit %+v", all)
	}
}

// An admin's browser session may use the API too (X-CSRF-Token for an
// end), and is the actor.
func TestSessionsAPIWithAdminSession(t *testing.T) {
	ctx := context.Background()
	ev := webtest.NewAdminEnv(t)
	ev.AsBrowser(t, "carol-laptop", "carol", "dev")
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	if rec := ev.API(t, "DELETE", "/api/v1/sessions?provider=okta&subject=carol", ""); rec.Code != http.StatusForbidden {
		t.Fatalf("without CSRF: %d", rec.Code)
	}
	rec := ev.API(t, "DELETE", "/api/v1/sessions?provider=okta&subject=carol", "", "X-CSRF-Token", csrf)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"ended": 1`) {
		t.Fatalf("with CSRF: %d %s", rec.Code, rec.Body)
	}
	all, _ := ev.DB.ListAudit(ctx, store.AuditFilter{Event: "sessions_ended"})
	if len(all) != 1 || all[0].Details["by"] != "okta/ann" {
		t.Errorf("audit %+v", all)
	}
}
