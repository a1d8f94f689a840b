package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// The links API: links:write creates, replaces and deletes; links:read
// only reads; any other scope is refused; an invalid link is a 400 with
// its reason; every change is audited as the token.
func TestLinksAPI(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	ev.Jar = nil
	exp := time.Now().Add(time.Hour)
	write := "Bearer " + storedToken(t, ev, "w", []string{admins.ScopeLinksWrite, admins.ScopeLinksRead}, exp)
	read := "Bearer " + storedToken(t, ev, "r", []string{admins.ScopeLinksRead}, exp)
	rules := "Bearer " + storedToken(t, ev, "rules", []string{admins.ScopeRulesRead, admins.ScopeRulesWrite}, exp)

	body := `{"account":"sandbox","role":"Developer","region":"eu-west-1","description":"Sandbox dev"}`
	if rec := ev.API(t, "PUT", "/api/v1/links/dev", body, "Authorization", read); rec.Code != http.StatusForbidden {
		t.Fatalf("links:read wrote: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.API(t, "PUT", "/api/v1/links/dev", body, "Authorization", rules); rec.Code != http.StatusForbidden {
		t.Fatalf("rules scopes wrote a link: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.API(t, "GET", "/api/v1/links", "", "Authorization", rules); rec.Code != http.StatusForbidden {
		t.Fatalf("rules scopes read the links: %d %s", rec.Code, rec.Body)
	}
	rec := ev.API(t, "PUT", "/api/v1/links/dev", body, "Authorization", write)
	var got struct {
		Name, Region string
		UpdatedBy    string `json:"updated_by"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.Name != "dev" || got.Region != "eu-west-1" || got.UpdatedBy != "token:w" {
		t.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	// Replace: what the body leaves out is gone.
	if rec := ev.API(t, "PUT", "/api/v1/links/dev", `{"account":"sandbox","role":"Admin"}`, "Authorization", write); rec.Code != http.StatusOK {
		t.Fatalf("replace: %d %s", rec.Code, rec.Body)
	}
	rec = ev.API(t, "GET", "/api/v1/links/dev", "", "Authorization", read)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"role": "Admin"`) || strings.Contains(rec.Body.String(), "eu-west-1") {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	rec = ev.API(t, "GET", "/api/v1/links", "", "Authorization", read)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"name": "dev"`) {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	for name, c := range map[string]struct{ path, body, reason string }{
		"region":  {"/api/v1/links/dev", `{"account":"sandbox","role":"Admin","region":"moon-1"}`, "short_link_region_unknown"},
		"dest":    {"/api/v1/links/dev", `{"account":"sandbox","role":"Admin","destination":"https://evil.example.com/"}`, "short_link_destination_invalid"},
		"name":    {"/api/v1/links/Dev", `{"account":"sandbox","role":"Admin"}`, "short_link_name_invalid"},
		"rename":  {"/api/v1/links/dev", `{"name":"other","account":"sandbox","role":"Admin"}`, "short_link_rename"},
		"no role": {"/api/v1/links/dev", `{"account":"sandbox"}`, "short_link_incomplete"},
	} {
		rec := ev.API(t, "PUT", c.path, c.body, "Authorization", write)
		if reason, _ := refusal(t, rec); rec.Code != http.StatusBadRequest || reason != c.reason {
			t.Errorf("%s: %d %s, want 400 %s", name, rec.Code, rec.Body, c.reason)
		}
	}
	if rec := ev.API(t, "DELETE", "/api/v1/links/dev", "", "Authorization", read); rec.Code != http.StatusForbidden {
		t.Fatalf("links:read deleted: %d", rec.Code)
	}
	if rec := ev.API(t, "DELETE", "/api/v1/links/dev", "", "Authorization", write); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if rec := ev.API(t, m, "/api/v1/links/dev", "", "Authorization", write); rec.Code != http.StatusNotFound {
			t.Errorf("%s after delete: %d", m, rec.Code)
		}
	}
	saved, _ := ev.DB.ListAudit(context.Background(), store.AuditFilter{Event: "shortlink_saved"})
	deleted, _ := ev.DB.ListAudit(context.Background(), store.AuditFilter{Event: "shortlink_deleted"})
	if len(saved) != 2 || len(deleted) != 1 || saved[0].Subject != "token:w" || deleted[0].Subject != "token:w" {
		t.Fatalf("audit saved %+v deleted %+v", saved, deleted)
	}
}
