package apps_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
	webapps "github.com/broker-dev/broker/web/apps"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// newDeviceEnv is the whole site with two device clients: "cli" (public)
// and "ops" (public, only for group ops; alice is in dev).
func newDeviceEnv(t *testing.T) *webtest.Env {
	t.Helper()
	ev := webtest.NewEnv(t, base)
	clk := &clock{}
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: ":memory:", Keys: [][]byte{make([]byte, 32)}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ops, _ := mapping.CompileMatcher("apps.clients[1]", mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "ops"}}}, nil)
	key := signingKey()
	p, err := apps.New(apps.Config{
		Issuer: base, Signing: key, KeyID: issuer.KeyID(&key.PublicKey), Store: st,
		Rules: ev.Config.Access, Audit: ev.Config.Access, LoginPath: webapps.LoginPath, CodeKey: make([]byte, 32), Now: clk.now,
		Clients: []apps.Client{
			{ID: "cli", Name: "Broker CLI", RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"openid", "email", "aws:roles"}, Device: true},
			{ID: "ops", Name: "Ops bot", RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"openid"}, Device: true, When: ops},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ev.Config
	cfg.Apps = p
	ev.Rebuild(t, cfg)
	return ev
}

// startDevice is the device's first request; it returns the device and user codes.
func startDevice(t *testing.T, ev *webtest.Env, client string) (string, string) {
	t.Helper()
	rec := ev.Do(t, http.MethodPost, apps.PathDeviceAuthorization, url.Values{"client_id": {client}, "scope": {"openid email aws:roles"}})
	var out struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
		URI        string `json:"verification_uri"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != http.StatusOK || out.URI != base+"/device" {
		t.Fatalf("device authorization: %d %s", rec.Code, rec.Body)
	}
	return out.DeviceCode, out.UserCode
}

func pollDevice(t *testing.T, ev *webtest.Env, client, deviceCode string) (int, map[string]any) {
	t.Helper()
	rec := ev.Do(t, http.MethodPost, apps.PathToken, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {deviceCode}, "client_id": {client}})
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// TestDevicePageNotSignedIn: the page sends the person to sign in, keeping
// the code in the return; after sign-in the form comes prefilled.
func TestDevicePageNotSignedIn(t *testing.T) {
	ev := newDeviceEnv(t)
	_, code := startDevice(t, ev, "cli")
	rec := ev.Do(t, http.MethodGet, "/device?user_code="+code, nil)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	want := "/device?user_code=" + code
	if rec.Code != http.StatusFound || loc.Path != "/" || loc.Query().Get("return") != want {
		t.Fatalf("not signed in: %d %q, want the sign-in page with return=%s", rec.Code, loc, want)
	}
	if rec := ev.Do(t, http.MethodPost, "/device", url.Values{"user_code": {code}}); rec.Code == http.StatusOK {
		t.Fatalf("POST without a session: %d", rec.Code)
	}
	ev.SignIn(t)
	page := ev.Do(t, http.MethodGet, want, nil)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `value="`+code+`"`) || !webtest.CSRFRe.MatchString(page.Body.String()) {
		t.Fatalf("device page: %d\n%s", page.Code, page.Body)
	}
}

// TestDevicePageApproveAndDeny: the code shows the app, its scopes and
// who is signed in; Allow gives the device its tokens, Deny access_denied;
// the app's condition applies; all audited.
func TestDevicePageApproveAndDeny(t *testing.T) {
	ev := newDeviceEnv(t)
	csrf, _ := ev.SignIn(t)
	deviceCode, code := startDevice(t, ev, "cli")
	typed := strings.ToLower(strings.ReplaceAll(code, "-", ""))
	rec := ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {typed}})
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "Broker CLI") || !strings.Contains(body, "see your email address") ||
		!strings.Contains(body, `id="device-allow"`) || !strings.Contains(body, code) || !strings.Contains(body, `id="device-user"`) {
		t.Fatalf("confirmation: %d\n%s", rec.Code, body)
	}
	if st, out := pollDevice(t, ev, "cli", deviceCode); st != http.StatusBadRequest || out["error"] != "slow_down" {
		t.Fatalf("poll before the decision, sooner than the 5 s interval: %d %v, want slow_down", st, out)
	}
	rec = ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {code}, "decision": {"allow"}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="device-done"`) {
		t.Fatalf("allow: %d\n%s", rec.Code, rec.Body)
	}
	if st, out := pollDevice(t, ev, "cli", deviceCode); st != http.StatusOK || out["access_token"] == nil || out["id_token"] == nil {
		t.Fatalf("poll after Allow: %d %v", st, out)
	}
	if !auditHas(ev, "app_device_approved", "success") {
		t.Errorf("approval not audited: %+v", ev.Audit.Events)
	}

	deviceCode, code = startDevice(t, ev, "cli")
	rec = ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {code}, "decision": {"deny"}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "refused") {
		t.Fatalf("deny: %d\n%s", rec.Code, rec.Body)
	}
	if st, out := pollDevice(t, ev, "cli", deviceCode); out["error"] != "access_denied" {
		t.Fatalf("poll after Deny: %d %v", st, out)
	}
	if !auditHas(ev, "app_device_denied", "success") {
		t.Errorf("denial not audited: %+v", ev.Audit.Events)
	}

	// ops is not for alice: Allow is refused (403), the device gets access_denied.
	deviceCode, code = startDevice(t, ev, "ops")
	rec = ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {code}, "decision": {"allow"}})
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Ops bot") {
		t.Fatalf("allow refused by when: %d\n%s", rec.Code, rec.Body)
	}
	if _, out := pollDevice(t, ev, "ops", deviceCode); out["error"] != "access_denied" {
		t.Fatalf("poll after a refusal: %v", out)
	}
	if !auditHas(ev, "app_device_approved", "failure") {
		t.Errorf("refusal not audited: %+v", ev.Audit.Events)
	}
}

