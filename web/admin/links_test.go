package admin_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// /admin/links: create, a refused link shown with its problem, edit, and
// delete only after confirming; every POST needs the CSRF token.
func TestAdminLinks(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	ctx := context.Background()
	links := func() string { return ev.Do(t, "GET", "/admin/links", nil).Body.String() }
	if page := links(); !strings.Contains(page, "No short links yet.") || !strings.Contains(page, `href="/admin/links" aria-current="page"`) {
		t.Fatalf("empty page:\n%s", page)
	}
	form := url.Values{"name": {"prod-ro"}, "account": {"sandbox"}, "role": {"Developer"}, "region": {"eu-west-1"}, "description": {"Sandbox <dev>"}}
	if rec := ev.Do(t, "POST", "/admin/links", form); rec.Code != http.StatusForbidden {
		t.Fatalf("save without CSRF: %d", rec.Code)
	}
	form.Set("csrf_token", csrf)
	if rec := ev.Do(t, "POST", "/admin/links", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", rec.Code, rec.Body)
	}
	page := links()
	if !strings.Contains(page, `href="https://aws.example.com/go/prod-ro"`) || !strings.Contains(page, "Sandbox &lt;dev&gt;") || !strings.Contains(page, "Saved /go/prod-ro.") {
		t.Fatalf("list after save:\n%s", page)
	}

	bad := url.Values{"csrf_token": {csrf}, "name": {"other"}, "account": {"sandbox"}, "role": {"Developer"}, "destination": {"https://evil.example.com/"}}
	rec := ev.Do(t, "POST", "/admin/links", bad)
	if body := html.UnescapeString(rec.Body.String()); rec.Code != http.StatusBadRequest || !strings.Contains(body, "not an AWS console page") || !strings.Contains(body, `value="https://evil.example.com/"`) {
		t.Fatalf("invalid link: %d\n%s", rec.Code, body)
	}

	if page := ev.Do(t, "GET", "/admin/links?edit=prod-ro", nil).Body.String(); !strings.Contains(page, "Change /go/prod-ro") || !strings.Contains(page, `value="eu-west-1"`) {
		t.Fatalf("edit form:\n%s", page)
	}
	form.Set("role", "Admin")
	form.Set("editing", "1")
	if rec := ev.Do(t, "POST", "/admin/links", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", rec.Code, rec.Body)
	}
	if l, err := ev.Config.Admin.Admin.ShortLink(ctx, "prod-ro"); err != nil || l.Role != "Admin" || l.UpdatedBy != "okta/ann" {
		t.Fatalf("after edit %+v %v", l, err)
	}

	if rec := ev.Do(t, "POST", "/admin/links/prod-ro/delete", url.Values{"confirm": {"1"}}); rec.Code != http.StatusForbidden {
		t.Fatalf("delete without CSRF: %d", rec.Code)
	}
	rec = ev.Do(t, "POST", "/admin/links/prod-ro/delete", url.Values{"csrf_token": {csrf}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="confirm-delete"`) {
		t.Fatalf("delete asks first: %d\n%s", rec.Code, rec.Body)
	}
	if _, err := ev.Config.Admin.Admin.ShortLink(ctx, "prod-ro"); err != nil {
		t.Fatalf("asking deleted it: %v", err)
	}
	if rec := ev.Do(t, "POST", "/admin/links/prod-ro/delete", url.Values{"csrf_token": {csrf}, "confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", rec.Code, rec.Body)
	}
	if _, err := ev.Config.Admin.Admin.ShortLink(ctx, "prod-ro"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Fatalf("still there: %v", err)
	}
	if rec := ev.Do(t, "POST", "/admin/links/prod-ro/delete", url.Values{"csrf_token": {csrf}}); rec.Code != http.StatusNotFound {
		t.Fatalf("delete of a missing link: %d", rec.Code)
	}
	saved, _ := ev.DB.ListAudit(ctx, store.AuditFilter{Event: "shortlink_saved"})
	deleted, _ := ev.DB.ListAudit(ctx, store.AuditFilter{Event: "shortlink_deleted"})
	if len(saved) != 2 || len(deleted) != 1 || deleted[0].Subject != "okta/ann" {
		t.Fatalf("audit saved %d deleted %+v", len(saved), deleted)
	}
}
