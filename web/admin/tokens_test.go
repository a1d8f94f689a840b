package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// tokenRow is the list row of the token with id.
func tokenRow(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr id="token-` + regexp.QuoteMeta(id) + `">(.*?)</tr>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no row for token %s in\n%s", id, page)
	}
	return m[1]
}

func TestTokensPageShowsExpiryScopesAndLastUse(t *testing.T) {
	ctx := context.Background()
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)

	// The form: lifetimes up to the max, the default selected; every scope
	// offered, the read-only preset checked.
	page := ev.Do(t, "GET", "/admin/tokens", nil).Body.String()
	for _, want := range []string{`<option value="604800" >7 days</option>`, `<option value="7776000" selected>90 days (the default)</option>`,
		`<option value="31536000" >365 days (the maximum)</option>`,
		`value="rules:read" checked>`, `value="rules:write" >`, `value="audit:read" checked>`, `value="sessions:write" >`} {
		if !strings.Contains(page, want) {
			t.Errorf("the create form lacks %s", want)
		}
	}

	rec := ev.Do(t, "POST", "/admin/tokens", url.Values{"csrf_token": {csrf}, "name": {"week"}, "lifetime": {"604800"}, "scope": {"rules:read", "rules:write"}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	toks, _ := ev.DB.APITokens(ctx)
	if len(toks) != 1 || toks[0].ExpiresAt.Sub(toks[0].CreatedAt) != 7*24*time.Hour {
		t.Fatalf("tokens %+v", toks)
	}
	week := toks[0]
	row := tokenRow(t, rec.Body.String(), week.ID)
	for _, want := range []string{"never", week.ExpiresAt.UTC().Format(time.RFC3339), `<span class="tag">rules:read</span>`, `<span class="tag">rules:write</span>`, "okta/ann"} {
		if !strings.Contains(row, want) {
			t.Errorf("the new token's row lacks %q:\n%s", want, row)
		}
	}
	if strings.Contains(row, "expired") {
		t.Errorf("a live token is shown expired:\n%s", row)
	}

	// Used once: the row shows when.
	secret := regexp.MustCompile(`id="token-value">(brk_[^<]+)<`).FindStringSubmatch(rec.Body.String())[1]
	jar := ev.Jar
	ev.Jar = nil
	if rec := ev.API(t, "GET", "/api/v1/rules", "", "Authorization", "Bearer "+secret); rec.Code != http.StatusOK {
		t.Fatalf("use: %d", rec.Code)
	}
	ev.Jar = jar
	toks, _ = ev.DB.APITokens(ctx)
	row = tokenRow(t, ev.Do(t, "GET", "/admin/tokens", nil).Body.String(), week.ID)
	if toks[0].LastUsedAt.IsZero() || !strings.Contains(row, toks[0].LastUsedAt.UTC().Format(time.RFC3339)) || strings.Contains(row, "never") {
		t.Errorf("the row does not show the last use %v:\n%s", toks[0].LastUsedAt, row)
	}

	// An expired token is listed as expired until it is revoked.
	sum := [32]byte{9}
	if err := ev.DB.CreateAPIToken(ctx, &store.APIToken{ID: "old", Name: "old", Hash: sum[:], CreatedBy: "okta/ann", CreatorProvider: "okta",
		CreatorSubject: "ann", Scopes: []string{"audit:read"}, ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if row := tokenRow(t, ev.Do(t, "GET", "/admin/tokens", nil).Body.String(), "old"); !strings.Contains(row, `<span class="tag deny">expired</span>`) {
		t.Errorf("the expired token is not marked expired:\n%s", row)
	}
}

func TestTokenCreateRefusals(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	for name, c := range map[string]struct {
		form url.Values
		code int
		msg  string
	}{
		"no scope":      {url.Values{"name": {"x"}}, http.StatusBadRequest, "at least one scope"},
		"unknown scope": {url.Values{"name": {"x"}, "scope": {"rules:admin"}}, http.StatusBadRequest, "Unknown scope"},
		"over the max":  {url.Values{"name": {"x"}, "scope": {"rules:read"}, "lifetime": {"31622400"}}, http.StatusBadRequest, "at most 365 days"},
		"bad lifetime":  {url.Values{"name": {"x"}, "scope": {"rules:read"}, "lifetime": {"forever"}}, http.StatusBadRequest, "lifetimes offered"},
	} {
		c.form.Set("csrf_token", csrf)
		rec := ev.Do(t, "POST", "/admin/tokens", c.form)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), `id="form-problem"`) || !strings.Contains(rec.Body.String(), c.msg) {
			t.Errorf("%s: %d, want %d with %q", name, rec.Code, c.code, c.msg)
		}
		if strings.Contains(rec.Body.String(), `id="token-value"`) {
			t.Errorf("%s: a token was shown", name)
		}
	}
	if toks, _ := ev.DB.APITokens(context.Background()); len(toks) != 0 {
		t.Fatalf("refused requests created tokens: %+v", toks)
	}
}
