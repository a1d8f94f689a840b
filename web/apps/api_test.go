package apps_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/localaws"
	"github.com/broker-dev/broker/mapping"
	webapps "github.com/broker-dev/broker/web/apps"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// The API for apps (GET /api/v1/roles, POST /api/v1/console; the
// credentials API has its end-to-end test in e2e) through real HTTP
// handling: the OP's access tokens, the site's error shape, the audit log.

// appTokens signs alice in to the first-party app "web" (SSO from her
// portal session, which the caller started) with scope and returns the
// app's access and refresh tokens.
func appTokens(t *testing.T, ev *webtest.Env, scope string) (accessToken, refresh string) {
	t.Helper()
	rec := ev.Do(t, http.MethodGet, authorize(t, ev, "web", url.Values{"scope": {scope}}), nil)
	q := atApp(t, rec.Code, rec.Header().Get("Location"))
	rec = ev.Do(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {appCB}, "code_verifier": {verifier}}, "Authorization", basicWeb())
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != http.StatusOK || out.AccessToken == "" {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	return out.AccessToken, out.RefreshToken
}

func basicWeb() string { return "Basic " + base64.StdEncoding.EncodeToString([]byte("web:"+secret)) }

// call sends an API request with a bearer token ("" for none) and a JSON
// body (nil for none) and decodes the JSON answer.
func call(t *testing.T, ev *webtest.Env, method, path, token string, body any) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	var req *http.Request
	if body != nil {
		b, _ := json.Marshal(body)
		req = httptest.NewRequest(method, path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	var hdr []string
	if token != "" {
		hdr = []string{"Authorization", "Bearer " + token}
	}
	rec := ev.Send(req, hdr...)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, rec.Code, rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, rec.Header().Get("Cache-Control"))
	}
	return rec, out
}

// wantError asserts an API error: status and reason in the site's JSON
// error shape.
func wantError(t *testing.T, name string, rec *httptest.ResponseRecorder, out map[string]any, status int, reason string) {
	t.Helper()
	if rec.Code != status || out["reason"] != reason || out["message"] == "" {
		t.Errorf("%s: %d %v, want %d %s", name, rec.Code, out, status, reason)
	}
	if status == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("%s: WWW-Authenticate %q", name, rec.Header().Get("WWW-Authenticate"))
	}
}

// rolesEngine grants alice (group dev, signed in with MFA) Developer in
// the sandbox account (alias sandbox, eu-west-1, 2 h), Auditor there only
// with MFA, and her upstream Admin role passed through; OtherRole of
// group ops she does not get.
func rolesEngine(t *testing.T) *mapping.Engine {
	t.Helper()
	dev := mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}}
	eng, err := mapping.Compile([]mapping.Rule{
		{Name: "devs", When: dev, Grant: mapping.GrantSpec{Account: "sandbox", Role: "Developer", Label: "Developer", Description: "Build things",
			Region: "eu-west-1", Duration: mapping.Duration(2 * time.Hour)}},
		{Name: "ops", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "ops"}}},
			Grant: mapping.GrantSpec{Account: "sandbox", Role: "Operator"}},
		{Name: "pt", When: mapping.Group{All: []mapping.Condition{{Attribute: broker.SAMLAttrRole, Exists: true}}},
			Grant: mapping.GrantSpec{Mode: string(broker.ModePassThrough), Role: "*"}},
		{Name: "audit", RequireMFA: true, When: dev, Grant: mapping.GrantSpec{Account: "sandbox", Role: "Auditor", Label: "Read-only audit"}},
	}, mapping.Options{BrokerSAMLProviderName: "broker", Accounts: []mapping.Account{{ID: webtest.Acct, Alias: "sandbox", Label: "Sandbox"}}})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestRolesAPI: GET /api/v1/roles lists exactly the roles the portal
