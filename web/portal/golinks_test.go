package portal_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

const (
	prodAcct   = "444455556666"
	roRole     = "arn:aws:iam::" + prodAcct + ":role/ReadOnly"
	brokerSAML = "arn:aws:iam::" + webtest.Acct + ":saml-provider/broker"
	// devWebGrant is Developer reached through AssumeRoleWithWebIdentity.
	devWebGrant = webtest.DevRole + "||web-identity"
	roGrant     = roRole + "|arn:aws:iam::" + prodAcct + ":saml-provider/broker|saml"
	euHome      = "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
)

// newGoEnv is a site with accounts sandbox (webtest.Acct, "Sandbox") and
// production (prodAcct, "Production"). Group dev gets Developer in the
// sandbox twice (saml first, then web-identity) and ReadOnly, labelled
// "Read only", in production; nobody gets production Admin. Alice (group
// dev) is the fake IdP's sign-in; nobody is signed in yet.
func newGoEnv(t *testing.T) *webtest.AdminEnv {
	t.Helper()
	ev := webtest.NewAdminEnv(t)
	ctx := context.Background()
	adm := ev.Config.Admin.Admin
	snap, err := adm.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dev := mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}}
	rules := []mapping.Rule{
		{Name: "devs", When: dev, Grant: mapping.GrantSpec{Account: "sandbox", Role: "Developer", Label: "Developer"}},
		{Name: "devs-web", When: dev, Grant: mapping.GrantSpec{Account: "sandbox", Role: "Developer", Label: "Developer", Downstream: "web-identity"}},
		{Name: "ops", When: dev, Grant: mapping.GrantSpec{Account: "production", Role: "ReadOnly", Label: "Read only"}},
	}
	accounts := []mapping.Account{{ID: webtest.Acct, Alias: "sandbox", Label: "Sandbox"}, {ID: prodAcct, Alias: "production", Label: "Production"}}
	if _, err := adm.ReplaceAll(ctx, broker.Actor{ID: "test"}, rules, accounts, snap.Revision, false); err != nil {
		t.Fatal(err)
	}
	ev.SP.Result = &saml.Result{Identity: broker.Identity{
		Provider: "okta", Protocol: broker.ProtocolSAML, Subject: "alice",
		Attributes: map[string][]string{"groups": {"dev"}, "displayName": {"Alice <script>"}},
		Expires:    time.Now().Add(5 * time.Minute),
	}, ResponseXML: []byte("<Response/>"), AssertionID: "_alice"}
	return ev
}

// signedIn is newGoEnv with alice signed in.
func signedIn(t *testing.T) *webtest.AdminEnv {
	t.Helper()
	ev := newGoEnv(t)
	ev.SignIn(t)
	return ev
}

// opened checks that rec is the redirect to AWS for roleARN (one STS call,
// audited as that role).
func opened(t *testing.T, ev *webtest.AdminEnv, rec *httptest.ResponseRecorder, roleARN string) {
	t.Helper()
	if rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "SigninToken=") || ev.STS.N != 1 {
		t.Fatalf("want the console for %s: %d %q, %d STS calls\n%s", roleARN, rec.Code, rec.Header().Get("Location"), ev.STS.N, rec.Body)
	}
	evs, err := ev.DB.ListAudit(context.Background(), store.AuditFilter{Event: "console_url_issued"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].RoleARN != roleARN {
		t.Fatalf("console opened for %+v, want %s", evs, roleARN)
	}
}

// Typed or same-origin, a /go link opens the role it names, whichever
// way it names the account and the role.
func TestGoLinkOpens(t *testing.T) {
	for name, c := range map[string]struct{ query, role string }{
		"alias and name":               {"account=sandbox&role=Developer", webtest.DevRole},
		"id and name":                  {"account=" + webtest.Acct + "&role=Developer", webtest.DevRole},
		"alias in capitals":            {"account=SANDBOX&role=developer", webtest.DevRole},
		"id and ARN":                   {"account=" + webtest.Acct + "&role=" + url.QueryEscape(webtest.DevRole), webtest.DevRole},
		"ARN alone":                    {"role=" + url.QueryEscape(roRole), roRole},
		"account label and role label": {"account=Production&role=" + url.QueryEscape("Read only"), roRole},
		"region":                       {"account=production&role=ReadOnly&region=eu-west-1", roRole},
		"destination":                  {"account=production&role=ReadOnly&destination=" + url.QueryEscape(s3), roRole},
	} {
		for _, site := range []string{"none", "same-origin"} {
			t.Run(name+"/"+site, func(t *testing.T) {
				ev := signedIn(t)
				opened(t, ev, ev.Do(t, http.MethodGet, "/go?"+c.query, nil, "Sec-Fetch-Site", site), c.role)
			})
		}
	}
}

