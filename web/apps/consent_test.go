package apps_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	webapps "github.com/broker-dev/broker/web/apps"
	"github.com/broker-dev/broker/web/internal/webtest"
)

var (
	consentIDRe    = regexp.MustCompile(`name="id" value="([^"]+)"`)
	consentScopeRe = regexp.MustCompile(`<li data-scope="([^"]+)">([^<]*)</li>`)
)

// consentScreen asserts the bridge answered with the consent screen and
// returns its form: the CSRF token and the request id, and the scopes it
// names (scope: words).
func consentScreen(t *testing.T, rec *httptest.ResponseRecorder) (csrf, id string, scopes map[string]string) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Location") != "" || !strings.Contains(body, `id="consent-decide"`) {
		t.Fatalf("want the consent screen, got %d %q\n%s", rec.Code, rec.Header().Get("Location"), body)
	}
	// Its answer is a redirect to the app: the page's form-action allows it.
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example.com") {
		t.Errorf("consent screen's CSP %q does not let its form go on to the app", csp)
	}
	m, i := webtest.CSRFRe.FindStringSubmatch(body), consentIDRe.FindStringSubmatch(body)
	if m == nil || i == nil {
		t.Fatalf("consent screen without its form fields:\n%s", body)
	}
	scopes = map[string]string{}
	for _, s := range consentScopeRe.FindAllStringSubmatch(body, -1) {
		scopes[s[1]] = s[2]
	}
	return m[1], i[1], scopes
}

// askWiki starts a sign-in of the third-party app wiki for scope and
// returns the bridge's answer.
func askWiki(t *testing.T, ev *webtest.Env, scope string, extra url.Values) *httptest.ResponseRecorder {
	t.Helper()
	v := url.Values{"scope": {scope}}
	for k, x := range extra {
		v[k] = x
	}
	return ev.Do(t, http.MethodGet, authorize(t, ev, "wiki", v), nil)
}

func decideConsent(t *testing.T, ev *webtest.Env, csrf, id, decision string) (int, string) {
	t.Helper()
	rec := ev.Do(t, http.MethodPost, webapps.ConsentPath, url.Values{"csrf_token": {csrf}, "id": {id}, "decision": {decision}})
	return rec.Code, rec.Header().Get("Location")
}

// tokensFor redeems a code of the wiki app.
func tokensFor(t *testing.T, ev *webtest.Env, code string) (idToken, refresh string) {
	t.Helper()
	rec := ev.Do(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {appCB}, "code_verifier": {verifier}}, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("wiki:"+secret)))
	if rec.Code != http.StatusOK {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.IDToken == "" {
		t.Fatalf("token response %s: %v", rec.Body, err)
	}
	return out.IDToken, out.RefreshToken
}

// TestConsentThirdParty: a third-party app gets the consent screen (the
// app, its client id, who is signed in, each scope in words, not openid)
// and no code before Allow; Allow records the consent (audited) and the
// app gets its code; the next sign-in skips the screen; a new scope, or
// prompt=consent, shows it again; prompt=none without consent gets
// consent_required.
func TestConsentThirdParty(t *testing.T) {
	ev, _ := newEnv(t)
	ev.SignIn(t)
	rec := askWiki(t, ev, "openid email groups aws:roles", nil)
	csrf, id, scopes := consentScreen(t, rec)
	body := rec.Body.String()
	want := map[string]string{"email": "your email address", "groups": "your groups", "aws:roles": "which AWS roles you have"}
	if len(scopes) != len(want) {
		t.Errorf("scopes on the screen %v, want %v", scopes, want)
	}
	for k, v := range want {
		if scopes[k] != v {
			t.Errorf("scope %s in words %q, want %q", k, scopes[k], v)
		}
	}
	for _, s := range []string{`id="consent-app">Team wiki<`, `id="consent-client">wiki<`, `id="consent-user">`} {
		if !strings.Contains(body, s) {
			t.Errorf("consent screen lacks %s", s)
		}
	}
	if auditHas(ev, "app_signin", "success") {
		t.Fatal("the sign-in completed before the person allowed it")
	}
	st, loc := decideConsent(t, ev, csrf, id, "allow")
	q := atApp(t, st, loc)
	if q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("after Allow: %v", q)
	}
	tokensFor(t, ev, q.Get("code"))
	if !auditHas(ev, "app_consent_granted", "success") || !auditHas(ev, "app_signin", "success") {
		t.Errorf("consent or sign-in not audited: %+v", ev.Audit.Events)
	}

	// Remembered: the same scopes (or fewer) go straight to the app.
	for _, scope := range []string{"openid email groups aws:roles", "openid email"} {
		rec := askWiki(t, ev, scope, nil)
		if q := atApp(t, rec.Code, rec.Header().Get("Location")); q.Get("code") == "" {
			t.Errorf("remembered consent, %q: %v", scope, q)
		}
	}
	// A scope not granted yet: asked again, the new scope named.
	csrf, id, scopes = consentScreen(t, askWiki(t, ev, "openid email aws:credentials", nil))
	if scopes["aws:credentials"] != "get short-lived AWS credentials for your roles" {
		t.Errorf("new scope on the screen: %v", scopes)
	}
	if st, loc := decideConsent(t, ev, csrf, id, "allow"); atApp(t, st, loc).Get("code") == "" {
		t.Fatal("no code after allowing the new scope")
	}
	// The old scopes stay granted with the new one.
	if rec := askWiki(t, ev, "openid groups aws:roles aws:credentials", nil); atApp(t, rec.Code, rec.Header().Get("Location")).Get("code") == "" {
		t.Error("the consent to the earlier scopes was lost")
	}
	// prompt=consent asks although everything is granted.
	consentScreen(t, askWiki(t, ev, "openid email", url.Values{"prompt": {"consent"}}))
	// prompt=none and a scope not granted: consent_required, no screen.
	rec = askWiki(t, ev, "openid offline_access", url.Values{"prompt": {"none"}})
	if q := atApp(t, rec.Code, rec.Header().Get("Location")); q.Get("error") != "consent_required" || q.Get("code") != "" {
		t.Errorf("prompt=none without consent: %v", q)
	}
}