// TestDevicePageSubjectTooLong: a person whose sub would be longer than
// OpenID Connect allows cannot approve a device: 403 saying why, the
// device gets access_denied, the refusal is audited.
func TestDevicePageSubjectTooLong(t *testing.T) {
	ev := newDeviceEnv(t)
	ev.SP.Result.Identity.Subject = strings.Repeat("s", 256-len("okta:"))
	csrf, _ := ev.SignIn(t)
	deviceCode, code := startDevice(t, ev, "cli")
	rec := ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {code}, "decision": {"allow"}})
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "too long for apps") {
		t.Fatalf("allow with a 256-byte sub: %d\n%s", rec.Code, rec.Body)
	}
	if _, out := pollDevice(t, ev, "cli", deviceCode); out["error"] != "access_denied" {
		t.Fatalf("poll after the refusal: %v", out)
	}
	var refused bool
	for _, e := range ev.Audit.Events {
		refused = refused || e.Event == "app_device_approved" && e.Result == store.ResultFailure && e.Reason == apps.ReasonSubjectTooLong
	}
	if !refused {
		t.Errorf("refusal not audited as %s: %+v", apps.ReasonSubjectTooLong, ev.Audit.Events)
	}
}

// TestDevicePageRefusals: CSRF is required; an unknown or malformed code
// gets the form again with a clear message (404, 400); code checks are
// rate limited per address (429 with Retry-After).
func TestDevicePageRefusals(t *testing.T) {
	ev := newDeviceEnv(t)
	csrf, _ := ev.SignIn(t)
	_, code := startDevice(t, ev, "cli")
	if rec := ev.Do(t, http.MethodPost, "/device", url.Values{"user_code": {code}}); rec.Code != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", rec.Code)
	}
	if rec := ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {code}}, "Sec-Fetch-Site", "cross-site"); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site: %d", rec.Code)
	}
	wrong := "BBBB-BBBB"
	if code == wrong {
		wrong = "CCCC-CCCC"
	}
	rec := ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {wrong}})
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "This code is not valid") || !strings.Contains(rec.Body.String(), `id="device-form"`) {
		t.Errorf("unknown code: %d\n%s", rec.Code, rec.Body)
	}
	rec = ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {"hello"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "8-letter code") {
		t.Errorf("malformed code: %d\n%s", rec.Code, rec.Body)
	}
	// Five checks in a burst were allowed; the sixth is refused.
	rec = ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {code}})
	if rec.Code != http.StatusOK {
		t.Fatalf("fifth check: %d", rec.Code)
	}
	rec = ev.Do(t, http.MethodPost, "/device", url.Values{"csrf_token": {csrf}, "user_code": {code}})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("sixth check in a burst: %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}
