package sts

import (
	"context"
	"testing"
	"time"

	"github.com/broker-dev/broker/metrics"
)

// TestCallsRecordedInMetrics: every STS call is timed, and a refused one
// counted by its AWS error code (the retry after a duration refusal is a
// second call).
func TestCallsRecordedInMetrics(t *testing.T) {
	m := metrics.New(metrics.Config{})
	clock := now
	f := &fakeAPI{errs: []error{
		apiErr("AccessDenied", "no"),
		apiErr("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
		nil,
		context.DeadlineExceeded,
	}}
	c, err := New(Config{Clients: map[string]API{"aws": f}, Metrics: m, Now: func() time.Time { clock = clock.Add(50 * time.Millisecond); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	in := SAMLInput{RoleARN: role, PrincipalARN: prov, Assertion: "UmVzcG9uc2U="}
	ctx := context.Background()
	_, _ = c.AssumeRoleWithSAML(ctx, in)
	in.Duration, in.Reissue = 4*time.Hour, reissue
	if _, err := c.AssumeRoleWithSAML(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, _ = c.AssumeRoleWithWebIdentity(ctx, WebIdentityInput{RoleARN: role, RoleSessionName: "alice", Token: "eyJ.x.y"})
	s, _ := m.Snapshot()
	for _, c := range []struct {
		name  string
		match map[string]string
		want  float64
	}{
		{"broker_aws_request_duration_seconds", map[string]string{"service": "sts", "operation": "AssumeRoleWithSAML"}, 3},
		{"broker_aws_request_duration_seconds", map[string]string{"operation": "AssumeRoleWithWebIdentity"}, 1},
		{"broker_aws_request_errors_total", map[string]string{"operation": "AssumeRoleWithSAML", "code": "AccessDenied"}, 1},
		{"broker_aws_request_errors_total", map[string]string{"code": "ValidationError"}, 1},
		{"broker_aws_request_errors_total", map[string]string{"operation": "AssumeRoleWithWebIdentity", "code": "timeout"}, 1},
		{"broker_aws_request_errors_total", nil, 3},
	} {
		if got := metrics.Sum(s, c.name, c.match); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.match, got, c.want)
		}
	}
}
