package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/broker-dev/broker/devstack"
)

// crossSiteGet is a link followed from another site (the demo app's page):
// the browser says so with Sec-Fetch-Site and a Referer. It answers the
// first response, which must not be a redirect.
func crossSiteGet(t *testing.T, b *browser, u, from string) *page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Referer", from)
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := &page{URL: req.URL, Status: resp.StatusCode, Body: string(raw), Header: resp.Header}
	if p.doc, err = html.Parse(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return p
}

// groups lists the items of the demo app's groups list.
func (p *page) listItems(id string) []string {
	var out []string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && attr(n, "id") == id {
			walk(n, func(c *html.Node) bool {
				if c.Type == html.ElementNode && c.Data == "li" {
					out = append(out, strings.TrimSpace(textOf(c)))
				}
				return true
			})
			return false
		}
		return true
	})
	return out
}

// TestDemoApp: what a new user does with `broker dev`'s demo app (issue
// 11). On free ports, a browser opens the demo app, signs in as alice
// through the broker and the demo IdP, and sees her name, groups and
// roles; gets credentials for sandbox Developer and sees GetCallerIdentity's
// answer from the local AWS (never the secret); is refused a role she
// lacks; opens the console through the broker's deep link, which, coming
// from another site, asks first; signs out through the broker.
func TestDemoApp(t *testing.T) {
	st := startStack(t)
	if !strings.HasPrefix(st.AppURL, "http://127.0.0.1:") || strings.HasSuffix(st.AppURL, ":8084") {
		t.Fatalf("demo app at %s, want a free port on 127.0.0.1", st.AppURL)
	}
	b := newBrowser(t)

	home := b.get(st.AppURL + "/")
	if home.Status != http.StatusOK || !home.hasForm("signin") || !strings.Contains(home.Body, "Sign in with broker") {
		t.Fatalf("demo app home: %d\n%s", home.Status, clip(home.Body))
	}
	action, _ := home.form(t, formWithID("signin"))
	signin := b.get(action)
	if signin.Status != http.StatusOK || !strings.HasPrefix(signin.URL.String(), st.BrokerURL+"/?") {
		t.Fatalf("expected the broker's sign-in page, got %d at %s", signin.Status, signin.URL)
	}
	login := ""
	for _, href := range signin.all("href") {
		if strings.HasPrefix(href, "/saml/demo/login?") && strings.Contains(href, "return=") {
			login = href
		}
	}
	if login == "" {
		t.Fatalf("sign-in page has no demo IdP login keeping the return: %v", signin.all("href"))
	}
	p := loginAtIdP(t, b, st, b.get(st.BrokerURL+login), "alice")
	if p.Status != http.StatusOK || p.URL.String() != st.AppURL+"/" || !p.hasForm("logout") {
		t.Fatalf("expected the demo app signed in, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	if p.text("name") != "Alice Admin" || p.text("email") != "alice@example.com" || !strings.HasPrefix(p.text("sub"), "demo:") {
		t.Errorf("signed in as %q %q %q", p.text("name"), p.text("email"), p.text("sub"))
	}
	if g := p.listItems("groups"); !slices.Contains(g, "engineering") || !slices.Contains(g, "aws-admins") {
		t.Errorf("groups %v", g)
	}
	roles := p.all("data-role-arn")
	for _, want := range []string{sandboxDeveloper, "arn:aws:iam::" + devstack.SandboxAccount + ":role/Admin"} {
		if !slices.Contains(roles, want) {
			t.Errorf("roles %v lack %s", roles, want)
		}
	}
	if slices.Contains(roles, "arn:aws:iam::"+devstack.ProductionAccount+":role/Billing") {
		t.Errorf("roles %v hold one alice is not granted", roles)
	}
	signedIn := p

	// Credentials for sandbox Developer: the local AWS says who they are.
	action, form := signedIn.form(t, formWithField("role", "Developer"))
	if form.Get("account") != devstack.SandboxAccount {
		t.Fatalf("Developer form for account %q", form.Get("account"))
	}
	cp := b.post(action, form)
	if cp.Status != http.StatusOK || !strings.HasPrefix(cp.text("caller-arn"), "arn:aws:sts::"+devstack.SandboxAccount+":assumed-role/Developer/") ||
		cp.text("caller-account") != devstack.SandboxAccount || !strings.HasSuffix(cp.text("caller-userid"), ":alice@example.com") ||
		!strings.HasPrefix(cp.text("access-key-id"), "ASIA") || cp.text("expiration") == "" {
		t.Fatalf("credentials for Developer: %d\n%s", cp.Status, clip(cp.Body))
	}
	if regexp.MustCompile(`[A-Za-z0-9+/=]{200,}`).MatchString(cp.Body) {
		t.Error("the page holds something as long as a session token")
	}

	// A role alice lacks: the broker refuses, the page says so.
	action, form = signedIn.form(t, formWithID("other-role"))
	form.Set("account", "production")
	form.Set("role", "Billing")
	refused := b.post(action, form)
	if refused.Status != http.StatusForbidden || refused.text("refused-reason") != "role_not_granted" || !strings.Contains(refused.text("refused"), "Refused") {
		t.Errorf("a role alice lacks: %d\n%s", refused.Status, clip(refused.Body))
	}
	// Without the page's CSRF token: refused before the broker is asked.
	form.Set("csrf", "forged")
	if p := b.post(action, form); p.Status != http.StatusForbidden || p.text("error") == "" {
		t.Errorf("credentials without CSRF: %d", p.Status)
	}

	// The console button: the broker's deep link, from another site, so it
	// asks first; confirming opens the local console as Developer.
	var console string
	walk(signedIn.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "tr" && attr(n, "data-role-arn") == sandboxDeveloper {
			walk(n, func(c *html.Node) bool {
				if c.Type == html.ElementNode && c.Data == "a" && attr(c, "class") == "console" {
					console = attr(c, "href")
				}
				return true
			})
		}
		return true
	})
	if u, err := url.Parse(console); err != nil || !strings.HasPrefix(console, st.BrokerURL+"/go?") || u.Query().Get("role") != "Developer" {
		t.Fatalf("console link %q", console)
	}
	confirm := crossSiteGet(t, b, console, st.AppURL+"/")
	if confirm.Status != http.StatusOK || confirm.text("confirm-role-h") == "" || !strings.Contains(confirm.Body, devstack.SandboxAccount) {
		t.Fatalf("expected the confirmation page, got %d at %s:\n%s", confirm.Status, confirm.URL, clip(confirm.Body))
	}
	action, form = confirm.form(t, formWithID("confirm-form"))
	if got := readConsole(t, st, b, b.post(action, form)); got.Role != "Developer" || got.Account != devstack.SandboxAccount {
		t.Errorf("console shows %+v", got)
	}

	// Sign out: through the broker's end_session_endpoint, back to the app.
	action, form = signedIn.form(t, formWithID("logout"))
	out := b.post(action, form)
	if !visited(b.hops, st.BrokerURL+"/oauth/end_session") || out.URL.String() != st.AppURL+"/" || !out.hasForm("signin") {
		t.Errorf("sign-out: %d at %s, hops %+v\n%s", out.Status, out.URL, b.hops, clip(out.Body))
	}

	for _, h := range b.trail {
		for _, secret := range []string{"access_token", "id_token", "refresh_token", "session_token", "SecretAccessKey"} {
			if strings.Contains(h.URL, secret) || strings.Contains(h.Location, secret) {
				t.Errorf("%s in a URL: %s %s", secret, h.URL, h.Location)
			}
		}
	}
}
