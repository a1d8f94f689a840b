package console

import (
	"context"
	"testing"
	"time"

	"github.com/broker-dev/broker/metrics"
)

// TestSigninTokenCallsInMetrics: each getSigninToken call is timed; a
// failure is counted by what failed (the HTTP status, a bad answer, an
// unreachable endpoint), and a request refused before any call is not a
// call.
func TestSigninTokenCallsInMetrics(t *testing.T) {
	m := metrics.New(metrics.Config{})
	f := &fed{status: 200, body: `{"SigninToken":"T"}`}
	srv := f.server(t)
	c, err := New(Config{Issuer: "https://portal.example.com/", FederationURL: srv.URL, Metrics: m, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	call := func(status int, body string) {
		f.status, f.body = status, body
		_, _ = c.LoginURL(ctx, Request{Credentials: creds(), RoleARN: role})
	}
	call(200, `{"SigninToken":"T"}`)
	call(400, `bad`)
	call(200, `<html>`)
	_, _ = c.LoginURL(ctx, Request{Credentials: creds(), RoleARN: role, SessionDuration: time.Minute}) // refused before calling
	srv.Close()
	call(200, ``)

	s, _ := m.Snapshot()
	for _, c := range []struct {
		name  string
		match map[string]string
		want  float64
	}{
		{"broker_aws_request_duration_seconds", map[string]string{"service": "federation", "operation": "getSigninToken"}, 4},
		{"broker_aws_request_errors_total", map[string]string{"code": "http_400"}, 1},
		{"broker_aws_request_errors_total", map[string]string{"code": "bad_response"}, 1},
		{"broker_aws_request_errors_total", map[string]string{"code": "unreachable"}, 1},
		{"broker_aws_request_errors_total", nil, 3},
	} {
		if got := metrics.Sum(s, c.name, c.match); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.match, got, c.want)
		}
	}
}
