package portal_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
)

// devGrant is the broker-issued Developer role of the env's rules.
const devGrant = webtest.DevRole + "|arn:aws:iam::" + webtest.Acct + ":saml-provider/broker|saml"

const s3 = "https://console.aws.amazon.com/s3/home"

// signInAsked signs in through an SP-initiated login whose request was
// sent with the given Sec-Fetch-Site ("" = no header), for the role in
// query, and returns the ACS answer. It must be the env's first login
// (the fake SP names it id-a).
func signInAsked(t *testing.T, ev *webtest.Env, query, site string) *httptest.ResponseRecorder {
	t.Helper()
	var hdr []string
	if site != "" {
		hdr = []string{"Sec-Fetch-Site", site}
	}
	if rec := ev.Do(t, http.MethodGet, "/saml/okta/login?"+query, nil, hdr...); rec.Code != http.StatusFound {
		t.Fatalf("login: %d", rec.Code)
	}
	ev.SP.Result.InResponseTo = "id-a"
	defer func() { ev.SP.Result.InResponseTo = "" }()
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}}, "Sec-Fetch-Site", "cross-site")
	if ids := ev.SP.LastIn.RequestIDs; len(ids) != 1 || ids[0] != "id-a" {
		t.Fatalf("signInAsked must be the first login; pending requests %v", ids)
	}
	return rec
}

// confirmation checks that rec lands on the confirmation page for
// grantKey (following the ACS's redirect) and returns the page.
func confirmation(t *testing.T, ev *webtest.Env, rec *httptest.ResponseRecorder, grantKey, roleName, dest string) string {
	t.Helper()
	if rec.Code == http.StatusSeeOther {
		loc := rec.Header().Get("Location")
		if !strings.HasPrefix(loc, "/open?") {
			t.Fatalf("redirect to %q, want the confirmation page", loc)
		}
		rec = ev.Do(t, http.MethodGet, loc, nil, "Sec-Fetch-Site", "cross-site")
	}
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `id="confirm-role"`) {
		t.Fatalf("want the confirmation page, got %d %q\n%s", rec.Code, rec.Header().Get("Location"), body)
	}
	for _, want := range []string{"Alice &lt;script&gt;", webtest.Acct, roleName, "up to 1 h", `name="grant" value="` + html.EscapeString(grantKey) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("confirmation page lacks %q:\n%s", want, body)
		}
	}
	if dest != "" && !strings.Contains(body, html.EscapeString(dest)) {
		t.Errorf("confirmation page does not name the destination %q", dest)
	}
	if ev.STS.N != 0 {
		t.Errorf("a role was assumed before the person confirmed it (%d STS calls)", ev.STS.N)
	}
	return body
}

// devConfirmation is confirmation for the Developer role.
func devConfirmation(t *testing.T, ev *webtest.Env, rec *httptest.ResponseRecorder, dest string) string {
	t.Helper()
	return confirmation(t, ev, rec, devGrant, "Developer", dest)
}

