package access

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/sts"
)

// stingySTS is AWS's side of a role whose MaxSessionDuration is 1 h: it
// refuses longer DurationSeconds and records every call's duration and the
// credential it carried.
type stingySTS struct {
	mu    sync.Mutex
	calls []string // "SECONDS CREDENTIAL"
}

func (f *stingySTS) answer(d *int32, credential string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%d %s", aws.ToInt32(d), credential))
	if aws.ToInt32(d) > 3600 {
		return &smithy.GenericAPIError{Code: "ValidationError", Message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}
	}
	return nil
}

func (f *stingySTS) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func stsCreds() *types.Credentials {
	return &types.Credentials{AccessKeyId: aws.String("ASIAFAKEFAKEFAKE1234"), SecretAccessKey: aws.String("s"), SessionToken: aws.String("t"), Expiration: aws.Time(time.Now().Add(time.Hour))}
}

func (f *stingySTS) AssumeRoleWithSAML(_ context.Context, in *awssts.AssumeRoleWithSAMLInput, _ ...func(*awssts.Options)) (*awssts.AssumeRoleWithSAMLOutput, error) {
	if err := f.answer(in.DurationSeconds, aws.ToString(in.SAMLAssertion)); err != nil {
		return nil, err
	}
	return &awssts.AssumeRoleWithSAMLOutput{Credentials: stsCreds()}, nil
}

func (f *stingySTS) AssumeRoleWithWebIdentity(_ context.Context, in *awssts.AssumeRoleWithWebIdentityInput, _ ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
	if err := f.answer(in.DurationSeconds, aws.ToString(in.WebIdentityToken)); err != nil {
		return nil, err
	}
	return &awssts.AssumeRoleWithWebIdentityOutput{Credentials: stsCreds()}, nil
}

// countingIssuer mints a distinct assertion and token each time, as the
// real issuer does (new assertion ID, new jti).
type countingIssuer struct {
	mu         sync.Mutex
	saml, oidc int
	durations  []time.Duration
}

func (c *countingIssuer) Issue(_ context.Context, r issuer.SAMLRequest) (issuer.IssuedSAML, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saml++
	c.durations = append(c.durations, r.SessionDuration)
	return issuer.IssuedSAML{Base64: fmt.Sprintf("assertion-%d", c.saml), AssertionID: fmt.Sprintf("_%d", c.saml)}, nil
}

func (c *countingIssuer) Mint(_ context.Context, _ issuer.OIDCRequest) (issuer.IssuedToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.oidc++
	return issuer.IssuedToken{Token: fmt.Sprintf("token-%d", c.oidc), Expires: time.Now().Add(5 * time.Minute)}, nil
}

func durationService(t *testing.T) (*Service, *stingySTS, *countingIssuer) {
	t.Helper()
	four := mapping.Duration(4 * time.Hour)
	e, err := mapping.Compile([]mapping.Rule{
		{Name: "issued-saml", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: acct, Role: "Developer", Duration: four}},
		{Name: "issued-wi", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: acct, Role: "WebAdmin", Mode: string(broker.ModeBrokerIssued), Downstream: string(broker.DownstreamWebIdentity), Duration: four}},
		{Name: "pass-saml", When: mapping.Group{All: []mapping.Condition{{Attribute: broker.SAMLAttrRole, Exists: true}}},
			Grant: mapping.GrantSpec{Mode: string(broker.ModePassThrough), Role: "*", Duration: four}},
	}, mapping.Options{BrokerSAMLProviderName: "broker", DefaultAudience: "sts.amazonaws.com"})
	if err != nil {
		t.Fatal(err)
	}
	fake := &stingySTS{}
	client, err := sts.New(sts.Config{Clients: map[string]sts.API{"aws": fake}})
	if err != nil {
		t.Fatal(err)
	}
	is := &countingIssuer{}
	s, err := New(Config{Rules: rules{e}, SAMLIssuer: is, OIDCIssuer: is, STS: client, Console: &fakeConsole{}, Audit: &memAudit{}})
	if err != nil {
		t.Fatal(err)
	}
	return s, fake, is
}

func TestDurationRefusedBrokerIssuedRetriesWithAFreshCredential(t *testing.T) {
	s, fake, is := durationService(t)
	id := identity()
	sess := &Session{Identity: *id}
	out, err := s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: grantKey(t, s, id, devRole)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(fake.took()), "[14400 assertion-1 3600 assertion-2]"; got != want {
		t.Errorf("SAML calls %s, want %s (the retry must carry a new assertion)", got, want)
	}
	if fmt.Sprint(is.durations) != "[4h0m0s 1h0m0s]" {
		t.Errorf("assertions minted for %v, want the retry's SessionDuration to be 1h", is.durations)
	}
	if len(out.Notices) != 1 || out.Notices[0].Code != "duration_clamped_role" {
		t.Errorf("notices %+v", out.Notices)
	}

	webAdmin := "arn:aws:iam::" + acct + ":role/WebAdmin"
	if _, err := s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: grantKey(t, s, id, webAdmin)}); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(fake.took()), "[14400 token-1 3600 token-2]"; got != want {
		t.Errorf("web identity calls %s, want %s (the retry must carry a new token)", got, want)
	}
}

