package sts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/broker-dev/broker"
)

const (
	role = "arn:aws:iam::111122223333:role/Admin"
	prov = "arn:aws:iam::111122223333:saml-provider/Okta"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// fakeAPI answers with results or errors in turn and records inputs.
type fakeAPI struct {
	errs  []error
	calls []*awssts.AssumeRoleWithSAMLInput
	wcall []*awssts.AssumeRoleWithWebIdentityInput
}

func (f *fakeAPI) next() error {
	if len(f.errs) == 0 {
		return nil
	}
	err := f.errs[0]
	f.errs = f.errs[1:]
	return err
}

func out() *types.Credentials {
	return &types.Credentials{AccessKeyId: aws.String("ASIAFAKE"), SecretAccessKey: aws.String("s"), SessionToken: aws.String("t"), Expiration: aws.Time(now.Add(time.Hour))}
}

func (f *fakeAPI) AssumeRoleWithSAML(_ context.Context, in *awssts.AssumeRoleWithSAMLInput, _ ...func(*awssts.Options)) (*awssts.AssumeRoleWithSAMLOutput, error) {
	f.calls = append(f.calls, in)
	if err := f.next(); err != nil {
		return nil, err
	}
	return &awssts.AssumeRoleWithSAMLOutput{Credentials: out(), AssumedRoleUser: &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::111122223333:assumed-role/Admin/alice"), AssumedRoleId: aws.String("AROA:alice")}, Subject: aws.String("alice")}, nil
}

func (f *fakeAPI) AssumeRoleWithWebIdentity(_ context.Context, in *awssts.AssumeRoleWithWebIdentityInput, _ ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
	f.wcall = append(f.wcall, in)
	if err := f.next(); err != nil {
		return nil, err
	}
	return &awssts.AssumeRoleWithWebIdentityOutput{Credentials: out(), Provider: aws.String("example.com")}, nil
}

// reissue stands in for the issuer: a fresh assertion for the retry.
func reissue(context.Context, time.Duration) (string, error) { return "UmVpc3N1ZWQ=", nil }

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func newClient(t *testing.T, f *fakeAPI) *Client {
	t.Helper()
	c, err := New(Config{Clients: map[string]API{"aws": f}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClampAndRetry(t *testing.T) {
	maxDur := apiErr("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	tests := []struct {
		name      string
		in        SAMLInput
		errs      []error
		wantSent  []int32 // DurationSeconds per call (0 = not sent)
		wantCode  string
		wantNotes []string
	}{
		{"default", SAMLInput{}, nil, []int32{0}, "", nil},
		{"asked 2h", SAMLInput{Duration: 2 * time.Hour}, nil, []int32{7200}, "", nil},
		{"assertion allows 30m", SAMLInput{Duration: 2 * time.Hour, AssertionMaxDuration: 30 * time.Minute}, nil, []int32{1800}, "", []string{"duration_clamped_assertion"}},
		{"assertion 30m, nothing asked", SAMLInput{AssertionMaxDuration: 30 * time.Minute}, nil, []int32{1800}, "", nil},
		{"session ends in 40m", SAMLInput{Duration: 2 * time.Hour, SessionNotOnOrAfter: now.Add(40 * time.Minute)}, nil, []int32{2400}, "", []string{"duration_clamped_assertion"}},
		{"session ends in 10m", SAMLInput{SessionNotOnOrAfter: now.Add(10 * time.Minute)}, nil, nil, broker.EEXPIRED, nil},
		{"role max below request", SAMLInput{Duration: 4 * time.Hour, Reissue: reissue}, []error{maxDur}, []int32{14400, 3600}, "", []string{"duration_clamped_role"}},
		{"role max below request, upstream assertion", SAMLInput{Duration: 4 * time.Hour}, []error{maxDur}, []int32{14400}, broker.EEXPIRED, nil},
		{"role max at 1h is not retried", SAMLInput{Duration: time.Hour}, []error{maxDur}, []int32{3600}, broker.EINVALID, nil},
		{"expired assertion", SAMLInput{}, []error{apiErr("ExpiredTokenException", "Token expired")}, []int32{0}, broker.EEXPIRED, nil},
		{"trust policy", SAMLInput{}, []error{apiErr("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")}, []int32{0}, broker.EFORBIDDEN, nil},
		{"bad duration", SAMLInput{Duration: 13 * time.Hour}, nil, nil, broker.EINVALID, nil},
		{"policy too long", SAMLInput{Policy: strings.Repeat("x", 2049)}, nil, nil, broker.EINVALID, nil},
		{"11 policy arns", SAMLInput{PolicyARNs: make([]string, 11)}, nil, nil, broker.EINVALID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{errs: tt.errs}
			in := tt.in
			in.RoleARN, in.PrincipalARN, in.Assertion = role, prov, "PHNhbWw+"
			res, err := newClient(t, f).AssumeRoleWithSAML(context.Background(), in)
			if broker.ErrorCode(err) != tt.wantCode {
				t.Fatalf("err %v, want code %q", err, tt.wantCode)
			}
			var sent []int32
			for _, c := range f.calls {
				sent = append(sent, aws.ToInt32(c.DurationSeconds))
			}
			if fmt.Sprint(sent) != fmt.Sprint(tt.wantSent) {
				t.Errorf("DurationSeconds sent %v, want %v", sent, tt.wantSent)
			}
			if err != nil {
				return
			}
			var codes []string
			for _, n := range res.Notices {
				codes = append(codes, n.Code)
				if n.Message == "" {
					t.Error("notice without a message")
				}
			}
			if fmt.Sprint(codes) != fmt.Sprint(tt.wantNotes) {
				t.Errorf("notices %v, want %v", codes, tt.wantNotes)
			}
			if res.Credentials.AccessKeyID != "ASIAFAKE" || res.Credentials.AssumedRoleARN == "" {
				t.Errorf("credentials %+v", res.Credentials)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err    error
		code   string
		reason string
	}{
		{apiErr("ExpiredTokenException", "x"), broker.EEXPIRED, "sts_expired_token"},
		{apiErr("InvalidIdentityToken", "bad sig"), broker.EUNAUTHORIZED, "sts_invalid_identity_token"},
		{apiErr("IDPRejectedClaim", "x"), broker.EFORBIDDEN, "sts_idp_rejected_claim"},
		{apiErr("AccessDenied", "x"), broker.EFORBIDDEN, "sts_access_denied"},
		{apiErr("MalformedPolicyDocument", "x"), broker.EINVALID, "sts_malformed_policy_document"},
		{apiErr("PackedPolicyTooLarge", "x"), broker.EINVALID, "sts_packed_policy_too_large"},
		{apiErr("RegionDisabledException", "x"), broker.EUNAVAILABLE, "sts_region_disabled"},
		{apiErr("IDPCommunicationError", "x"), broker.EUPSTREAM, "sts_idp_communication_error"},
		{apiErr("Throttling", "x"), broker.EUNAVAILABLE, "sts_throttling"},
		{errors.New("dial tcp: connection refused"), broker.EUNAVAILABLE, "sts_unreachable"},
		{context.DeadlineExceeded, broker.EUNAVAILABLE, "sts_timeout"},
	}
	// The exported constant is the string the audit log has always held.
	if ReasonExpiredToken != "sts_expired_token" || reasonOf("ExpiredToken") != ReasonExpiredToken {
		t.Errorf("ReasonExpiredToken = %q, reasonOf(ExpiredToken) = %q", ReasonExpiredToken, reasonOf("ExpiredToken"))
	}
	for _, tt := range tests {
		err := classify(tt.err, role)
		if broker.ErrorCode(err) != tt.code || broker.ErrorReason(err) != tt.reason {
			t.Errorf("classify(%v) = %s/%s, want %s/%s", tt.err, broker.ErrorCode(err), broker.ErrorReason(err), tt.code, tt.reason)
		}
		if m := broker.ErrorMessage(err); m == "" || strings.Contains(m, "Something went wrong") {
			t.Errorf("classify(%v): no actionable message: %q", tt.err, m)
		}
		// An outage is what AWS failing looks like, never a refusal or
		// an account's setup (RegionDisabled).
		outage := tt.reason == "sts_throttling" || tt.reason == ReasonUnreachable || tt.reason == ReasonTimeout
		if IsOutage(err) != outage {
			t.Errorf("IsOutage(classify(%v)) = %t, want %t", tt.err, IsOutage(err), outage)
		}
	}
}

func TestWebIdentity(t *testing.T) {
	f := &fakeAPI{}
	c := newClient(t, f)
	res, err := c.AssumeRoleWithWebIdentity(context.Background(), WebIdentityInput{RoleARN: role, RoleSessionName: "bob", Token: "eyJ.x.y", Duration: time.Hour})
	if err != nil || res.Provider != "example.com" || aws.ToString(f.wcall[0].RoleSessionName) != "bob" {
		t.Fatalf("%v %+v", err, res)
	}
	for name, in := range map[string]WebIdentityInput{
		"bad session name": {RoleARN: role, RoleSessionName: "b o b", Token: "eyJ.x.y"},
		"tiny token":       {RoleARN: role, RoleSessionName: "bob", Token: "x"},
		"expired token":    {RoleARN: role, RoleSessionName: "bob", Token: "eyJ.x.y", TokenExpires: now.Add(-time.Second)},
		"bad role":         {RoleARN: prov, RoleSessionName: "bob", Token: "eyJ.x.y"},
	} {
		if _, err := c.AssumeRoleWithWebIdentity(context.Background(), in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// stsServer speaks just enough of the STS Query API to prove the SDK
// wiring: endpoint override, anonymous (unsigned) calls, retries.
func stsServer(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *int32) {
	var n int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := atomic.AddInt32(&n, 1) - 1
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the call was signed: %q", r.Header.Get("Authorization"))
		}
		if !strings.Contains(string(body), "Action=AssumeRoleWithSAML") || !strings.Contains(string(body), "Version=2011-06-15") {
			t.Errorf("unexpected body %q", body)
		}
		answers[min(int(i), len(answers)-1)](w)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func ok(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprint(w, `<AssumeRoleWithSAMLResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithSAMLResult>
<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2026-11-22T11:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/Admin/alice</Arn><AssumedRoleId>AROAEXAMPLE:alice</AssumedRoleId></AssumedRoleUser>
<Subject>alice</Subject><SubjectType>persistent</SubjectType><Issuer>https://idp.example.com</Issuer><Audience>https://signin.aws.amazon.com/saml</Audience><NameQualifier>abc=</NameQualifier>
</AssumeRoleWithSAMLResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleWithSAMLResponse>`)
}

func fail(status int, code, msg string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, code, msg)
	}
}

func TestSDKWiring(t *testing.T) {
	tests := []struct {
		name      string
		answers   []func(http.ResponseWriter)
		wantCalls int32
		wantCode  string
	}{
		{"success", []func(http.ResponseWriter){ok}, 1, ""},
		{"expired is not retried", []func(http.ResponseWriter){fail(400, "ExpiredTokenException", "expired")}, 1, broker.EEXPIRED},
		{"IdP communication error is retried", []func(http.ResponseWriter){fail(400, "IDPCommunicationError", "x"), ok}, 2, ""},
		{"5xx is retried", []func(http.ResponseWriter){fail(503, "ServiceUnavailable", "x"), ok}, 2, ""},
		{"max session duration: one retry at 1h", []func(http.ResponseWriter){fail(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."), ok}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := stsServer(t, tt.answers...)
			c, err := New(Config{Endpoint: srv.URL, Now: time.Now})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.AssumeRoleWithSAML(context.Background(), SAMLInput{RoleARN: role, PrincipalARN: prov, Assertion: "PHNhbWw+", Duration: 2 * time.Hour, Reissue: reissue})
			if broker.ErrorCode(err) != tt.wantCode {
				t.Fatalf("err %v, want %q", err, tt.wantCode)
			}
			if got := atomic.LoadInt32(n); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			if err == nil && (res.Credentials.SecretAccessKey != "secret" || res.SubjectType != "persistent" || res.NameQualifier != "abc=") {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func BenchmarkAssumeRoleWithSAML(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body); ok(w) }))
	defer srv.Close()
	c, _ := New(Config{Endpoint: srv.URL})
	in := SAMLInput{RoleARN: role, PrincipalARN: prov, Assertion: strings.Repeat("A", 12000)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := c.AssumeRoleWithSAML(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
