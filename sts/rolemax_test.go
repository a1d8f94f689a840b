package sts

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/broker-dev/broker"
)

// refusingAPI refuses any DurationSeconds above max, as AWS does, and
// records each call's duration and the credential it carried.
type refusingAPI struct {
	max       int32
	saml, web []call
}

type call struct {
	seconds    int32
	credential string
}

func (f *refusingAPI) answer(d *int32) error {
	if aws.ToInt32(d) > f.max {
		return apiErr("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return nil
}

func (f *refusingAPI) AssumeRoleWithSAML(_ context.Context, in *awssts.AssumeRoleWithSAMLInput, _ ...func(*awssts.Options)) (*awssts.AssumeRoleWithSAMLOutput, error) {
	f.saml = append(f.saml, call{aws.ToInt32(in.DurationSeconds), aws.ToString(in.SAMLAssertion)})
	if err := f.answer(in.DurationSeconds); err != nil {
		return nil, err
	}
	return &awssts.AssumeRoleWithSAMLOutput{Credentials: out()}, nil
}

func (f *refusingAPI) AssumeRoleWithWebIdentity(_ context.Context, in *awssts.AssumeRoleWithWebIdentityInput, _ ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
	f.web = append(f.web, call{aws.ToInt32(in.DurationSeconds), aws.ToString(in.WebIdentityToken)})
	if err := f.answer(in.DurationSeconds); err != nil {
		return nil, err
	}
	return &awssts.AssumeRoleWithWebIdentityOutput{Credentials: out()}, nil
}

// clock is a settable Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newRoleMaxClient(t *testing.T, f API, clk *clock) *Client {
	t.Helper()
	c, err := New(Config{Clients: map[string]API{"aws": f}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDurationRefusedSAML(t *testing.T) {
	t.Run("broker-issued: the retry carries a fresh assertion", func(t *testing.T) {
		f := &refusingAPI{max: 3600}
		clk := &clock{now}
		c := newRoleMaxClient(t, f, clk)
		minted := 0
		in := SAMLInput{RoleARN: role, PrincipalARN: prov, Assertion: "Zmlyc3Q=", Duration: 4 * time.Hour,
			Reissue: func(_ context.Context, d time.Duration) (string, error) {
				minted++
				if d != time.Hour {
					t.Errorf("reissued for %s, want 1h", d)
				}
				return fmt.Sprintf("ZnJlc2g%d", minted), nil
			}}
		res, err := c.AssumeRoleWithSAML(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		want := []call{{14400, "Zmlyc3Q="}, {3600, "ZnJlc2g1"}}
		if fmt.Sprint(f.saml) != fmt.Sprint(want) {
			t.Fatalf("calls %v, want %v", f.saml, want)
		}
		if res.Duration != time.Hour || len(res.Notices) != 1 || res.Notices[0].Code != "duration_clamped_role" {
			t.Errorf("result duration %s notices %+v", res.Duration, res.Notices)
		}
		// The next call for the role asks for 1 h at once, with its own assertion.
		f.saml = nil
		if _, err := c.AssumeRoleWithSAML(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if want := []call{{3600, "Zmlyc3Q="}}; fmt.Sprint(f.saml) != fmt.Sprint(want) || minted != 1 {
			t.Errorf("second sign-in: calls %v (want %v), %d minted", f.saml, want, minted)
		}
	})
	t.Run("pass-through: no second call with the same assertion; the next sign-in makes one call", func(t *testing.T) {
		f := &refusingAPI{max: 3600}
		clk := &clock{now}
		c := newRoleMaxClient(t, f, clk)
		in := SAMLInput{RoleARN: role, PrincipalARN: prov, Assertion: "dXBzdHJlYW0x", Duration: 4 * time.Hour}
		_, err := c.AssumeRoleWithSAML(context.Background(), in)
		if broker.ErrorCode(err) != broker.EEXPIRED || broker.ErrorReason(err) != ReasonDurationRefused {
			t.Fatalf("err %v, want EEXPIRED %s", err, ReasonDurationRefused)
		}
		if want := []call{{14400, "dXBzdHJlYW0x"}}; fmt.Sprint(f.saml) != fmt.Sprint(want) {
			t.Fatalf("calls %v, want %v", f.saml, want)
		}
		f.saml = nil
		in.Assertion = "dXBzdHJlYW0y" // the person signed in again
		res, err := c.AssumeRoleWithSAML(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if want := []call{{3600, "dXBzdHJlYW0y"}}; fmt.Sprint(f.saml) != fmt.Sprint(want) {
			t.Errorf("second sign-in: calls %v, want %v", f.saml, want)
		}
		if len(res.Notices) != 1 || res.Notices[0].Code != "duration_clamped_role" {
			t.Errorf("notices %+v", res.Notices)
		}
		// Other roles are not affected.
		f.saml = nil
		other := in
		other.RoleARN = "arn:aws:iam::111122223333:role/Other"
		if _, err := c.AssumeRoleWithSAML(context.Background(), other); broker.ErrorReason(err) != ReasonDurationRefused {
			t.Errorf("other role: %v", err)
		}
		// After the TTL the role is asked for the full duration again.
		clk.t = clk.t.Add(roleMaxTTL)
		f.saml = nil
		if _, err := c.AssumeRoleWithSAML(context.Background(), in); broker.ErrorReason(err) != ReasonDurationRefused {
			t.Errorf("after the TTL: %v", err)
		}
		if len(f.saml) != 1 || f.saml[0].seconds != 14400 {
			t.Errorf("after the TTL: calls %v, want one at 14400", f.saml)
		}
	})
}

func TestDurationRefusedWebIdentity(t *testing.T) {
	t.Run("broker-issued: the retry carries a fresh token", func(t *testing.T) {
		f := &refusingAPI{max: 3600}
		c := newRoleMaxClient(t, f, &clock{now})
		in := WebIdentityInput{RoleARN: role, RoleSessionName: "alice", Token: "eyJ.first.sig", Duration: 2 * time.Hour,
			Reissue: func(context.Context) (string, time.Time, error) {
				return "eyJ.second.sig", now.Add(5 * time.Minute), nil
			}}
		res, err := c.AssumeRoleWithWebIdentity(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if want := []call{{7200, "eyJ.first.sig"}, {3600, "eyJ.second.sig"}}; fmt.Sprint(f.web) != fmt.Sprint(want) {
			t.Fatalf("calls %v, want %v", f.web, want)
		}
		if res.Duration != time.Hour {
			t.Errorf("duration %s", res.Duration)
		}
	})
	t.Run("pass-through: one call, then the next sign-in one call at 1h", func(t *testing.T) {
		f := &refusingAPI{max: 3600}
		c := newRoleMaxClient(t, f, &clock{now})
		in := WebIdentityInput{RoleARN: role, RoleSessionName: "alice", Token: "eyJ.up1.sig", Duration: 2 * time.Hour}
		if _, err := c.AssumeRoleWithWebIdentity(context.Background(), in); broker.ErrorReason(err) != ReasonDurationRefused {
			t.Fatalf("err %v", err)
		}
		in.Token = "eyJ.up2.sig"
		if _, err := c.AssumeRoleWithWebIdentity(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if want := []call{{7200, "eyJ.up1.sig"}, {3600, "eyJ.up2.sig"}}; fmt.Sprint(f.web) != fmt.Sprint(want) {
			t.Errorf("calls %v, want %v", f.web, want)
		}
	})
}

func TestRoleMaxCacheBounded(t *testing.T) {
	var c roleMaxCache
	for i := range roleMaxEntries + 10 {
		c.put(fmt.Sprintf("arn:aws:iam::111122223333:role/R%d", i), time.Hour, now.Add(time.Duration(i)*time.Millisecond))
	}
	if n := c.len(); n != roleMaxEntries {
		t.Errorf("%d entries, want at most %d", n, roleMaxEntries)
	}
	if _, ok := c.get("arn:aws:iam::111122223333:role/R0", now); ok {
		t.Error("the oldest entry survived eviction")
	}
	last := fmt.Sprintf("arn:aws:iam::111122223333:role/R%d", roleMaxEntries+9)
	if _, ok := c.get(last, now); !ok {
		t.Error("the newest entry is missing")
	}
	if _, ok := c.get(last, now.Add(2*roleMaxTTL)); ok {
		t.Error("an entry outlived its TTL")
	}
}

func TestWebIdentityTokenAlgorithm(t *testing.T) {
	head := func(alg string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"`+alg+`","kid":"k"}`)) + ".e30.c2ln"
	}
	for _, tt := range []struct {
		alg string
		ok  bool
	}{{"RS256", true}, {"RS512", true}, {"ES256", true}, {"ES384", true}, {"PS256", false}, {"PS512", false}, {"HS256", false}, {"none", false}} {
		f := &fakeAPI{}
		_, err := newClient(t, f).AssumeRoleWithWebIdentity(context.Background(), WebIdentityInput{RoleARN: role, RoleSessionName: "alice", Token: head(tt.alg)})
		if tt.ok != (err == nil) {
			t.Errorf("%s: err %v", tt.alg, err)
		}
		if !tt.ok {
			if broker.ErrorReason(err) != ReasonTokenAlgorithm || !strings.Contains(broker.ErrorMessage(err), tt.alg) {
				t.Errorf("%s: %v, want %s naming the algorithm", tt.alg, err, ReasonTokenAlgorithm)
			}
			if len(f.wcall) != 0 {
				t.Errorf("%s: STS was called", tt.alg)
			}
		}
	}
}