// shows alice, in its order, with the contract's fields; a token without
// aws:roles is 403 access_token_scope; no, a forged, or a revoked token
// is 401.
func TestRolesAPI(t *testing.T) {
	ev, _, _ := newEnvWith(t, func(ev *webtest.Env) *access.Service { return ev.NewAccess(t, rolesEngine(t)) })
	ev.SP.Result.Identity.MFA = true
	_, portalGrants := ev.SignIn(t)
	tok, refresh := appTokens(t, ev, "openid aws:roles offline_access")

	rec, out := call(t, ev, http.MethodGet, webapps.RolesPath, tok, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("roles: %d %v", rec.Code, out)
	}
	var got struct {
		Roles []map[string]any `json:"roles"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	auditor := "arn:aws:iam::" + webtest.Acct + ":role/Auditor"
	want := []map[string]any{
		{"account": webtest.Acct, "account_alias": "sandbox", "account_label": "Sandbox", "role": "Developer", "role_arn": webtest.DevRole,
			"label": "Developer", "description": "Build things", "region": "eu-west-1", "via": "saml", "mode": "broker-issued",
			"duration_seconds": 7200.0, "console_duration_seconds": 7200.0, "requires_mfa": false, "credentials": true,
			"link": base + "/go?account=sandbox&role=Developer"},
		{"account": webtest.Acct, "account_alias": "sandbox", "account_label": "Sandbox", "role": "Admin", "role_arn": webtest.AdmRole,
			"label": "Admin", "description": "", "region": "", "via": "saml", "mode": "pass-through",
			"duration_seconds": 3600.0, "console_duration_seconds": 3600.0, "requires_mfa": false, "credentials": false,
			"link": base + "/go?account=sandbox&role=Admin"},
		{"account": webtest.Acct, "account_alias": "sandbox", "account_label": "Sandbox", "role": "Auditor", "role_arn": auditor,
			"label": "Read-only audit", "description": "", "region": "", "via": "saml", "mode": "broker-issued",
			"duration_seconds": 3600.0, "console_duration_seconds": 3600.0, "requires_mfa": true, "credentials": true,
			"link": base + "/go?account=sandbox&role=Auditor"},
	}
	if len(got.Roles) != len(want) {
		t.Fatalf("roles %v, want %d", got.Roles, len(want))
	}
	for i := range want {
		for k, v := range want[i] {
			if got.Roles[i][k] != v {
				t.Errorf("role %d %s = %#v, want %#v", i, k, got.Roles[i][k], v)
			}
		}
		if len(got.Roles[i]) != len(want[i]) {
			t.Errorf("role %d has fields %v, want exactly %v", i, got.Roles[i], want[i])
		}
	}
	// The portal offers the same roles in the same order.
	if len(portalGrants) != len(want) {
		t.Fatalf("portal offers %v", portalGrants)
	}
	for i, g := range portalGrants {
		if !strings.HasPrefix(g, want[i]["role_arn"].(string)+"|") {
			t.Errorf("portal role %d is %s, the API's %s", i, g, want[i]["role_arn"])
		}
	}

	noScope, _ := appTokens(t, ev, "openid email aws:credentials")
	rec, out = call(t, ev, http.MethodGet, webapps.RolesPath, noScope, nil)
	wantError(t, "token without aws:roles", rec, out, http.StatusForbidden, webapps.ReasonScope)
	rec, out = call(t, ev, http.MethodGet, webapps.RolesPath, "", nil)
	wantError(t, "no token", rec, out, http.StatusUnauthorized, "access_token_missing")
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"okta:mallory"}`)) + "." + parts[2]
	rec, out = call(t, ev, http.MethodGet, webapps.RolesPath, forged, nil)
	wantError(t, "forged token", rec, out, http.StatusUnauthorized, "access_token_invalid")

	// Revoked (RFC 7009: a refresh token ends its whole grant).
	if rec := ev.Do(t, http.MethodPost, "/oauth/revoke", url.Values{"token": {refresh}, "token_type_hint": {"refresh_token"}}, "Authorization", basicWeb()); rec.Code != http.StatusOK {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	rec, out = call(t, ev, http.MethodGet, webapps.RolesPath, tok, nil)
	wantError(t, "revoked token", rec, out, http.StatusUnauthorized, "access_token_revoked")
}