// confirmOpens posts the confirmation page's button and expects AWS.
func confirmOpens(t *testing.T, ev *webtest.Env, page string) {
	t.Helper()
	form := url.Values{"csrf_token": {webtest.CSRFRe.FindStringSubmatch(page)[1]}, "grant": {devGrant}}
	if m := destRe(page); m != "" {
		form.Set("destination", m)
	}
	rec := ev.Do(t, http.MethodPost, "/console", form, "Sec-Fetch-Site", "same-origin")
	if rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "SigninToken=") {
		t.Fatalf("confirm: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
}

func destRe(page string) string {
	const k = `name="destination" value="`
	i := strings.Index(page, k)
	if i < 0 {
		return ""
	}
	rest := page[i+len(k):]
	return html.UnescapeString(rest[:strings.IndexByte(rest, '"')])
}

// A role link on the login route opens the role right after sign-in only
// when the person asked for it on this site (or typed it).
func TestRoleLinkOnLogin(t *testing.T) {
	q := "grant=" + url.QueryEscape(devGrant) + "&destination=" + url.QueryEscape(s3)
	for _, site := range []string{"same-origin", "none"} {
		t.Run("opens/"+site, func(t *testing.T) {
			ev := webtest.NewEnv(t, "http://localhost:8080")
			rec := signInAsked(t, ev, q, site)
			m := metaRefresh.FindStringSubmatch(rec.Body.String())
			if rec.Code != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "/continue?t=") {
				t.Fatalf("ACS: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
			}
			if rec := ev.Do(t, http.MethodGet, html.UnescapeString(m[1]), nil, "Sec-Fetch-Site", "same-origin"); rec.Code != http.StatusFound || ev.STS.N != 1 {
				t.Fatalf("continue: %d, %d STS calls", rec.Code, ev.STS.N)
			}
		})
	}
	for _, site := range []string{"cross-site", "same-site", ""} {
		t.Run("asks/"+site, func(t *testing.T) {
			ev := webtest.NewEnv(t, "http://localhost:8080")
			page := devConfirmation(t, ev, signInAsked(t, ev, q, site), s3)
			confirmOpens(t, ev, page)
		})
	}
	t.Run("asks/oidc", func(t *testing.T) {
		ev, op := newOIDCEnv(t)
		ev.Do(t, http.MethodGet, "/oidc/kc/login?grant=g1", nil, "Sec-Fetch-Site", "cross-site")
		rec := callback(ev, t, "code=good-code&state="+url.QueryEscape(op.state))
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/open?") || !strings.Contains(loc, "confirm=1") {
			t.Fatalf("callback: %d %q", rec.Code, loc)
		}
		if op.exchanges != 1 || ev.STS.N != 0 {
			t.Fatalf("%d exchanges, %d STS calls", op.exchanges, ev.STS.N)
		}
	})
	t.Run("confirm=1 is kept however the login was sent", func(t *testing.T) {
		ev := webtest.NewEnv(t, "http://localhost:8080")
		devConfirmation(t, ev, signInAsked(t, ev, q+"&confirm=1", "same-origin"), s3)
	})
	t.Run("forged intent", func(t *testing.T) {
		ev := webtest.NewEnv(t, "http://localhost:8080")
		devConfirmation(t, ev, signInAsked(t, ev, q+"&intent=AAAAAAAAAAAAAAAAAAAAAAAA", "cross-site"), s3)
	})
}