// From another site (or a browser that does not say), a /go link lands
// on the confirmation page for the grant it means, never on AWS.
func TestGoLinkFromAnotherSiteAsks(t *testing.T) {
	for name, c := range map[string]struct{ query, grant, role, dest string }{
		// Developer is granted twice: the portal's first (saml) unless via says.
		"first of two":      {"account=sandbox&role=Developer", brokerDevGrant, "Developer", ""},
		"via saml":          {"account=sandbox&role=Developer&via=saml", brokerDevGrant, "Developer", ""},
		"via web-identity":  {"account=sandbox&role=Developer&via=web-identity", devWebGrant, "Developer", ""},
		"region":            {"account=production&role=ReadOnly&region=eu-west-1", roGrant, "ReadOnly", euHome},
		"destination wins":  {"account=production&role=ReadOnly&region=eu-west-1&destination=" + url.QueryEscape(s3), roGrant, "ReadOnly", s3},
		"role by its label": {"account=production&role=Read+only", roGrant, "ReadOnly", ""},
	} {
		for _, site := range []string{"cross-site", "same-site", ""} {
			t.Run(name+"/"+site, func(t *testing.T) {
				ev := signedIn(t)
				var hdr []string
				if site != "" {
					hdr = []string{"Sec-Fetch-Site", site}
				}
				goConfirmation(t, ev, ev.Do(t, http.MethodGet, "/go?"+c.query, nil, hdr...), c.grant, c.role, c.dest)
			})
		}
	}
	t.Run("confirm=1 asks even when typed", func(t *testing.T) {
		ev := signedIn(t)
		goConfirmation(t, ev, ev.Do(t, http.MethodGet, "/go?account=sandbox&role=Developer&confirm=1", nil, "Sec-Fetch-Site", "none"), brokerDevGrant, "Developer", "")
	})
}

// goConfirmation is confirmation for any of newGoEnv's roles: the page
// names the role's account id and the grant the link means.
func goConfirmation(t *testing.T, ev *webtest.AdminEnv, rec *httptest.ResponseRecorder, grantKey, roleName, dest string) string {
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
	acct := strings.Split(grantKey, ":")[4]
	for _, want := range []string{"Alice &lt;script&gt;", acct, roleName, `name="grant" value="` + html.EscapeString(grantKey) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("confirmation page lacks %q:\n%s", want, body)
		}
	}
	if got := destRe(body); got != dest {
		t.Errorf("confirmation page opens %q, want %q", got, dest)
	}
	if ev.STS.N != 0 {
		t.Errorf("a role was assumed before the person confirmed it (%d STS calls)", ev.STS.N)
	}
	return body
}

// brokerDevGrant is Developer through the broker's SAML provider.
const brokerDevGrant = webtest.DevRole + "|" + brokerSAML + "|saml"