// localAWS is the strict local AWS trusting the broker's SAML issuer for
// DevRole (through the IAM SAML provider "broker"), and an access use
// case that mints, assumes and signs in to the console there.
func localAWS(t *testing.T, ev *webtest.Env) (*access.Service, *httptest.Server) {
	t.Helper()
	provider := "arn:aws:iam::" + webtest.Acct + ":saml-provider/broker"
	return ev.LocalAWS(t, base, rolesEngine(t), func(md string) *localaws.Registry {
		return &localaws.Registry{
			SAMLProviders: []localaws.SAMLProvider{{ARN: provider, MetadataXML: md}},
			Roles: []localaws.Role{{ARN: webtest.DevRole, MaxSessionDuration: 7200, TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
			"Principal":{"Federated":"` + provider + `"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"],
			"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}`}},
		}
	})
}

// TestConsoleAPI: POST /api/v1/console for a granted role gives a
// federation login URL the local AWS accepts (a console session as the
// role, at the destination the short name and region name), audited as
// a console sign-in by the app; an ungranted role is 403 role_not_granted,
// a pass-through role 403 pass_through_not_for_apps, a token without
// aws:credentials 403 access_token_scope, and bad input 400.
func TestConsoleAPI(t *testing.T) {
	var hs *httptest.Server
	ev, _, _ := newEnvWith(t, func(ev *webtest.Env) *access.Service {
		acc, srv := localAWS(t, ev)
		hs = srv
		return acc
	})
	ev.SignIn(t)
	tok, _ := appTokens(t, ev, "openid aws:credentials")

	rec, out := call(t, ev, http.MethodPost, webapps.ConsolePath, tok,
		map[string]string{"account": "sandbox", "role": "Developer", "destination": "s3", "region": "eu-central-1", "duration": "2h"})
	if rec.Code != http.StatusOK {
		t.Fatalf("console: %d %v", rec.Code, out)
	}
	if out["role_arn"] != webtest.DevRole || out["account_id"] != webtest.Acct {
		t.Errorf("console answer %v", out)
	}
	exp, err := time.Parse(time.RFC3339, out["expires"].(string))
	if err != nil || exp.Before(time.Now().Add(119*time.Minute)) || exp.After(time.Now().Add(121*time.Minute)) {
		t.Errorf("expires %v (%v), want in 2h", out["expires"], err)
	}
	login, _ := url.Parse(out["url"].(string))
	q := login.Query()
	if !strings.HasPrefix(login.String(), hs.URL+"/federation?") || q.Get("Action") != "login" || q.Get("SigninToken") == "" ||
		q.Get("Destination") != "https://eu-central-1.console.aws.amazon.com/s3/home?region=eu-central-1" {
		t.Fatalf("login URL at %s%s: Action %q, Destination %q, SigninToken given %v (the token itself is not printed)",
			login.Host, login.Path, q.Get("Action"), q.Get("Destination"), q.Get("SigninToken") != "")
	}
	// The local AWS takes the sign-in token: a console session as the role.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(login.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || !strings.HasSuffix(res.Header.Get("Location"), "/console") || len(res.Cookies()) == 0 {
		t.Fatalf("local AWS refused the login: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/console", nil)
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	page, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := new(strings.Builder)
	_, _ = io.Copy(body, page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(body.String(), webtest.DevRole) {
		t.Errorf("console page: %d\n%s", page.StatusCode, body)
	}

	// Audited as the portal's console sign-in, with the app.
	for _, event := range []string{"role_assumed", "console_url_issued"} {
		found := false
		for _, e := range ev.Audit.Events {
			if e.Event == event && string(e.Result) == "success" && e.Details["client"] == "web" && e.Subject == "alice" && e.RoleARN == webtest.DevRole {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s audit record with client web: %+v", event, ev.Audit.Events)
		}
	}
	for _, e := range ev.Audit.Events {
		if strings.Contains(e.Details["destination"]+e.Message, "SigninToken") {
			t.Errorf("the login URL reached the audit log: %+v", e)
		}
	}

	refusals := map[string]struct {
		body   map[string]string
		status int
		reason string
	}{
		"ungranted role":    {map[string]string{"account": "sandbox", "role": "Operator"}, http.StatusForbidden, access.ReasonRoleNotGranted},
		"pass-through role": {map[string]string{"account": "sandbox", "role": "Admin"}, http.StatusForbidden, access.ReasonPassThroughForApps},
		"no role":           {map[string]string{"account": "sandbox"}, http.StatusBadRequest, "role_missing"},
		"other site":        {map[string]string{"account": "sandbox", "role": "Developer", "destination": "https://evil.example.com/"}, http.StatusBadRequest, access.ReasonDestinationNotAllowed},
		"other partition":   {map[string]string{"account": "sandbox", "role": "Developer", "region": "cn-north-1"}, http.StatusBadRequest, access.ReasonRegionNotInPartition},
		"duration":          {map[string]string{"account": "sandbox", "role": "Developer", "duration": "13h"}, http.StatusBadRequest, access.ReasonDurationInvalid},
	}
	for name, tc := range refusals {
		rec, out := call(t, ev, http.MethodPost, webapps.ConsolePath, tok, tc.body)
		wantError(t, name, rec, out, tc.status, tc.reason)
	}
	failed := 0
	for _, e := range ev.Audit.Events {
		if e.Event == "role_assumed" && string(e.Result) == "failure" && e.Details["client"] == "web" {
			failed++
		}
	}
	if failed < 2 {
		t.Errorf("refusals audited %d times with the client, want the ungranted and the pass-through ones at least", failed)
	}

	noScope, _ := appTokens(t, ev, "openid aws:roles")
	rec, out = call(t, ev, http.MethodPost, webapps.ConsolePath, noScope, map[string]string{"account": "sandbox", "role": "Developer"})
	wantError(t, "token without aws:credentials", rec, out, http.StatusForbidden, webapps.ReasonScope)
	rec, out = call(t, ev, http.MethodPost, webapps.ConsolePath, "not-a-token", map[string]string{"account": "sandbox", "role": "Developer"})
	wantError(t, "bad token", rec, out, http.StatusUnauthorized, "access_token_invalid")
}

// TestEndAllRevokesAppTokens: "sign out everywhere else" (access
// Sessions.EndAll) revokes the person's app tokens: the app's refresh
// fails with invalid_grant and its access token is refused; the audit
// record counts them.
func TestEndAllRevokesAppTokens(t *testing.T) {
	ev, _ := newEnv(t)
	csrf, _ := ev.SignIn(t)
	tok, refresh := appTokens(t, ev, "openid aws:roles offline_access")
	if refresh == "" {
		t.Fatal("no refresh token with offline_access")
	}
	// The refresh works before (and rotates the token).
	rec := ev.Do(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, "Authorization", basicWeb())
	var fresh struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &fresh); err != nil || rec.Code != http.StatusOK || fresh.RefreshToken == "" {
		t.Fatalf("refresh before: %d %s", rec.Code, rec.Body)
	}
	if rec, _ := call(t, ev, http.MethodGet, webapps.RolesPath, fresh.AccessToken, nil); rec.Code != http.StatusOK {
		t.Fatalf("roles before: %d", rec.Code)
	}

	if rec := ev.Do(t, http.MethodPost, "/sessions/end-others", url.Values{"csrf_token": {csrf}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("end others: %d %s", rec.Code, rec.Body)
	}

	rec = ev.Do(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fresh.RefreshToken}}, "Authorization", basicWeb())
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_grant") {
		t.Errorf("refresh after EndAll: %d, want 400 invalid_grant", rec.Code)
	}
	for _, at := range []string{tok, fresh.AccessToken} {
		rec, out := call(t, ev, http.MethodGet, webapps.RolesPath, at, nil)
		wantError(t, "access token after EndAll", rec, out, http.StatusUnauthorized, "access_token_revoked")
	}
	var ended *int
	for _, e := range ev.Audit.Events {
		if e.Event == "sessions_ended" {
			n, err := strconv.Atoi(e.Details["app_tokens"])
			if err != nil {
				t.Fatalf("sessions_ended without app_tokens: %+v", e)
			}
			ended = &n
		}
	}
	if ended == nil || *ended < 2 {
		t.Errorf("sessions_ended app_tokens %v, want the live access and refresh tokens counted", ended)
	}
}
