package admin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// appsEnv is the admin env with the OpenID Provider on and one app in the
// config file, grafana.
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
	cfg.Apps = p
	ev.Rebuild(t, cfg)
	return ev
}

var secretRe = regexp.MustCompile(`id="secret-value">([^<]+)<`)

// wikiForm is the register form of a confidential app for group dev.
func wikiForm(csrf string) url.Values {
	return url.Values{"csrf_token": {csrf}, "id": {"wiki"}, "name": {"Team wiki"},
		"redirect_uris": {"https://wiki.example.com/cb\r\n\r\nhttps://wiki.example.com/cb2\r\n"}, "scope": {"openid", "email", "groups"},
		"access_token_lifetime": {"10m"}, "match": {"all"}, "when_mode": {"rows"},
		"cond.attribute": {"groups", ""}, "cond.op": {"equals", "equals"}, "cond.value": {"dev", ""}, "cond.case": {"", ""}}
}

// /admin/apps: register (the secret shown once, on its own page), list,
// edit, a stale edit, rotate and delete after confirming; CSRF needed.
func TestAdminApps(t *testing.T) {
	ev := appsEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	ctx := context.Background()

	page := ev.Do(t, "GET", "/admin/apps", nil).Body.String()
	if !strings.Contains(page, `href="/admin/apps" aria-current="page"`) || !strings.Contains(page, `data-id="grafana"`) || !strings.Contains(page, "config file") {
		t.Fatalf("list:\n%s", page)
	}
	if rec := ev.Do(t, "GET", "/admin/apps/new", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `value="openid" checked`) {
		t.Fatalf("new form: %d", rec.Code)
	}
	form := wikiForm(csrf)
	form.Del("csrf_token")
	if rec := ev.Do(t, "POST", "/admin/apps/new", form); rec.Code != http.StatusForbidden {
		t.Fatalf("register without CSRF: %d", rec.Code)
	}
	if all, _ := ev.DB.AppClients(ctx); len(all) != 0 {
		t.Fatal("a refused request registered an app")
	}

	// Register: the secret page, once, not cached.
	rec := ev.Do(t, "POST", "/admin/apps/new", wikiForm(csrf))
	m := secretRe.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusCreated || m == nil || rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(rec.Body.String(), `data-copy="secret-value"`) {
		t.Fatalf("register: %d %q\n%s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
	secret := m[1]
	stored, err := ev.DB.AppClient(ctx, "wiki")
	if err != nil || stored.SecretHash != apps.HashSecret(secret) || stored.CreatedBy != "okta/ann" {
		t.Fatalf("stored %+v %v", stored, err)
	}
	reg, _ := ev.Config.Apps.Registry().Get(ctx, "wiki")
	if got := reg.Spec; len(got.RedirectURIs) != 2 || got.When.All[0].Equals != "dev" || len(got.Scopes) != 3 || got.AccessTokenLifetime.String() != "10m" {
		t.Fatalf("spec %+v", got)
	}
	page = ev.Do(t, "GET", "/admin/apps", nil).Body.String()
	if !strings.Contains(page, `data-id="wiki"`) || !strings.Contains(page, "registered") || !strings.Contains(page, "confidential, third-party") || strings.Contains(page, secret) {
		t.Fatalf("list after register:\n%s", page)
	}
	edit := ev.Do(t, "GET", "/admin/apps/wiki", nil).Body.String()
	if strings.Contains(edit, secret) || strings.Contains(edit, stored.SecretHash) || !strings.Contains(edit, `id="cond-0-attribute" name="cond.attribute" value="groups"`) {
		t.Fatalf("edit page:\n%s", edit)
	}

	// Problems next to their fields; what was typed is kept.
	bad := wikiForm(csrf)
	bad.Set("id", "bad")
	bad.Set("redirect_uris", "http://evil.example.com/cb")
	bad.Set("cond.op", "regex")
	bad["cond.value"] = []string{"(", ""}
	rec = ev.Do(t, "POST", "/admin/apps/new", bad)
	body := html.UnescapeString(rec.Body.String())
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="app-redirect-uris-err"`) || !strings.Contains(body, "must use https") ||
		!strings.Contains(body, `id="cond-0-err"`) || !strings.Contains(body, "http://evil.example.com/cb</textarea>") {
		t.Fatalf("problems: %d\n%s", rec.Code, body)
	}
	bad = wikiForm(csrf)
	bad.Set("id", "bad")
	bad.Set("refresh_token_lifetime", "forever")
	if rec := ev.Do(t, "POST", "/admin/apps/new", bad); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `id="app-refresh-lifetime-err"`) {
		t.Fatalf("bad duration: %d\n%s", rec.Code, rec.Body)
	}
	// "Add condition" works without JavaScript: another row, nothing saved.
	add := wikiForm(csrf)
	add.Set("id", "other")
	add.Set("op", "add-row")
	add.Set("match", "any")
	if rec := ev.Do(t, "POST", "/admin/apps/new", add); rec.Code != http.StatusOK || strings.Count(rec.Body.String(), `name="cond.attribute"`) != 3 || !strings.Contains(rec.Body.String(), `<option value="any" selected>`) {
		t.Fatalf("add row: %d (a third row, match any kept)", rec.Code)
	}

	// Edit at version 1, then a stale edit from version 1.
	upd := wikiForm(csrf)
	upd.Set("version", "1")
	upd.Set("name", "Wiki")
	if rec := ev.Do(t, "POST", "/admin/apps/wiki", upd); rec.Code != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", rec.Code, rec.Body)
	}
	upd.Set("name", "Stale wiki")
	rec = ev.Do(t, "POST", "/admin/apps/wiki", upd)
	body = rec.Body.String()
	if rec.Code != http.StatusConflict || !strings.Contains(body, "Someone else changed this app") || !strings.Contains(body, `value="Wiki"`) ||
		!strings.Contains(body, `name="version" value="2"`) || strings.Contains(body, "Stale wiki") {
		t.Fatalf("stale edit: %d\n%s", rec.Code, body)
	}
	if reg, _ := ev.Config.Apps.Registry().Get(ctx, "wiki"); reg.Spec.Name != "Wiki" || reg.Version != 2 {
		t.Fatalf("after stale edit %+v", reg)
	}

	// Rotate: asks first, then a new secret page.
	rec = ev.Do(t, "POST", "/admin/apps/wiki/secret", url.Values{"csrf_token": {csrf}, "version": {"2"}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="confirm-form"`) || secretRe.MatchString(rec.Body.String()) {
		t.Fatalf("rotate question: %d\n%s", rec.Code, rec.Body)
	}
	if s, _ := ev.DB.AppClient(ctx, "wiki"); s.SecretHash != stored.SecretHash {
		t.Fatal("the question rotated the secret")
	}
	rec = ev.Do(t, "POST", "/admin/apps/wiki/secret", url.Values{"csrf_token": {csrf}, "version": {"2"}, "confirm": {"1"}})
	m = secretRe.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil || m[1] == secret || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d\n%s", rec.Code, rec.Body)
	}
	if s, _ := ev.DB.AppClient(ctx, "wiki"); s.SecretHash != apps.HashSecret(m[1]) {
		t.Fatal("the new secret is not the stored one")
	}

	// Delete: asks first; a stale version is refused; then gone.
	if rec := ev.Do(t, "POST", "/admin/apps/wiki/delete", url.Values{"csrf_token": {csrf}, "version": {"3"}}); !strings.Contains(rec.Body.String(), "Delete app wiki?") {
		t.Fatalf("delete question: %d", rec.Code)
	}
	if rec := ev.Do(t, "POST", "/admin/apps/wiki/delete", url.Values{"csrf_token": {csrf}, "version": {"2"}, "confirm": {"1"}}); rec.Code != http.StatusConflict {
		t.Fatalf("stale delete: %d", rec.Code)
	}
	if rec := ev.Do(t, "POST", "/admin/apps/wiki/delete", url.Values{"csrf_token": {csrf}, "version": {"3"}, "confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", rec.Code, rec.Body)
	}
	if _, err := ev.DB.AppClient(ctx, "wiki"); err == nil {
		t.Fatal("not deleted")
	}
	if page := ev.Do(t, "GET", "/admin/apps", nil).Body.String(); !strings.Contains(page, "Deleted app wiki") || strings.Contains(page, `data-id="wiki"`) {
		t.Fatalf("list after delete:\n%s", page)
	}
}