// A /go link for a role the person does not have is a 403 that says, in
// words, which role in which account; a malformed one is a 400.
func TestGoLinkRefusals(t *testing.T) {
	for name, c := range map[string]struct {
		query  string
		status int
		say    string
	}{
		"not granted":        {"account=production&role=Admin", http.StatusForbidden, "You do not have the role Admin in Production (444455556666)."},
		"not granted by id":  {"account=444455556666&role=Admin", http.StatusForbidden, "You do not have the role Admin in Production (444455556666)."},
		"not granted by ARN": {"role=" + url.QueryEscape("arn:aws:iam::"+prodAcct+":role/Admin"), http.StatusForbidden, "You do not have the role Admin in Production (444455556666)."},
		"unknown account":    {"account=nosuch&role=Developer", http.StatusForbidden, "You do not have the role Developer in nosuch."},
		"unnamed account":    {"account=999988887777&role=Developer", http.StatusForbidden, "You do not have the role Developer in 999988887777."},
		"another account":    {"account=production&role=Developer", http.StatusForbidden, "You do not have the role Developer in Production (444455556666)."},
		"via it lacks":       {"account=production&role=ReadOnly&via=web-identity", http.StatusForbidden, "You do not have the role ReadOnly in Production (444455556666) through web-identity."},
		"no role":            {"account=sandbox", http.StatusBadRequest, "does not name an AWS account and a role"},
		"no account":         {"role=Developer", http.StatusBadRequest, "does not name an AWS account and a role"},
		"via unknown":        {"account=sandbox&role=Developer&via=carrier-pigeon", http.StatusBadRequest, "via= must be saml or web-identity"},
		"region malformed":   {"account=sandbox&role=Developer&region=moon-1", http.StatusBadRequest, "not an AWS region name"},
		"region elsewhere":   {"account=sandbox&role=Developer&region=cn-north-1", http.StatusBadRequest, "not a region of this role's AWS partition (aws)"},
		"not the console":    {"account=sandbox&role=Developer&destination=" + url.QueryEscape("https://evil.example.com/"), http.StatusBadRequest, "not an AWS console page"},
		"another partition":  {"account=sandbox&role=Developer&destination=" + url.QueryEscape("https://console.amazonaws.cn/s3"), http.StatusBadRequest, "not an AWS console page"},
		"javascript":         {"account=sandbox&role=Developer&destination=" + url.QueryEscape("javascript:alert(1)"), http.StatusBadRequest, "not an AWS console page"},
		"too long":           {"account=sandbox&role=" + strings.Repeat("r", 400), http.StatusBadRequest, "too long"},
		"too long encoded":   {"account=sandbox&role=" + strings.Repeat("%2F", 250), http.StatusBadRequest, "too long"},
		"not an ARN":         {"role=arn:nonsense", http.StatusBadRequest, "looks like an ARN but is not one"},
	} {
		for _, site := range []string{"none", "cross-site"} {
			t.Run(name+"/"+site, func(t *testing.T) {
				ev := signedIn(t)
				rec := ev.Do(t, http.MethodGet, "/go?"+c.query, nil, "Sec-Fetch-Site", site)
				body := html.UnescapeString(rec.Body.String())
				if rec.Code != c.status || !strings.Contains(body, c.say) {
					t.Fatalf("%d, want %d saying %q:\n%s", rec.Code, c.status, c.say, body)
				}
				if strings.Contains(body, `id="confirm-role"`) || ev.STS.N != 0 {
					t.Errorf("a refused link offered or opened a role (%d STS calls)", ev.STS.N)
				}
			})
		}
	}
	t.Run("MFA hint", func(t *testing.T) {
		ev := newGoEnv(t)
		adm := ev.Config.Admin.Admin
		ctx := context.Background()
		if _, err := adm.Create(ctx, broker.Actor{ID: "test"}, mapping.Rule{Name: "prod-admin", RequireMFA: true,
			When:  mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: "production", Role: "Admin"}}); err != nil {
			t.Fatal(err)
		}
		ev.SignIn(t)
		rec := ev.Do(t, http.MethodGet, "/go?account=production&role=Admin", nil, "Sec-Fetch-Site", "none")
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "multi-factor") {
			t.Fatalf("%d\n%s", rec.Code, rec.Body)
		}
	})
}