// The broker's own re-authentication link carries an intent token: the
// role opens after sign-in even when the browser sends no Sec-Fetch-Site.
func TestReauthLinkNeedsNoConfirmation(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	csrf, grants := ev.SignIn(t)
	var adm string
	for _, g := range grants {
		if strings.HasPrefix(g, webtest.AdmRole) {
			adm = g
		}
	}
	if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {adm}}); rec.Code != http.StatusFound {
		t.Fatalf("first use: %d", rec.Code)
	}
	// The Response is spent: the broker signs in again for this role.
	rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {adm}})
	m := metaRefresh.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("no re-authentication page: %d\n%s", rec.Code, rec.Body)
	}
	link := html.UnescapeString(m[1])
	if !strings.Contains(link, "intent=") {
		t.Fatalf("re-authentication link %q has no intent token", link)
	}
	rec = signInAsked(t, ev, strings.TrimPrefix(link, "/saml/okta/login?"), "") // no Sec-Fetch-Site at all
	if m := metaRefresh.FindStringSubmatch(rec.Body.String()); rec.Code != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "/continue?t=") {
		t.Fatalf("after re-authentication: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	// The same link in another browser session is not the broker's own.
	other := webtest.NewEnv(t, "http://localhost:8080")
	other.SignIn(t)
	confirmation(t, other, signInAsked(t, other, strings.TrimPrefix(link, "/saml/okta/login?"), "cross-site"), adm, "Admin", "")
}

// GET /open is the deep link people bookmark and paste.
func TestOpenDeepLink(t *testing.T) {
	link := "/open?grant=" + url.QueryEscape(devGrant) + "&destination=" + url.QueryEscape(s3)
	t.Run("typed or same-origin opens", func(t *testing.T) {
		for _, site := range []string{"none", "same-origin"} {
			ev := webtest.NewEnv(t, "http://localhost:8080")
			ev.SignIn(t)
			rec := ev.Do(t, http.MethodGet, link, nil, "Sec-Fetch-Site", site)
			if rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "SigninToken=") || ev.STS.N != 1 {
				t.Fatalf("%s: %d %q", site, rec.Code, rec.Header().Get("Location"))
			}
		}
	})
	t.Run("another site asks", func(t *testing.T) {
		for _, site := range []string{"cross-site", "same-site", ""} {
			ev := webtest.NewEnv(t, "http://localhost:8080")
			ev.SignIn(t)
			var hdr []string
			if site != "" {
				hdr = []string{"Sec-Fetch-Site", site}
			}
			page := devConfirmation(t, ev, ev.Do(t, http.MethodGet, link, nil, hdr...), s3)
			if !strings.Contains(page, `id="confirm-not-now" href="/"`) && !strings.Contains(page, `href="/" id="confirm-not-now"`) {
				t.Errorf("no Not now link to the portal")
			}
			confirmOpens(t, ev, page)
		}
	})
	t.Run("confirmation needs the CSRF token", func(t *testing.T) {
		ev := webtest.NewEnv(t, "http://localhost:8080")
		ev.SignIn(t)
		page := devConfirmation(t, ev, ev.Do(t, http.MethodGet, link, nil, "Sec-Fetch-Site", "cross-site"), s3)
		csrf := webtest.CSRFRe.FindStringSubmatch(page)[1]
		for name, form := range map[string]url.Values{
			"no token":    {"grant": {devGrant}},
			"wrong token": {"grant": {devGrant}, "csrf_token": {wrongToken(csrf)}},
		} {
			if rec := ev.Do(t, http.MethodPost, "/console", form); rec.Code != http.StatusForbidden {
				t.Errorf("%s: %d", name, rec.Code)
			}
		}
		if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"grant": {devGrant}, "csrf_token": {csrf}}, "Sec-Fetch-Site", "cross-site"); rec.Code != http.StatusForbidden {
			t.Errorf("cross-site POST with the token: %d", rec.Code)
		}
		if ev.STS.N != 0 {
			t.Errorf("%d STS calls", ev.STS.N)
		}
	})
	t.Run("a grant the person lacks", func(t *testing.T) {
		ev := webtest.NewEnv(t, "http://localhost:8080")
		ev.SignIn(t)
		other := "/open?grant=" + url.QueryEscape("arn:aws:iam::999988887777:role/Root|arn:aws:iam::999988887777:saml-provider/broker|saml")
		for _, site := range []string{"cross-site", "none"} {
			rec := ev.Do(t, http.MethodGet, other, nil, "Sec-Fetch-Site", site)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "do not have access to this role") || strings.Contains(rec.Body.String(), `id="confirm-role"`) {
				t.Errorf("%s: %d\n%s", site, rec.Code, rec.Body)
			}
		}
	})
	t.Run("a destination that is not the console", func(t *testing.T) {
		ev := webtest.NewEnv(t, "http://localhost:8080")
		ev.SignIn(t)
		rec := ev.Do(t, http.MethodGet, "/open?grant="+url.QueryEscape(devGrant)+"&destination="+url.QueryEscape("https://evil.example.com/"), nil, "Sec-Fetch-Site", "cross-site")
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "not an AWS console page") {
			t.Errorf("%d\n%s", rec.Code, rec.Body)
		}
	})
	t.Run("signed out keeps the role and the mark", func(t *testing.T) {
		ev := webtest.NewEnv(t, "http://localhost:8080")
		rec := ev.Do(t, http.MethodGet, link, nil, "Sec-Fetch-Site", "cross-site")
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if rec.Code != http.StatusSeeOther || loc.Path != "/" || loc.Query().Get("grant") != devGrant || loc.Query().Get("confirm") != "1" {
			t.Fatalf("signed out: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		page := ev.Do(t, http.MethodGet, loc.String(), nil, "Sec-Fetch-Site", "cross-site").Body.String()
		login := loginLink(t, page)
		if login.Query().Get("grant") != devGrant || login.Query().Get("confirm") != "1" || !strings.Contains(page, `id="signin-role"`) {
			t.Fatalf("sign-in page links to %q", login)
		}
		// The person clicks the provider on our page (same-origin): the
		// mark from the first request still holds.
		devConfirmation(t, ev, signInAsked(t, ev, login.RawQuery, "same-origin"), s3)
	})
	t.Run("a sign-in page reached from another site marks its links", func(t *testing.T) {
		ev := webtest.NewEnv(t, "http://localhost:8080")
		page := ev.Do(t, http.MethodGet, "/?grant="+url.QueryEscape(devGrant), nil, "Sec-Fetch-Site", "cross-site").Body.String()
		if login := loginLink(t, page); login.Query().Get("confirm") != "1" {
			t.Fatalf("sign-in page links to %q", login)
		}
		page = ev.Do(t, http.MethodGet, "/?grant="+url.QueryEscape(devGrant), nil, "Sec-Fetch-Site", "none").Body.String()
		if login := loginLink(t, page); login.Query().Get("confirm") != "" || login.Query().Get("grant") != devGrant {
			t.Fatalf("typed: sign-in page links to %q", login)
		}
	})
}

func loginLink(t *testing.T, page string) *url.URL {
	t.Helper()
	const k = `href="/saml/okta/login`
	i := strings.Index(page, k)
	if i < 0 {
		t.Fatalf("no login link:\n%s", page)
	}
	rest := page[i+len(`href="`):]
	u, err := url.Parse(html.UnescapeString(rest[:strings.IndexByte(rest, '"')]))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// An IdP-initiated sign-in never opens a role by itself: neither its
// RelayState deep link nor the single role AutoSelectSingleRole picks.
func TestIdPInitiatedRoleIsConfirmed(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	cfg := ev.Config
	cfg.AutoSelectSingleRole = true
	ev.Rebuild(t, cfg)
	// alice without the role her IdP asserts: Developer is her only role.
	ev.SP.Result.Identity.Attributes = map[string][]string{"groups": {"dev"}, "displayName": {"Alice <script>"}}
	ev.SP.Result.Identity.Roles = nil
	rec := fromIdP(t, ev, url.Values{"SAMLResponse": {"x"}, "RelayState": {s3}})
	confirmOpens(t, ev, devConfirmation(t, ev, rec, s3))

	// SP-initiated from this site, the single role still opens at once.
	ev2 := webtest.NewEnv(t, "http://localhost:8080")
	cfg2 := ev2.Config
	cfg2.AutoSelectSingleRole = true
	ev2.Rebuild(t, cfg2)
	ev2.SP.Result.Identity.Attributes = map[string][]string{"groups": {"dev"}}
	ev2.SP.Result.Identity.Roles = nil
	rec = signInAsked(t, ev2, "", "same-origin")
	if m := metaRefresh.FindStringSubmatch(rec.Body.String()); rec.Code != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "/continue?t=") {
		t.Fatalf("SP-initiated single role: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

var userRe = regexp.MustCompile(`id="user">([^<]*)<`)

// wrongToken is a token of the same length that differs from tok.
func wrongToken(tok string) string {
	if strings.HasPrefix(tok, "x") {
		return "y" + tok[1:]
	}
	return "x" + tok[1:]
}