// An app of the config file is shown read-only and cannot be changed
// through the pages.
func TestAdminAppsConfigAppReadOnly(t *testing.T) {
	ev := appsEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	page := ev.Do(t, "GET", "/admin/apps/grafana", nil).Body.String()
	if !strings.Contains(page, "managed in the config file") || !strings.Contains(page, "disabled") || strings.Contains(page, `id="op-save"`) || strings.Contains(page, `id="op-delete"`) {
		t.Fatalf("config app page:\n%s", page)
	}
	form := wikiForm(csrf)
	form.Set("id", "grafana")
	form.Set("name", "Changed")
	if rec := ev.Do(t, "POST", "/admin/apps/grafana", form); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "Nothing was saved") {
		t.Fatalf("save config app: %d", rec.Code)
	}
	for _, path := range []string{"/admin/apps/grafana/delete", "/admin/apps/grafana/secret"} {
		if rec := ev.Do(t, "POST", path, url.Values{"csrf_token": {csrf}, "confirm": {"1"}}); rec.Code != http.StatusConflict {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
	if reg, _ := ev.Config.Apps.Registry().Get(context.Background(), "grafana"); reg.Spec.Name != "Grafana" {
		t.Fatalf("config app changed: %+v", reg.Spec)
	}
}

func TestAdminAppsOffWithoutProvider(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	rec := ev.Do(t, "GET", "/admin/apps", nil)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "issuer.oidc.key") {
		t.Fatalf("apps off: %d\n%s", rec.Code, rec.Body)
	}
}

// A public app registered without a secret, then made confidential: the
// save shows its new secret once; made public again, it has none.
func TestAdminAppsPublicThenConfidential(t *testing.T) {
	ev := appsEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	ctx := context.Background()
	form := wikiForm(csrf)
	form.Set("public", "1")
	if rec := ev.Do(t, "POST", "/admin/apps/new", form); rec.Code != http.StatusSeeOther || secretRe.MatchString(rec.Body.String()) {
		t.Fatalf("register public: %d\n%s", rec.Code, rec.Body)
	}
	if s, _ := ev.DB.AppClient(ctx, "wiki"); s.SecretHash != "" {
		t.Fatal("a public app has a secret")
	}
	form.Del("public")
	form.Set("version", "1")
	rec := ev.Do(t, "POST", "/admin/apps/wiki", form)
	m := secretRe.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil || !strings.Contains(rec.Body.String(), "now as a confidential app") {
		t.Fatalf("made confidential: %d\n%s", rec.Code, rec.Body)
	}
	if s, _ := ev.DB.AppClient(ctx, "wiki"); s.SecretHash != apps.HashSecret(m[1]) {
		t.Fatal("the shown secret is not the stored one")
	}
}