// TestConsentFirstParty: a first-party app never shows the screen, and
// nothing is recorded for it.
func TestConsentFirstParty(t *testing.T) {
	ev, _ := newEnv(t)
	ev.SignIn(t)
	rec := ev.Do(t, http.MethodGet, authorize(t, ev, "web", url.Values{"scope": {"openid email aws:credentials offline_access"}, "prompt": {"consent"}}), nil)
	if q := atApp(t, rec.Code, rec.Header().Get("Location")); q.Get("code") == "" {
		t.Fatalf("first-party app: %v", q)
	}
	if auditHas(ev, "app_consent_granted", "success") {
		t.Error("a consent was recorded for a first-party app")
	}
	if page := ev.Do(t, http.MethodGet, webapps.ConsentsPath, nil); page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `id="no-consents"`) {
		t.Errorf("consents page after a first-party sign-in: %d\n%s", page.Code, page.Body)
	}
}

// TestConsentDeny: Deny sends access_denied to the app, audited; nothing is
// remembered, so the next sign-in asks again; the request is over.
func TestConsentDeny(t *testing.T) {
	ev, _ := newEnv(t)
	ev.SignIn(t)
	rec := askWiki(t, ev, "openid email", nil)
	csrf, id, _ := consentScreen(t, rec)
	st, loc := decideConsent(t, ev, csrf, id, "deny")
	if q := atApp(t, st, loc); q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("deny: %v", q)
	}
	if !auditHas(ev, "app_consent_denied", "failure") || auditHas(ev, "app_consent_granted", "success") || auditHas(ev, "app_signin", "success") {
		t.Errorf("audit after deny: %+v", ev.Audit.Events)
	}
	if st, loc := decideConsent(t, ev, csrf, id, "allow"); st != http.StatusNotFound || loc != "" {
		t.Errorf("allow after deny: %d %q, want the request gone (404)", st, loc)
	}
	// Neither allow nor deny: a clear 400.
	csrf, id, _ = consentScreen(t, askWiki(t, ev, "openid email", nil))
	if st, loc := decideConsent(t, ev, csrf, id, "maybe"); st != http.StatusBadRequest || loc != "" {
		t.Errorf("decision=maybe: %d %q", st, loc)
	}
}

// TestConsentNotForRefused: a third-party app whose condition refuses the
// person answers access_denied at once, without asking a consent first.
func TestConsentNotForRefused(t *testing.T) {
	ev, _ := newEnv(t)
	ev.SignIn(t)
	rec := ev.Do(t, http.MethodGet, authorize(t, ev, "ops-wiki", nil), nil)
	if q := atApp(t, rec.Code, rec.Header().Get("Location")); q.Get("error") != "access_denied" {
		t.Fatalf("refused person at a third-party app: %d %v", rec.Code, q)
	}
	if auditHas(ev, "app_consent_granted", "success") {
		t.Error("a consent was recorded for a refused person")
	}
}

