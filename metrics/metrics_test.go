package metrics

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.SignIns("okta", ResultSuccess, "", 1)
	m.RoleAssumption("saml", ResultSuccess, "")
	m.AWSCall(ServiceSTS, "AssumeRoleWithSAML", time.Second, "")
	m.IdPRefreshed(KindSAML, "okta", time.Now())
	m.StoreOp("GetSession", time.Millisecond, "")
	m.SetActiveSessions(3)
	m.SetRules(1, 2)
	m.RateLimited("signin")
	m.AppTokenIssued(TokenAccess)
	if s, err := m.Snapshot(); err != nil || s != nil {
		t.Fatalf("nil Snapshot = %v, %v", s, err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("nil Handler status %d, want 404", rec.Code)
	}
}

func TestSeriesAndExposition(t *testing.T) {
	m := New(Config{Version: "v1.2.3"})
	m.SignIns("okta", ResultFailure, "signature_invalid", 3)
	m.SignIns("okta", ResultSuccess, "", 1)
	m.RoleAssumption("web_identity", ResultFailure, "sts_access_denied")
	m.AWSCall(ServiceSTS, "AssumeRoleWithWebIdentity", 120*time.Millisecond, "AccessDenied")
	m.AWSCall(ServiceFederation, "getSigninToken", 40*time.Millisecond, "")
	m.StoreOp("Remember", 2*time.Millisecond, "replay")
	m.SetActiveSessions(7)
	m.SetActiveSessions(-1)
	m.SetRules(42, 5)
	m.RateLimited("signin")
	m.IdPRefreshed(KindSAML, "okta", time.Unix(1700000000, 0))
	m.IdPRefreshFailed(KindSAML, "okta")

	s, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name  string
		match map[string]string
		want  float64
	}{
		{"broker_signins_total", map[string]string{"provider": "okta", "result": "failure", "reason": "signature_invalid"}, 3},
		{"broker_signins_total", map[string]string{"result": "success"}, 1},
		{"broker_role_assumptions_total", map[string]string{"downstream": "web_identity"}, 1},
		{"broker_aws_request_duration_seconds", map[string]string{"service": "sts"}, 1},
		{"broker_aws_request_errors_total", map[string]string{"code": "AccessDenied"}, 1},
		{"broker_aws_request_errors_total", map[string]string{"service": "federation"}, 0},
		{"broker_store_errors_total", map[string]string{"operation": "Remember", "code": "replay"}, 1},
		{"broker_active_sessions", nil, 7},
		{"broker_active_sessions_count_failures_total", nil, 1},
		{"broker_rules_revision", nil, 42},
		{"broker_rules_loaded", nil, 5},
		{"broker_rate_limited_total", map[string]string{"limit": "signin"}, 1},
		{"broker_idp_metadata_last_success_timestamp_seconds", map[string]string{"provider": "okta"}, 1700000000},
		{"broker_idp_metadata_refresh_failures_total", map[string]string{"kind": "saml"}, 1},
		{"broker_build_info", map[string]string{"version": "v1.2.3"}, 1},
	}
	for _, c := range checks {
		if got := Sum(s, c.name, c.match); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.match, got, c.want)
		}
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`broker_signins_total{provider="okta",reason="signature_invalid",result="failure"} 3`,
		`broker_aws_request_duration_seconds_bucket{operation="AssumeRoleWithWebIdentity",service="sts",le="0.25"} 1`,
		"go_goroutines ", "process_",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

// TestLabelValuesBounded: a label keeps at most MaxLabelValues distinct
// values, and a value that is not a short identifier (a user name with
// an @, an ARN with / ) is never a label value.
func TestLabelValuesBounded(t *testing.T) {
	m := New(Config{MaxLabelValues: 5})
	for i := range 50 {
		m.SignIns("p"+strconv.Itoa(i), ResultFailure, "r", 1)
	}
	m.SignIns("alice@example.com", ResultFailure, "r", 1)
	m.RoleAssumption("arn:aws:iam::111122223333:role/Admin", ResultFailure, "x")
	s, _ := m.Snapshot()
	providers := map[string]bool{}
	for _, x := range s {
		if x.Name == "broker_signins_total" {
			providers[x.Labels["provider"]] = true
		}
	}
	if len(providers) != 7 || !providers[OtherValue] || !providers[InvalidValue] {
		t.Errorf("provider values %v: want 5 kept, other and invalid", providers)
	}
	if got := Sum(s, "broker_signins_total", map[string]string{"provider": OtherValue}); got != 45 {
		t.Errorf("other = %v, want 45", got)
	}
	if got := Sum(s, "broker_role_assumptions_total", map[string]string{"downstream": InvalidValue}); got != 1 {
		t.Errorf("an ARN as downstream counted as %v invalid, want 1", got)
	}
}

func TestNamesListsUnusedVectors(t *testing.T) {
	names := New(Config{}).Names()
	want := map[string]bool{"broker_store_errors_total": false, "broker_signins_total": false, "broker_build_info": false}
	for _, n := range names {
		if _, ok := want[n]; ok {
			want[n] = true
		}
	}
	for n, ok := range want {
		if !ok {
			t.Errorf("Names lacks %s", n)
		}
	}
}
