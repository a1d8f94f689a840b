package portal_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// withShortLinks is newGoEnv with the short links saved by an admin:
// ro (production ReadOnly in eu-west-1), ro-s3 (the same with the S3
// console), dev-web (sandbox Developer through web-identity) and dev (the
// sandbox by its id, Developer through saml).
func withShortLinks(t *testing.T, ev *webtest.AdminEnv) *webtest.AdminEnv {
	t.Helper()
	adm := ev.Config.Admin.Admin
	for _, l := range []ruleset.ShortLink{
		{Name: "ro", Account: "production", Role: "ReadOnly", Region: "eu-west-1"},
		{Name: "ro-s3", Account: "production", Role: "ReadOnly", Region: "eu-west-1", Destination: s3},
		{Name: "dev-web", Account: "sandbox", Role: "Developer", Via: "web-identity"},
		{Name: "dev", Account: webtest.Acct, Role: "Developer", Via: "saml"},
	} {
		if _, err := adm.SaveShortLink(context.Background(), broker.Actor{ID: "test"}, l); err != nil {
			t.Fatal(err)
		}
	}
	return ev
}

// Typed or same-origin, /go/NAME opens the role the saved link names,
// exactly as its /go link would; the request's own query adds nothing.
func TestShortLinkOpens(t *testing.T) {
	for name, c := range map[string]struct{ path, role string }{
		"region":                      {"/go/ro", roRole},
		"destination":                 {"/go/ro-s3", roRole},
		"account id and via":          {"/go/dev", webtest.DevRole},
		"extra parameters not merged": {"/go/ro?account=sandbox&role=Developer&destination=" + url.QueryEscape("https://evil.example.com/"), roRole},
	} {
		for _, site := range []string{"none", "same-origin"} {
			t.Run(name+"/"+site, func(t *testing.T) {
				ev := withShortLinks(t, signedIn(t))
				opened(t, ev, ev.Do(t, http.MethodGet, c.path, nil, "Sec-Fetch-Site", site), c.role)
			})
		}
	}
}

// From another site, /go/NAME lands on the confirmation page for the
// grant and destination the saved link means, never on AWS.
func TestShortLinkFromAnotherSiteAsks(t *testing.T) {
	for name, c := range map[string]struct{ path, grant, role, dest string }{
		"region":               {"/go/ro", roGrant, "ReadOnly", euHome},
		"destination":          {"/go/ro-s3", roGrant, "ReadOnly", s3},
		"via":                  {"/go/dev-web", devWebGrant, "Developer", ""},
		"confirm=1 when typed": {"/go/ro?confirm=1", roGrant, "ReadOnly", euHome},
	} {
		t.Run(name, func(t *testing.T) {
			ev := withShortLinks(t, signedIn(t))
			site := "cross-site"
			if strings.Contains(c.path, "confirm=1") {
				site = "none"
			}
			goConfirmation(t, ev, ev.Do(t, http.MethodGet, c.path, nil, "Sec-Fetch-Site", site), c.grant, c.role, c.dest)
		})
	}
}

// An unknown or malformed name is a 404 page that says so in words, and
// only a well-formed name is echoed back.
func TestShortLinkUnknown(t *testing.T) {
	ev := withShortLinks(t, signedIn(t))
	for path, say := range map[string]string{
		"/go/nosuch":                     "There is no short link /go/nosuch on this broker",
		"/go/Evil%3Cb%3Ehi":              "There is no short link this link on this broker",
		"/go/" + strings.Repeat("a", 65): "There is no short link this link",
	} {
		rec := ev.Do(t, http.MethodGet, path, nil, "Sec-Fetch-Site", "none")
		body := html.UnescapeString(rec.Body.String())
		if rec.Code != http.StatusNotFound || !strings.Contains(body, say) {
			t.Errorf("%s: %d, want 404 saying %q:\n%s", path, rec.Code, say, body)
		}
		if strings.Contains(rec.Body.String(), "<b>hi") || ev.STS.N != 0 {
			t.Errorf("%s: echoed markup or opened a role", path)
		}
	}
	// Deleted: 404 from then on.
	if err := ev.Config.Admin.Admin.DeleteShortLink(context.Background(), broker.Actor{ID: "test"}, "ro"); err != nil {
		t.Fatal(err)
	}
	if rec := ev.Do(t, http.MethodGet, "/go/ro", nil, "Sec-Fetch-Site", "none"); rec.Code != http.StatusNotFound {
		t.Errorf("deleted link: %d", rec.Code)
	}
}

// Signed out, /go/NAME goes to the sign-in page carrying the saved link
// (as its /go pseudo grant key), and it opens after sign-in when typed.
func TestShortLinkSignedOut(t *testing.T) {
	ev := withShortLinks(t, newGoEnv(t))
	rec := ev.Do(t, http.MethodGet, "/go/ro", nil, "Sec-Fetch-Site", "none")
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || loc.Path != "/" || loc.Query().Get("grant") != "go:account=production&region=eu-west-1&role=ReadOnly" {
		t.Fatalf("signed out: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	login := loginLink(t, ev.Do(t, http.MethodGet, loc.String(), nil, "Sec-Fetch-Site", "none").Body.String())
	rec = signInAsked(t, ev.Env, login.RawQuery, "same-origin")
	m := metaRefresh.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "/continue?t=") {
		t.Fatalf("ACS: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	opened(t, ev, ev.Do(t, http.MethodGet, html.UnescapeString(m[1]), nil, "Sec-Fetch-Site", "same-origin"), roRole)
}