// TestConsentCSRF: the answer needs the portal session's CSRF token and
// same-site; without, 403 and nothing recorded.
func TestConsentCSRF(t *testing.T) {
	ev, _ := newEnv(t)
	ev.SignIn(t)
	rec := askWiki(t, ev, "openid email", nil)
	csrf, id, _ := consentScreen(t, rec)
	for name, try := range map[string]func() int{
		"no token": func() int {
			return ev.Do(t, http.MethodPost, webapps.ConsentPath, url.Values{"id": {id}, "decision": {"allow"}}).Code
		},
		"wrong token": func() int { st, _ := decideConsent(t, ev, "forged", id, "allow"); return st },
		"cross-site": func() int {
			return ev.Do(t, http.MethodPost, webapps.ConsentPath, url.Values{"csrf_token": {csrf}, "id": {id}, "decision": {"allow"}},
				"Sec-Fetch-Site", "cross-site").Code
		},
	} {
		if st := try(); st != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, st)
		}
	}
	if auditHas(ev, "app_consent_granted", "success") || auditHas(ev, "app_signin", "success") {
		t.Fatalf("a forged answer was taken: %+v", ev.Audit.Events)
	}
	// The real answer still works.
	if st, loc := decideConsent(t, ev, csrf, id, "allow"); atApp(t, st, loc).Get("code") == "" {
		t.Error("the real Allow after forged ones")
	}
}

// TestConsentRevoke: /apps/consents lists the app and what it may have;
// revoking (CSRF) deletes the consent, ends the app's tokens for the
// person (its refresh token stops working) and the next sign-in asks again.
func TestConsentRevoke(t *testing.T) {
	ev, _ := newEnv(t)
	// Not signed in: the sign-in page, coming back here.
	rec := ev.Do(t, http.MethodGet, webapps.ConsentsPath, nil)
	if loc, _ := url.Parse(rec.Header().Get("Location")); rec.Code != http.StatusFound || loc.Path != "/" || loc.Query().Get("return") != webapps.ConsentsPath {
		t.Fatalf("consents page without a session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	ev.SignIn(t)
	rec = askWiki(t, ev, "openid email offline_access", nil)
	csrf, id, _ := consentScreen(t, rec)
	st, loc := decideConsent(t, ev, csrf, id, "allow")
	_, refresh := tokensFor(t, ev, atApp(t, st, loc).Get("code"))
	if refresh == "" {
		t.Fatal("no refresh token with offline_access")
	}

	page := ev.Do(t, http.MethodGet, webapps.ConsentsPath, nil)
	pb := page.Body.String()
	if page.Code != http.StatusOK || !strings.Contains(pb, `data-client="wiki"`) || !strings.Contains(pb, "Team wiki") ||
		!strings.Contains(pb, `<li data-scope="email">your email address</li>`) || !strings.Contains(pb, `<li data-scope="offline_access">stay signed in</li>`) {
		t.Fatalf("consents page: %d\n%s", page.Code, pb)
	}
	csrf = webtest.CSRFRe.FindStringSubmatch(pb)[1]

	if rec := ev.Do(t, http.MethodPost, webapps.ConsentRevokePath, url.Values{"client_id": {"wiki"}}); rec.Code != http.StatusForbidden {
		t.Errorf("revoke without CSRF: %d, want 403", rec.Code)
	}
	if rec := ev.Do(t, http.MethodPost, webapps.ConsentRevokePath, url.Values{"csrf_token": {csrf}, "client_id": {"web"}}); rec.Code != http.StatusNotFound {
		t.Errorf("revoke an app never allowed: %d, want 404", rec.Code)
	}
	rec = ev.Do(t, http.MethodPost, webapps.ConsentRevokePath, url.Values{"csrf_token": {csrf}, "client_id": {"wiki"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != webapps.ConsentsPath {
		t.Fatalf("revoke: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if !auditHas(ev, "app_consent_revoked", "success") {
		t.Errorf("revocation not audited: %+v", ev.Audit.Events)
	}
	page = ev.Do(t, http.MethodGet, webapps.ConsentsPath, nil)
	if pb := page.Body.String(); strings.Contains(pb, `data-client="wiki"`) || !strings.Contains(pb, `id="no-consents"`) || !strings.Contains(pb, "Revoked") {
		t.Errorf("consents page after revoking:\n%s", pb)
	}
	// The app's refresh token is dead.
	rec = ev.Do(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}},
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("wiki:"+secret)))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_grant") {
		t.Errorf("refresh after revoking the consent: %d %s", rec.Code, rec.Body)
	}
	// And the app must ask again.
	consentScreen(t, askWiki(t, ev, "openid email", nil))
}
