package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
)

const role = "arn:aws:iam::111122223333:role/Admin"

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func creds() broker.Credentials {
	return broker.Credentials{AccessKeyID: "ASIAKEY", SecretAccessKey: "sekret", SessionToken: "tok", Expiration: now.Add(time.Hour)}
}

type fed struct {
	form   url.Values
	method string
	status int
	body   string
}

func (f *fed) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.method = r.Method
		if r.URL.RawQuery != "" {
			t.Errorf("credentials must not travel in the URL: %q", r.URL.RawQuery)
		}
		_ = r.ParseForm()
		f.form = r.PostForm
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLoginURL(t *testing.T) {
	f := &fed{status: 200, body: `{"SigninToken":"TOKEN123"}`}
	srv := f.server(t)
	c, err := New(Config{Issuer: "https://portal.example.com/", FederationURL: srv.URL + "/federation", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.LoginURL(context.Background(), Request{Credentials: creds(), RoleARN: role, Region: "eu-west-1", SessionDuration: 8 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if f.method != http.MethodPost || f.form.Get("Action") != "getSigninToken" || f.form.Get("SessionDuration") != "28800" {
		t.Fatalf("request %s %v", f.method, f.form)
	}
	var sess map[string]string
	if err := json.Unmarshal([]byte(f.form.Get("Session")), &sess); err != nil || sess["sessionId"] != "ASIAKEY" || sess["sessionKey"] != "sekret" || sess["sessionToken"] != "tok" {
		t.Fatalf("Session %q: %v", f.form.Get("Session"), err)
	}
	u, _ := url.Parse(res.URL)
	q := u.Query()
	if u.Path != "/federation" || q.Get("Action") != "login" || q.Get("SigninToken") != "TOKEN123" || q.Get("Issuer") != "https://portal.example.com/" {
		t.Errorf("login URL %s", res.URL)
	}
	if q.Get("Destination") != "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1" || res.Destination != q.Get("Destination") {
		t.Errorf("destination %q", q.Get("Destination"))
	}
	if !res.Expires.Equal(now.Add(8 * time.Hour)) {
		t.Errorf("expires %v", res.Expires)
	}
	for _, secret := range []string{"sekret", "tok"} {
		if strings.Contains(res.URL, secret) {
			t.Errorf("login URL carries the credentials")
		}
	}
	// Without SessionDuration the console lasts as long as the credentials.
	res, _ = c.LoginURL(context.Background(), Request{Credentials: creds(), RoleARN: role})
	if f.form.Has("SessionDuration") || !res.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("no duration: form %v expires %v", f.form, res.Expires)
	}
}

func TestLoginURLErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		req    Request
		code   string
		reason string
	}{
		{"bad destination", 200, `{"SigninToken":"x"}`, Request{RoleARN: role, Destination: "https://evil.example.com/"}, broker.EINVALID, "destination_not_allowed"},
		{"gov destination for aws role", 200, `{"SigninToken":"x"}`, Request{RoleARN: role, Destination: "https://console.amazonaws-us-gov.com/"}, broker.EINVALID, "destination_not_allowed"},
		{"duration too long", 200, `{"SigninToken":"x"}`, Request{RoleARN: role, SessionDuration: 13 * time.Hour}, broker.EINVALID, "session_duration_invalid"},
		{"duration too short", 200, `{"SigninToken":"x"}`, Request{RoleARN: role, SessionDuration: time.Minute}, broker.EINVALID, "session_duration_invalid"},
		{"bad role", 200, `{"SigninToken":"x"}`, Request{RoleARN: "nope"}, broker.EINVALID, "role_arn_invalid"},
		{"refused", 400, `bad session`, Request{RoleARN: role}, broker.EUPSTREAM, "signin_token_failed"},
		{"server error", 500, ``, Request{RoleARN: role}, broker.EUNAVAILABLE, ReasonUnavailable},
		{"garbage json", 200, `<html>`, Request{RoleARN: role}, broker.EUPSTREAM, "signin_token_failed"},
		{"empty token", 200, `{"SigninToken":""}`, Request{RoleARN: role}, broker.EUPSTREAM, "signin_token_failed"},
		{"huge body", 200, `{"SigninToken":"` + strings.Repeat("x", 70<<10) + `"}`, Request{RoleARN: role}, broker.EUPSTREAM, "signin_token_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fed{status: tt.status, body: tt.body}
			srv := f.server(t)
			c, _ := New(Config{Issuer: "https://portal.example.com/", FederationURL: srv.URL})
			tt.req.Credentials = creds()
			_, err := c.LoginURL(context.Background(), tt.req)
			if broker.ErrorCode(err) != tt.code || broker.ErrorReason(err) != tt.reason {
				t.Fatalf("err %v, want %s/%s", err, tt.code, tt.reason)
			}
			if strings.Contains(fmt.Sprint(err), "sekret") {
				t.Error("error leaks the secret key")
			}
			if IsOutage(err) != (tt.status >= 500) {
				t.Errorf("IsOutage = %t for status %d", IsOutage(err), tt.status)
			}
		})
	}
	c, _ := New(Config{Issuer: "https://portal.example.com/", FederationURL: "http://127.0.0.1:1/federation"})
	if _, err := c.LoginURL(context.Background(), Request{Credentials: creds(), RoleARN: role}); broker.ErrorReason(err) != "signin_unreachable" || !IsOutage(err) {
		t.Errorf("unreachable: %v", err)
	}
}

// A federation endpoint that hangs is given up on after Timeout, as an
// outage (503), not waited for.
func TestLoginURLTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c, _ := New(Config{Issuer: "https://portal.example.com/", FederationURL: srv.URL, Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := c.LoginURL(context.Background(), Request{Credentials: creds(), RoleARN: role})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %s, want about 200ms", d)
	}
	if broker.ErrorCode(err) != broker.EUNAVAILABLE || !IsOutage(err) {
		t.Fatalf("err %v (%s), want an outage", err, broker.ErrorCode(err))
	}
}

func TestSigninEndpointAndDestination(t *testing.T) {
	for _, tc := range []struct{ partition, region, endpoint, dest string }{
		{"aws", "", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		{"aws", "eu-west-1", "https://eu-west-1.signin.aws.amazon.com/federation", "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"},
		{"aws-us-gov", "us-gov-west-1", "https://signin.amazonaws-us-gov.com/federation", "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"},
		{"aws-cn", "", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home"},
		{"aws", "evil.com/x", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
	} {
		ep, err := SigninEndpoint(tc.partition, tc.region)
		if err != nil || ep != tc.endpoint {
			t.Errorf("SigninEndpoint(%s,%s) = %q %v", tc.partition, tc.region, ep, err)
		}
		if d := DefaultDestination(tc.partition, tc.region); d != tc.dest {
			t.Errorf("DefaultDestination(%s,%s) = %q", tc.partition, tc.region, d)
		}
		if err := ValidateDestination(tc.partition, tc.dest); err != nil {
			t.Errorf("default destination %q not valid: %v", tc.dest, err)
		}
	}
	if _, err := SigninEndpoint("aws-xx", ""); err == nil {
		t.Error("unknown partition accepted")
	}
	if _, err := New(Config{Issuer: "not a url"}); err == nil {
		t.Error("relative issuer accepted")
	}
}

func BenchmarkLoginURL(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"SigninToken":"T"}`) }))
	defer srv.Close()
	c, _ := New(Config{Issuer: "https://portal.example.com/", FederationURL: srv.URL})
	for i := 0; i < b.N; i++ {
		if _, err := c.LoginURL(context.Background(), Request{Credentials: creds(), RoleARN: role, SessionDuration: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
}
