package portal_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// The cookies the browser holds (their names are part of the contract
// with deployed browsers).
const (
	sessionCookie = "__Host-broker_session" // on https
	requestCookie = "broker_saml_requests"
)

var metaRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)

func TestSignInPageAndLogin(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	page := ev.Do(t, http.MethodGet, "/?destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3", nil, "Sec-Fetch-Site", "none")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `href="/saml/okta/login?destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3"`) {
		t.Fatalf("sign-in page: %d\n%s", page.Code, page.Body)
	}
	rec := ev.Do(t, http.MethodGet, "/saml/okta/login?destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3", nil)
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "https://idp.example.com/sso") {
		t.Fatalf("login: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if relay := loc.Query().Get("RelayState"); len(relay) < 20 || strings.Contains(relay, "console") {
		t.Errorf("RelayState %q must be an opaque random token", relay)
	}
	var reqCookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == requestCookie {
			reqCookie = c
		}
	}
	if reqCookie == nil || !reqCookie.HttpOnly || !reqCookie.Secure || reqCookie.SameSite != http.SameSiteNoneMode {
		t.Fatalf("request cookie %+v: want HttpOnly, Secure, SameSite=None (it must survive the IdP's cross-site POST)", reqCookie)
	}

	// The IdP answers that request: the ACS gets its id among the pending ones.
	ev.SP.Result.InResponseTo = "id-a"
	rec = ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
	if got := ev.SP.LastIn.RequestIDs; len(got) != 1 || got[0] != "id-a" {
		t.Errorf("ACS saw pending ids %v", got)
	}
	if ev.SP.LastIn.CurrentURL != "https://aws.example.com/saml/okta/acs" {
		t.Errorf("CurrentURL %q", ev.SP.LastIn.CurrentURL)
	}
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/?destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3" {
		t.Fatalf("ACS redirect: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Lax", sess)
	}
	if sess.Path != "/" || sess.Domain != "" {
		t.Fatalf("session cookie %+v: the __Host- prefix needs Path=/ and no Domain", sess)
	}
}

func TestACSFailureIsAuditedAndSafe(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	ev.SP.Err = broker.Wrap(webtest.ErrString("digest mismatch in <ds:Reference URI=\"#_abc\">"), broker.EUNAUTHORIZED, "signature_invalid",
		"Sign-in failed: the response from Okta could not be verified.")
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if strings.Contains(body, "digest mismatch") || !strings.Contains(body, "could not be verified") || strings.Contains(body, "signature_invalid") {
		t.Errorf("error page leaks the cause or the reason code, or lacks the message:\n%s", body)
	}
	if len(ev.Audit.Events) != 1 || ev.Audit.Events[0].Reason != "signature_invalid" || ev.Audit.Events[0].Event != "signin" {
		t.Fatalf("audit %+v", ev.Audit.Events)
	}
	// JSON clients get JSON.
	rec = ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}}, "Accept", "application/json")
	var body2 map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body2); err != nil || body2["reason"] != "signature_invalid" || body2["request_id"] == "" {
		t.Errorf("JSON error %q: %v", rec.Body, err)
	}
}

func TestConsoleFlow(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	csrf, grants := ev.SignIn(t)
	if len(grants) != 2 {
		t.Fatalf("grants %v", grants)
	}
	page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	if strings.Contains(page, "Alice <script>") || !strings.Contains(page, "Alice &lt;script&gt;") {
		t.Error("display name not escaped")
	}
	var dev, adm string
	for _, g := range grants {
		switch {
		case strings.HasPrefix(g, webtest.DevRole):
			dev = g
		case strings.HasPrefix(g, webtest.AdmRole):
			adm = g
		}
	}
	rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {dev}})
	if rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "SigninToken=") {
		t.Fatalf("console: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" || strings.Contains(rec.Body.String(), "SigninToken") {
		t.Error("login URL must only travel in a non-cacheable Location header")
	}
	// Wrong token, other site.
	wrong := "x" + csrf[1:]
	if wrong == csrf {
		wrong = "y" + csrf[1:]
	}
	if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {wrong}, "grant": {dev}}); rec.Code != http.StatusForbidden {
		t.Errorf("bad CSRF token: %d", rec.Code)
	}
	if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {dev}}, "Origin", "https://evil.example.com"); rec.Code != http.StatusForbidden {
		t.Errorf("foreign Origin: %d", rec.Code)
	}
	// Pass-through twice: the second needs a fresh assertion from the IdP.
	if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {adm}}); rec.Code != http.StatusFound {
		t.Fatalf("pass-through: %d %s", rec.Code, rec.Body)
	}
	rec = ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {adm}})
	m := metaRefresh.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("re-authentication page: %d\n%s", rec.Code, rec.Body)
	}
	loc, _ := url.Parse(html.UnescapeString(m[1]))
	if loc.Path != "/saml/okta/login" || loc.Query().Get("grant") != adm || loc.Host != "" {
		t.Fatalf("re-authentication goes to %q", m[1])
	}
	if ev.STS.N != 2 {
		t.Errorf("STS called %d times, want 2", ev.STS.N)
	}
	// Sign out ends the server-side session.
	if rec := ev.Do(t, http.MethodPost, "/logout", url.Values{"csrf_token": {csrf}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", rec.Code)
	}
	if len(ev.SessionStore.M) != 0 {
		t.Errorf("server-side session survived logout")
	}
	if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {dev}}); rec.Code == http.StatusFound {
		t.Error("console still works after logout")
	}
}

func TestContinueAfterSignIn(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	// Sign in with a role to open afterwards (as after a deep link).
	rec := ev.Do(t, http.MethodGet, "/saml/okta/login?grant="+url.QueryEscape(webtest.DevRole+"|arn:aws:iam::111122223333:saml-provider/broker|saml"), nil,
		"Sec-Fetch-Site", "same-origin")
	if rec.Code != http.StatusFound {
		t.Fatalf("login: %d", rec.Code)
	}
	ev.SP.Result.InResponseTo = "id-a"
	rec = ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
	m := metaRefresh.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil || rec.Header().Get("Location") != "" {
		t.Fatalf("ACS must answer with its own page, not a redirect toward AWS: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	next := html.UnescapeString(m[1])
	if rec := ev.Do(t, http.MethodGet, "/continue?t=forged", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("forged token: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if ev.STS.N != 0 {
		t.Fatal("a forged token assumed a role")
	}
	rec = ev.Do(t, http.MethodGet, next, nil)
	if rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "SigninToken=") {
		t.Fatalf("continue: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if rec := ev.Do(t, http.MethodGet, next, nil); rec.Code != http.StatusSeeOther || ev.STS.N != 1 {
		t.Fatalf("the continue token worked twice: %d, %d STS calls", rec.Code, ev.STS.N)
	}
}