func TestDurationRefusedPassThroughSignsInAgainOnce(t *testing.T) {
	s, fake, _ := durationService(t)
	id := identity()
	id.SessionDuration = 0 // the IdP does not cap the duration
	sess := NewSAMLSession(*id, []byte("<samlp:Response ID='first'/>"))
	key := grantKey(t, s, id, admRole)
	out, err := s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: key})
	if broker.ErrorCode(err) != broker.EEXPIRED || broker.ErrorReason(err) != sts.ReasonDurationRefused {
		t.Fatalf("err %v, want EEXPIRED %s", err, sts.ReasonDurationRefused)
	}
	if calls := fake.took(); len(calls) != 1 {
		t.Errorf("calls %v: the upstream assertion was presented more than once", calls)
	}
	if !out.SessionChanged || !sess.used {
		t.Error("the refused upstream assertion is not marked used")
	}
	if step := NextStep(sess, err, Provider{SAML: true}); step.Kind != StepSignInAgain {
		t.Errorf("next step %+v, want sign in again", step)
	}

	again := NewSAMLSession(*id, []byte("<samlp:Response ID='second'/>"))
	if _, err := s.Assume(context.Background(), AssumeInput{Session: again, GrantKey: key}); err != nil {
		t.Fatal(err)
	}
	calls := fake.took()
	if len(calls) != 1 || calls[0][:5] != "3600 " {
		t.Errorf("second sign-in: calls %v, want ONE call at 3600 seconds", calls)
	}
}

func TestCheckTokenSubject(t *testing.T) {
	long := strings.Repeat("a", 251)
	tests := []struct {
		provider, subject string
		ok                bool
	}{
		{"okta", "alice", true},          // okta:alice, 10
		{"ab", "cde", true},              // ab:cde, exactly 6
		{"a", "b", false},                // a:b, 3
		{"ab", "cd", false},              // 5
		{"okta", long[:250], true},       // 255
		{"okta", long, false},            // 256
		{"kc", "élodie", true},           // counted in characters
		{"okta", long[:246] + "é", true}, // 252 characters, 253 bytes
	}
	for _, tt := range tests {
		id := &broker.Identity{Provider: tt.provider, Subject: tt.subject}
		sub, err := CheckTokenSubject(id)
		if tt.ok != (err == nil) {
			t.Errorf("%s:%.12s…: err %v, want ok=%v", tt.provider, tt.subject, err, tt.ok)
			continue
		}
		if err != nil && (broker.ErrorCode(err) != broker.EINVALID || broker.ErrorReason(err) != ReasonSubjectLength) {
			t.Errorf("%s: err %v, want EINVALID %s", tt.provider, err, ReasonSubjectLength)
		}
		if err == nil && sub != tt.provider+":"+tt.subject {
			t.Errorf("sub %q changed", sub)
		}
	}
}

func TestTooLongSubjectRefusedBeforeSTS(t *testing.T) {
	s, fake, is := durationService(t)
	id := identity()
	id.Subject = strings.Repeat("x", 300)
	webAdmin := "arn:aws:iam::" + acct + ":role/WebAdmin"
	_, err := s.Assume(context.Background(), AssumeInput{Session: &Session{Identity: *id}, GrantKey: grantKey(t, s, id, webAdmin)})
	if broker.ErrorReason(err) != ReasonSubjectLength {
		t.Fatalf("err %v, want %s", err, ReasonSubjectLength)
	}
	if calls := fake.took(); len(calls) != 0 || is.oidc != 0 {
		t.Errorf("STS called %v, %d tokens minted", calls, is.oidc)
	}
}

func TestNextStepDurationRefusedOIDC(t *testing.T) {
	err := broker.Errorf(broker.EEXPIRED, sts.ReasonDurationRefused, "shorter")
	id := broker.Identity{Provider: "kc", Protocol: broker.ProtocolOIDC, Subject: "bob"}
	withRefresh := NewOIDCSession(id, "tok", time.Now().Add(time.Hour), "refresh")
	if step := NextStep(withRefresh, err, Provider{OIDC: true}); step.Kind != StepRefresh {
		t.Errorf("with a refresh token: %+v, want StepRefresh", step)
	}
	without := NewOIDCSession(id, "tok", time.Now().Add(time.Hour), "")
	if step := NextStep(without, err, Provider{OIDC: true}); step.Kind != StepSignInAgain || !step.Silent {
		t.Errorf("without a refresh token: %+v, want a silent sign-in", step)
	}
}
