package apps_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store/sqlstore"
)

// wallClock is the wall clock moved forward by tests: x/oauth2 polls on
// the wall clock, the provider checks the pace on this one.
type wallClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *wallClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *wallClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type deviceEnv struct {
	clock *wallClock
	srv   *httptest.Server
	p     *apps.Provider
	audit *audit
	alice *broker.Identity
}

// newDeviceEnv: the provider on httptest with three clients: "cli"
// (public, device flow), "ops" (confidential, device flow, only for group
// ops) and "web" (public, no device flow). Polls every second.
func newDeviceEnv(t *testing.T) *deviceEnv {
	t.Helper()
	clk := &wallClock{}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: ":memory:", Keys: [][]byte{make([]byte, 32)}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &deviceEnv{clock: clk, audit: &audit{}, alice: &broker.Identity{Provider: "okta", Subject: "alice",
		Attributes: map[string][]string{"email": {"alice@example.com"}, "groups": {"dev"}}}}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	ops, _ := mapping.CompileMatcher("apps.clients[1].when", mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "ops"}}}, nil)
	iss, err := issuer.NewOIDC(issuer.OIDCConfig{Issuer: e.srv.URL, Signing: key})
	if err != nil {
		t.Fatal(err)
	}
	e.p, err = apps.New(apps.Config{
		Issuer: e.srv.URL, Signing: key, KeyID: issuer.KeyID(&key.PublicKey), Store: st, Rules: rules{}, Audit: e.audit,
		LoginPath: "/apps/login", CodeKey: make([]byte, 32), Now: clk.now, DevicePollInterval: time.Second,
		Clients: []apps.Client{
			{ID: "cli", Name: "Broker CLI", RedirectURIs: []string{"http://127.0.0.1/callback"}, Device: true,
				Scopes: []string{"openid", "email", "offline_access", "aws:roles"}},
			{ID: "ops", Name: "Ops bot", SecretHash: apps.HashSecret("s3cret"), RedirectURIs: []string{"https://ops.example.com/cb"}, Device: true,
				Scopes: []string{"openid"}, When: ops},
			{ID: "web", Name: "Web", RedirectURIs: []string{"http://127.0.0.1/callback"}, Scopes: []string{"openid"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/oauth/", e.p.Handler())
	disc := e.p.Discovery(iss.Discovery)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		b, _ := disc()
		w.Write(b)
	})
	return e
}

func (e *deviceEnv) conf(id, secret string, scopes ...string) *oauth2.Config {
	style := oauth2.AuthStyleInParams
	if secret != "" {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{ClientID: id, ClientSecret: secret, Scopes: scopes, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: e.srv.URL + apps.PathDeviceAuthorization, TokenURL: e.srv.URL + apps.PathToken, AuthStyle: style}}
}

// poll sends one device token request by hand and returns the OAuth error ("" for tokens).
func (e *deviceEnv) poll(t *testing.T, client, deviceCode string) string {
	t.Helper()
	resp, err := http.PostForm(e.srv.URL+apps.PathToken, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {deviceCode}, "client_id": {client}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error       string `json:"error"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Error == "" && (resp.StatusCode != http.StatusOK || out.AccessToken == "") {
		t.Fatalf("poll: %d without an error or a token", resp.StatusCode)
	}
	return out.Error
}

func oauthError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

var userCodeRe = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// TestDeviceFlowApproved: x/oauth2's DeviceAuth and DeviceAccessToken
// against the provider: the codes, the person approving at the
// verification page's calls, the tokens for her, once.
func TestDeviceFlowApproved(t *testing.T) {
	t.Parallel()
	e := newDeviceEnv(t)
	ctx := context.Background()
	resp, err := http.Get(e.srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if d["device_authorization_endpoint"] != e.srv.URL+apps.PathDeviceAuthorization || !strings.Contains(func() string { b, _ := json.Marshal(d["grant_types_supported"]); return string(b) }(), "device_code") {
		t.Fatalf("discovery: %v %v", d["device_authorization_endpoint"], d["grant_types_supported"])
	}

	conf := e.conf("cli", "", "openid", "email", "offline_access", "groups")
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !userCodeRe.MatchString(da.UserCode) || da.VerificationURI != e.srv.URL+apps.DevicePath ||
		da.VerificationURIComplete != e.srv.URL+apps.DevicePath+"?user_code="+da.UserCode || da.Interval != 1 ||
		da.Expiry.Sub(time.Now()) < 9*time.Minute || len(da.DeviceCode) < 22 {
		t.Fatalf("device authorization %+v", da)
	}
	// The person types it in lower case without the dash.
	typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
	req, err := e.p.LookupDevice(ctx, typed, e.alice, apps.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if req.ClientName != "Broker CLI" || req.UserCode != da.UserCode || strings.Join(req.Scopes, " ") != "openid email offline_access" {
		t.Fatalf("LookupDevice %+v (groups is not the client's to ask for)", req)
	}
	if err := e.p.DecideDevice(ctx, typed, true, e.alice, e.clock.now(), apps.Meta{}); err != nil {
		t.Fatal(err)
	}
	if e.audit.count("app_device_approved") != 1 {
		t.Errorf("approval not audited: %+v", e.audit.events)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Fatalf("token %+v: want a refresh token and an ID token", tok)
	}
	b, err := e.p.VerifyBearer(ctx, tok.AccessToken)
	if err != nil || b.ClientID != "cli" || b.Identity.Subject != "alice" {
		t.Fatalf("access token: %+v %v", b, err)
	}
	// The device code is spent: polling again is refused and revokes what it gave.
	if got := e.poll(t, "cli", da.DeviceCode); got != "invalid_grant" {
		t.Fatalf("second poll: %q, want invalid_grant", got)
	}
	if _, err := e.p.VerifyBearer(ctx, tok.AccessToken); broker.ErrorReason(err) != apps.ReasonBearerRevoked {
		t.Errorf("after a replayed device code the access token is %v, want revoked", err)
	}
	// The user code is spent too.
	if _, err := e.p.LookupDevice(ctx, typed, e.alice, apps.Meta{}); broker.ErrorReason(err) != apps.ReasonDeviceCodeUnknown {
		t.Errorf("spent user code: %v", err)
	}
}

// TestDeviceFlowDenied: the person denies ─> access_denied; a person the
// client's `when` refuses cannot approve ─> access_denied too.
func TestDeviceFlowDenied(t *testing.T) {
	t.Parallel()
	e := newDeviceEnv(t)
	ctx := context.Background()
	conf := e.conf("cli", "", "openid")
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.DecideDevice(ctx, da.UserCode, false, e.alice, e.clock.now(), apps.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.DeviceAccessToken(ctx, da); oauthError(err) != "access_denied" {
		t.Fatalf("denied: %v, want access_denied", err)
	}
	if e.audit.count("app_device_denied") != 1 {
		t.Errorf("denial not audited: %+v", e.audit.events)
	}

	ops := e.conf("ops", "s3cret", "openid")
	da, err = ops.DeviceAuth(ctx, oauth2.SetAuthURLParam("client_secret", "s3cret")) // x/oauth2 sends no credentials here
	if err != nil {
		t.Fatal(err)
	}
	err = e.p.DecideDevice(ctx, da.UserCode, true, e.alice, e.clock.now(), apps.Meta{})
	if broker.ErrorCode(err) != broker.EFORBIDDEN || !strings.Contains(broker.ErrorMessage(err), "Ops bot") {
		t.Fatalf("alice (not in ops) approving: %v, want EFORBIDDEN naming the app", err)
	}
	if _, err := ops.DeviceAccessToken(ctx, da); oauthError(err) != "access_denied" {
		t.Fatalf("refused by when: %v, want access_denied", err)
	}
}

// TestDeviceFlowExpired: a device code past its 10 minutes ─> expired_token,
// and its user code is no longer found.
func TestDeviceFlowExpired(t *testing.T) {
	t.Parallel()
	e := newDeviceEnv(t)
	ctx := context.Background()
	conf := e.conf("cli", "", "openid")
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.add(apps.DefaultDeviceLifetime + time.Second)
	if err := e.p.DecideDevice(ctx, da.UserCode, true, e.alice, e.clock.now(), apps.Meta{}); broker.ErrorReason(err) != apps.ReasonDeviceCodeUnknown {
		t.Fatalf("approving an expired code: %v", err)
	}
	if _, err := conf.DeviceAccessToken(ctx, da); oauthError(err) != "expired_token" {
		t.Fatalf("expired: %v, want expired_token", err)
	}
}

// TestDeviceFlowSlowDown: polling sooner than the interval ─> slow_down,
// and the interval grows by 5 s: a poll 1 s later is still too soon, one
// 6 s later is on time (authorization_pending).
func TestDeviceFlowSlowDown(t *testing.T) {
	t.Parallel()
	e := newDeviceEnv(t)
	da, err := e.conf("cli", "", "openid").DeviceAuth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := e.poll(t, "cli", da.DeviceCode); got != "slow_down" {
		t.Fatalf("poll at once: %q, want slow_down", got)
	}
	e.clock.add(time.Second + 100*time.Millisecond)
	if got := e.poll(t, "cli", da.DeviceCode); got != "slow_down" {
		t.Fatalf("poll after the first interval: %q, want slow_down (the interval is now 6 s)", got)
	}
	e.clock.add(11*time.Second + 100*time.Millisecond)
	if got := e.poll(t, "cli", da.DeviceCode); got != "authorization_pending" {
		t.Fatalf("poll on time: %q, want authorization_pending", got)
	}
	if got := e.poll(t, "web", da.DeviceCode); got != "unauthorized_client" {
		t.Errorf("another client polling: %q, want unauthorized_client", got)
	}
	if got := e.poll(t, "cli", "not-a-device-code"); got != "invalid_grant" {
		t.Errorf("unknown device code: %q, want invalid_grant", got)
	}
}

// TestDeviceUserCodeGuessesBounded: wrong user codes count against every
// pending device authorization; after MaxUserCodeFailures the device
// code is dead (expired_token) even for the right user code. Malformed
// codes do not count.
func TestDeviceUserCodeGuessesBounded(t *testing.T) {
	t.Parallel()
	e := newDeviceEnv(t)
	ctx := context.Background()
	conf := e.conf("cli", "", "openid")
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "BBBBBBBB"
	if strings.ReplaceAll(da.UserCode, "-", "") == wrong {
		wrong = "CCCCCCCC"
	}
	for i := 0; i < 5; i++ {
		if _, err := e.p.LookupDevice(ctx, "AEIOU-01", e.alice, apps.Meta{}); broker.ErrorReason(err) != apps.ReasonDeviceCodeInvalid {
			t.Fatalf("malformed code: %v", err)
		}
	}
	for i := 0; i < apps.MaxUserCodeFailures-1; i++ {
		if _, err := e.p.LookupDevice(ctx, wrong, e.alice, apps.Meta{}); broker.ErrorReason(err) != apps.ReasonDeviceCodeUnknown {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if _, err := e.p.LookupDevice(ctx, da.UserCode, e.alice, apps.Meta{}); err != nil {
		t.Fatalf("the right code after %d wrong ones: %v", apps.MaxUserCodeFailures-1, err)
	}
	if _, err := e.p.LookupDevice(ctx, wrong, e.alice, apps.Meta{}); err == nil {
		t.Fatal("wrong code found")
	}
	if _, err := e.p.LookupDevice(ctx, da.UserCode, e.alice, apps.Meta{}); broker.ErrorReason(err) != apps.ReasonDeviceCodeUnknown {
		t.Fatalf("the right code after %d wrong ones: %v, want it dead", apps.MaxUserCodeFailures, err)
	}
	if got := e.poll(t, "cli", da.DeviceCode); got != "expired_token" {
		t.Fatalf("device after the bound: %q, want expired_token", got)
	}
	if n := e.audit.count("app_device_code_wrong"); n != apps.MaxUserCodeFailures+1 {
		t.Errorf("%d wrong codes audited, want %d (the last one the dead right code)", n, apps.MaxUserCodeFailures+1)
	}
}

// TestDeviceClients: only clients allowed the grant get a device code;
// a confidential client must authenticate.
func TestDeviceClients(t *testing.T) {
	t.Parallel()
	e := newDeviceEnv(t)
	ctx := context.Background()
	secret := func(s string) oauth2.AuthCodeOption { return oauth2.SetAuthURLParam("client_secret", s) }
	for _, tc := range []struct {
		name string
		conf *oauth2.Config
		opts []oauth2.AuthCodeOption
		want string
	}{
		{"client without the grant", e.conf("web", "", "openid"), nil, "unauthorized_client"},
		{"confidential client without its secret", e.conf("ops", "", "openid"), nil, "invalid_client"},
		{"confidential client, wrong secret", e.conf("ops", "", "openid"), []oauth2.AuthCodeOption{secret("wrong")}, "invalid_client"},
		{"public client with a secret", e.conf("cli", "", "openid"), []oauth2.AuthCodeOption{secret("x")}, "invalid_client"},
		{"unknown client", e.conf("nobody", "", "openid"), nil, "invalid_client"},
	} {
		if _, err := tc.conf.DeviceAuth(ctx, tc.opts...); oauthError(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if _, err := e.conf("ops", "s3cret", "openid").DeviceAuth(ctx, oauth2.SetAuthURLParam("client_secret", "s3cret")); err != nil {
		t.Errorf("confidential client with its secret: %v", err)
	}
}