// Signed out, a /go link goes to the sign-in page, and the link survives
// the IdP round trip: after sign-in it asks first when it came from
// another site, and opens the role when it was typed.
func TestGoLinkSignedOut(t *testing.T) {
	const link = "/go?account=production&role=ReadOnly&region=eu-west-1"
	start := func(t *testing.T, site string) (*webtest.AdminEnv, *url.URL) {
		t.Helper()
		ev := newGoEnv(t)
		rec := ev.Do(t, http.MethodGet, link, nil, "Sec-Fetch-Site", site)
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if rec.Code != http.StatusSeeOther || loc.Path != "/" || !strings.HasPrefix(loc.Query().Get("grant"), "go:") {
			t.Fatalf("signed out: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		// The browser follows the redirect: same-origin after a typed
		// request stays "none"; after another site's link it is cross-site.
		page := ev.Do(t, http.MethodGet, loc.String(), nil, "Sec-Fetch-Site", site).Body.String()
		if !strings.Contains(page, `id="signin-role"`) {
			t.Fatalf("the sign-in page does not say a role opens after sign-in:\n%s", page)
		}
		login := loginLink(t, page)
		if login.Query().Get("grant") != loc.Query().Get("grant") {
			t.Fatalf("the login link %q lost the link", login)
		}
		return ev, login
	}
	t.Run("from another site: asks after sign-in", func(t *testing.T) {
		ev, login := start(t, "cross-site")
		if login.Query().Get("confirm") != "1" {
			t.Fatalf("the login link %q lost the cross-site mark", login)
		}
		// The person clicks the provider on our page (same-origin).
		rec := signInAsked(t, ev.Env, login.RawQuery, "same-origin")
		page := goConfirmation(t, ev, rec, roGrant, "ReadOnly", euHome)
		form := url.Values{"csrf_token": {webtest.CSRFRe.FindStringSubmatch(page)[1]}, "grant": {roGrant}, "destination": {destRe(page)}}
		opened(t, ev, ev.Do(t, http.MethodPost, "/console", form, "Sec-Fetch-Site", "same-origin"), roRole)
	})
	t.Run("typed: opens after sign-in", func(t *testing.T) {
		ev, login := start(t, "none")
		if login.Query().Get("confirm") != "" {
			t.Fatalf("a typed link was marked: %q", login)
		}
		rec := signInAsked(t, ev.Env, login.RawQuery, "same-origin")
		m := metaRefresh.FindStringSubmatch(rec.Body.String())
		if rec.Code != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "/continue?t=") {
			t.Fatalf("ACS: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		opened(t, ev, ev.Do(t, http.MethodGet, html.UnescapeString(m[1]), nil, "Sec-Fetch-Site", "same-origin"), roRole)
	})
	t.Run("a role the new session lacks: says so, signed in", func(t *testing.T) {
		ev := newGoEnv(t)
		rec := ev.Do(t, http.MethodGet, "/go?account=production&role=Admin", nil, "Sec-Fetch-Site", "none")
		loc, _ := url.Parse(rec.Header().Get("Location"))
		login := loginLink(t, ev.Do(t, http.MethodGet, loc.String(), nil, "Sec-Fetch-Site", "none").Body.String())
		rec = signInAsked(t, ev.Env, login.RawQuery, "same-origin")
		target := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(target, "/go?") || !strings.Contains(target, "confirm=1") {
			t.Fatalf("ACS: %d %q", rec.Code, target)
		}
		rec = ev.Do(t, http.MethodGet, target, nil, "Sec-Fetch-Site", "cross-site")
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "You do not have the role Admin in Production (444455556666).") {
			t.Fatalf("%d\n%s", rec.Code, rec.Body)
		}
		if got := userRe.FindStringSubmatch(ev.Do(t, http.MethodGet, "/", nil).Body.String()); got == nil || got[1] != "Alice &lt;script&gt;" {
			t.Errorf("not signed in after the sign-in: %v", got)
		}
	})
	t.Run("a malformed link is refused before sign-in", func(t *testing.T) {
		ev := newGoEnv(t)
		for _, q := range []string{"account=sandbox", "account=sandbox&role=Developer&region=moon-1",
			"account=sandbox&role=Developer&destination=" + url.QueryEscape("https://evil.example.com/")} {
			if rec := ev.Do(t, http.MethodGet, "/go?"+q, nil, "Sec-Fetch-Site", "none"); rec.Code != http.StatusBadRequest {
				t.Errorf("%s: %d", q, rec.Code)
			}
		}
	})
}

// goLinkRe finds a card's /go link.
var goLinkRe = regexp.MustCompile(`<a href="(/go\?[^"]+)">Link</a>`)

// Every role on the portal has its /go link, relative to the portal (the
// browser makes it absolute), with the account's alias, and following it
// means that very role.
func TestPortalCopyLinks(t *testing.T) {
	ev := signedIn(t)
	page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	var links []string
	for _, m := range goLinkRe.FindAllStringSubmatch(page, -1) {
		links = append(links, html.UnescapeString(m[1]))
	}
	grants := webtest.GrantRe.FindAllStringSubmatch(page, -1)
	want := []string{
		"/go?account=production&role=ReadOnly",
		"/go?account=sandbox&role=Developer",
		"/go?account=sandbox&role=Developer&via=web-identity",
	}
	if strings.Join(links, " ") != strings.Join(want, " ") || len(grants) != len(links) {
		t.Fatalf("links %q for %d roles, want %q", links, len(grants), want)
	}
	if !strings.Contains(page, `<script src="/static/portal.js"></script>`) || !strings.Contains(page, `id="copy-status"`) {
		t.Errorf("the portal does not load the copy script or has no status region")
	}
	for i, l := range links {
		u, _ := url.Parse(l)
		grant := html.UnescapeString(grants[i][1])
		rec := ev.Do(t, http.MethodGet, u.RequestURI(), nil, "Sec-Fetch-Site", "cross-site")
		if got := webtest.GrantRe.FindStringSubmatch(rec.Body.String()); rec.Code != http.StatusOK || got == nil || html.UnescapeString(got[1]) != grant {
			t.Errorf("%s means %v, the card is %s (%d)", l, got, grant, rec.Code)
		}
	}
	if rec := ev.Do(t, http.MethodGet, "/static/portal.js", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "clipboard") {
		t.Errorf("/static/portal.js: %d", rec.Code)
	}

	t.Run("an account without an alias is named by its id", func(t *testing.T) {
		ev := webtest.NewEnv(t, "http://localhost:8080")
		ev.SignIn(t)
		page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
		m := goLinkRe.FindAllStringSubmatch(page, -1)
		if len(m) == 0 || html.UnescapeString(m[0][1]) != "/go?account="+webtest.Acct+"&role=Developer" {
			t.Fatalf("links %q", m)
		}
	})
	t.Run("the portal's destination rides along", func(t *testing.T) {
		page := ev.Do(t, http.MethodGet, "/?destination="+url.QueryEscape(s3), nil).Body.String()
		m := goLinkRe.FindStringSubmatch(page)
		if m == nil || html.UnescapeString(m[1]) != "/go?account=production&destination="+url.QueryEscape(s3)+"&role=ReadOnly" {
			t.Fatalf("link %q", m)
		}
	})
}
