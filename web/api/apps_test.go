package api_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// appsEnv is the admin env with the OpenID Provider on (and with it the
// API for apps), and one app in the config file: grafana (confidential,
// read-only here).
func appsEnv(t *testing.T) *webtest.AdminEnv {
	t.Helper()
	ev := webtest.NewAdminEnv(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	grafana, err := apps.ClientFromSpec(apps.ClientSpec{ID: "grafana", Name: "Grafana", RedirectURIs: []string{"https://grafana.example.com/login/generic_oauth"}},
		[]byte("a-config-file-secret-of-enough-length"), apps.SourceConfig)
	if err != nil {
		t.Fatal(err)
	}
	p, err := apps.New(apps.Config{Issuer: "https://aws.example.com", Signing: key, KeyID: "k1", Store: ev.DB,
		Rules: ev.Config.Access, Audit: ev.Config.Access, LoginPath: "/apps/login", CodeKey: make([]byte, 32),
		Clients: []apps.Client{grafana}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ev.Config
	cfg.Apps, cfg.AppBearers = p, p // the API for apps too (/api/v1/roles, credentials, console)
	ev.Rebuild(t, cfg)
	return ev
}

const wikiSpec = `{"id":"wiki","name":"Team wiki","redirect_uris":["https://wiki.example.com/cb"],"scopes":["openid","email","groups"],
	"when":{"all":[{"attribute":"groups","equals":"dev"}]},"access_token_lifetime":"10m"}`

// appOf decodes {"app": {...}, "secret": "..."}.
func appOf(t *testing.T, rec *httptest.ResponseRecorder) (app map[string]any, secret string) {
	t.Helper()
	var body struct {
		App    map[string]any `json:"app"`
		Secret string         `json:"secret"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.App == nil {
		t.Fatalf("not an app: %d %s", rec.Code, rec.Body)
	}
	return body.App, body.Secret
}

// TestAppsAPI walks every apps route: scopes enforced, a secret only in
// the answers that create one (never stored by a cache), never a secret
// or hash in a list or get, problems by field, stale versions 409, apps
// of the config file read-only, every change audited as the token.
func TestAppsAPI(t *testing.T) {
	ev := appsEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	ev.Jar = nil
	exp := time.Now().Add(time.Hour)
	write := []string{"Authorization", "Bearer " + storedToken(t, ev, "w", []string{admins.ScopeAppsRead, admins.ScopeAppsWrite}, exp)}
	read := []string{"Authorization", "Bearer " + storedToken(t, ev, "r", []string{admins.ScopeAppsRead}, exp)}
	rules := []string{"Authorization", "Bearer " + storedToken(t, ev, "rules", []string{admins.ScopeRulesRead, admins.ScopeRulesWrite}, exp)}
	ctx := context.Background()

	for _, tok := range [][]string{read, rules} {
		if rec := ev.API(t, "POST", "/api/v1/apps", wikiSpec, tok...); rec.Code != http.StatusForbidden {
			t.Fatalf("%s registered an app: %d %s", tok[1][:20], rec.Code, rec.Body)
		}
	}
	if rec := ev.API(t, "GET", "/api/v1/apps", "", rules...); rec.Code != http.StatusForbidden {
		t.Fatalf("rules scopes listed the apps: %d", rec.Code)
	}

	// Register: 201, the secret once, no-store.
	rec := ev.API(t, "POST", "/api/v1/apps", wikiSpec, write...)
	if rec.Code != http.StatusCreated || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %q %s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
	app, secret := appOf(t, rec)
	if secret == "" || app["id"] != "wiki" || app["confidential"] != true || app["version"] != float64(1) || app["created_by"] != "token:w" ||
		app["source"] != apps.SourceAdmin || app["editable"] != true || app["access_token_lifetime"] != "10m" {
		t.Fatalf("created %v, secret %q", app, secret)
	}
	stored, err := ev.DB.AppClient(ctx, "wiki")
	if err != nil || stored.SecretHash != apps.HashSecret(secret) {
		t.Fatalf("stored %+v %v", stored, err)
	}
	noSecret := func(what string, rec *httptest.ResponseRecorder) {
		t.Helper()
		body := rec.Body.String()
		if rec.Code != http.StatusOK || strings.Contains(body, secret) || strings.Contains(body, stored.SecretHash) || strings.Contains(body, `"secret`) {
			t.Errorf("%s: %d shows a secret or its hash: %s", what, rec.Code, body)
		}
	}
	// List and get: read is enough; never the secret nor its hash.
	rec = ev.API(t, "GET", "/api/v1/apps", "", read...)
	noSecret("list", rec)
	var list struct {
		Apps []struct {
			ID, Source   string
			Editable     bool
			Confidential bool
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Apps) != 2 ||
		list.Apps[0].ID != "grafana" || list.Apps[0].Source != apps.SourceConfig || list.Apps[0].Editable || !list.Apps[0].Confidential ||
		list.Apps[1].ID != "wiki" || !list.Apps[1].Editable {
		t.Fatalf("list: %s", rec.Body)
	}
	noSecret("get", ev.API(t, "GET", "/api/v1/apps/wiki", "", read...))
	if rec := ev.API(t, "GET", "/api/v1/apps/nope", "", read...); rec.Code != http.StatusNotFound {
		t.Errorf("unknown app: %d", rec.Code)
	}

	// Problems by field (422), for a bad spec and a taken id.
	for name, c := range map[string]struct{ body, field string }{
		"redirect": {`{"id":"bad","redirect_uris":["http://evil.example.com/cb"]}`, "redirect_uris[0]"},
		"scope":    {`{"id":"bad","redirect_uris":["https://a.example.com/"],"scopes":["openid","admin"]}`, "scopes[1]"},
		"when":     {`{"id":"bad","redirect_uris":["https://a.example.com/"],"when":{"all":[{"attribute":"g","regex":"("}]}}`, "when.all[0].regex"},
		"config":   {`{"id":"grafana","redirect_uris":["https://a.example.com/"]}`, "id"},
	} {
		rec := ev.API(t, "POST", "/api/v1/apps", c.body, write...)
		var e struct {
			Reason   string
			Problems []struct{ Field, Reason string }
		}
		if rec.Code != http.StatusUnprocessableEntity || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Reason != apps.ReasonClientInvalid ||
			len(e.Problems) == 0 || e.Problems[0].Field != c.field || e.Problems[0].Reason == "" {
			t.Errorf("%s: %d %s, want 422 with a problem on %s", name, rec.Code, rec.Body, c.field)
		}
	}
	if rec := ev.API(t, "POST", "/api/v1/apps", wikiSpec, write...); rec.Code != http.StatusConflict {
		t.Errorf("id taken: %d %s", rec.Code, rec.Body)
	}

	// Update: from a stale version 409, nothing changed; at the version 200.
	upd := `{"version": %d, "app": {"redirect_uris":["https://wiki.example.com/cb","https://wiki.example.com/cb2"]}}`
	rec = ev.API(t, "PUT", "/api/v1/apps/wiki", strings.Replace(upd, "%d", "7", 1), write...)
	if rec.Code != http.StatusConflict {
		t.Fatalf("stale update: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.API(t, "PUT", "/api/v1/apps/wiki", strings.Replace(upd, "%d", "1", 1), read...); rec.Code != http.StatusForbidden {
		t.Fatalf("apps:read updated: %d", rec.Code)
	}
	rec = ev.API(t, "PUT", "/api/v1/apps/wiki", strings.Replace(upd, "%d", "1", 1), write...)
	app, again := appOf(t, rec)
	if rec.Code != http.StatusOK || again != "" || app["version"] != float64(2) || len(app["redirect_uris"].([]any)) != 2 || app["updated_by"] != "token:w" {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.API(t, "PUT", "/api/v1/apps/wiki", `{"version":2,"app":{"id":"other","redirect_uris":["https://a.example.com/"]}}`, write...); rec.Code != http.StatusBadRequest {
		t.Errorf("rename: %d", rec.Code)
	}
	rec = ev.API(t, "PUT", "/api/v1/apps/grafana", `{"version":0,"app":{"redirect_uris":["https://a.example.com/"]}}`, write...)
	if reason, _ := refusal(t, rec); rec.Code != http.StatusConflict || reason != apps.ReasonClientManaged {
		t.Errorf("config app updated: %d %s", rec.Code, rec.Body)
	}

	// Rotate: a new secret (no-store), the old hash gone.
	if rec := ev.API(t, "POST", "/api/v1/apps/wiki/secret", `{"version":1}`, write...); rec.Code != http.StatusConflict {
		t.Errorf("stale rotate: %d %s", rec.Code, rec.Body)
	}
	rec = ev.API(t, "POST", "/api/v1/apps/wiki/secret", `{"version":2}`, write...)
	var rot struct{ Secret string }
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" || json.Unmarshal(rec.Body.Bytes(), &rot) != nil || rot.Secret == "" || rot.Secret == secret {
		t.Fatalf("rotate: %d %s", rec.Code, rec.Body)
	}
	if stored, _ := ev.DB.AppClient(ctx, "wiki"); stored.SecretHash != apps.HashSecret(rot.Secret) || stored.Version != 3 {
		t.Fatalf("after rotate: %+v", stored)
	}

	// Delete: the version is required and checked.
	for q, want := range map[string]int{"": http.StatusBadRequest, "?version=2": http.StatusConflict} {
		if rec := ev.API(t, "DELETE", "/api/v1/apps/wiki"+q, "", write...); rec.Code != want {
			t.Errorf("delete%s: %d, want %d", q, rec.Code, want)
		}
	}
	if rec := ev.API(t, "DELETE", "/api/v1/apps/wiki?version=3", "", write...); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.API(t, "GET", "/api/v1/apps/wiki", "", read...); rec.Code != http.StatusNotFound {
		t.Fatalf("get after delete: %d", rec.Code)
	}
	for event, n := range map[string]int{"app_client_created": 1, "app_client_updated": 1, "app_client_secret_rotated": 1, "app_client_deleted": 1} {
		evs, _ := ev.DB.ListAudit(ctx, store.AuditFilter{Event: event})
		if len(evs) != n || evs[0].Subject != "token:w" {
			t.Errorf("audit %s: %+v", event, evs)
		}
	}
}

// TestAppsAPIExportApply: export gives the registered apps with their
// secret hashes (not the config file's); apply with dry_run changes
// nothing, without it makes the apps exactly the body's and returns a new
// confidential app's secret once; no apps at all needs allow_empty.
func TestAppsAPIExportApply(t *testing.T) {
	ev := appsEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	session := []string{"X-CSRF-Token", csrf}
	ctx := context.Background()
	if rec := ev.API(t, "POST", "/api/v1/apps", wikiSpec, session...); rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	rec := ev.API(t, "GET", "/api/v1/apps/export", "", session...)
	var exp struct{ Clients []apps.Exported }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &exp) != nil || len(exp.Clients) != 1 || exp.Clients[0].ID != "wiki" || exp.Clients[0].SecretSHA256 == "" {
		t.Fatalf("export: %d %s", rec.Code, rec.Body)
	}
	// Add a public app, keep wiki as exported.
	exp.Clients = append(exp.Clients, apps.Exported{ClientSpec: apps.ClientSpec{ID: "cli2", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}}},
		apps.Exported{ClientSpec: apps.ClientSpec{ID: "dash", RedirectURIs: []string{"https://dash.example.com/cb"}}})
	body := func(dry, allowEmpty bool, cs []apps.Exported) string {
		b, _ := json.Marshal(map[string]any{"clients": cs, "dry_run": dry, "allow_empty": allowEmpty})
		return string(b)
	}
	changes := func(rec *httptest.ResponseRecorder) map[string]string {
		t.Helper()
		var out struct {
			Changes []struct{ Op, ID, Secret string }
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			t.Fatalf("apply: %d %s", rec.Code, rec.Body)
		}
		m := map[string]string{}
		for _, c := range out.Changes {
			m[c.ID] = c.Op
			if c.Secret != "" {
				m[c.ID+".secret"] = c.Secret
			}
		}
		return m
	}
	got := changes(ev.API(t, "PUT", "/api/v1/apps", body(true, false, exp.Clients), session...))
	if got["wiki"] != "unchanged" || got["cli2"] != "create" || got["dash"] != "create" || got["dash.secret"] != "" {
		t.Fatalf("dry run: %v", got)
	}
	if all, _ := ev.DB.AppClients(ctx); len(all) != 1 {
		t.Fatalf("dry run changed the store: %d apps", len(all))
	}
	rec = ev.API(t, "PUT", "/api/v1/apps", body(false, false, exp.Clients), session...)
	got = changes(rec)
	if got["cli2"] != "create" || got["cli2.secret"] != "" || got["dash.secret"] == "" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("apply: %v", got)
	}
	if dash, err := ev.DB.AppClient(ctx, "dash"); err != nil || dash.SecretHash != apps.HashSecret(got["dash.secret"]) {
		t.Fatalf("dash: %+v %v", dash, err)
	}
	// Problems by field, located by index.
	rec = ev.API(t, "PUT", "/api/v1/apps", body(false, false, []apps.Exported{{ClientSpec: apps.ClientSpec{ID: "x"}}}), session...)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"field": "clients[0].redirect_uris"`) {
		t.Fatalf("bad apply: %d %s", rec.Code, rec.Body)
	}
	rec = ev.API(t, "PUT", "/api/v1/apps", body(false, false, nil), session...)
	if reason, _ := refusal(t, rec); rec.Code != http.StatusBadRequest || reason != apps.ReasonClientsApplyEmpty {
		t.Fatalf("empty apply: %d %s", rec.Code, rec.Body)
	}
	got = changes(ev.API(t, "PUT", "/api/v1/apps", body(false, true, nil), session...))
	if got["wiki"] != "delete" || got["cli2"] != "delete" || got["dash"] != "delete" {
		t.Fatalf("empty apply allowed: %v", got)
	}
	if all, _ := ev.DB.AppClients(ctx); len(all) != 0 {
		t.Fatalf("%d apps left", len(all))
	}
}

// Without an OpenID Provider (no OIDC signing key) the apps routes are
// 404 and say what to set.
func TestAppsAPIOffWithoutProvider(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	rec := ev.API(t, "GET", "/api/v1/apps", "")
	if reason, msg := refusal(t, rec); rec.Code != http.StatusNotFound || reason != "apps_provider_off" || !strings.Contains(msg, "issuer.oidc.key") {
		t.Fatalf("apps off: %d %s", rec.Code, rec.Body)
	}
}
