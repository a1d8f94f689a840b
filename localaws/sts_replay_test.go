package localaws

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestAssumeRoleWithSAMLReplay(t *testing.T) {
	t.Parallel()
	t.Run("second use rejected", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b64 := f.build(t, f.spec())
		if _, err := f.assume(t, roleAdmin, testProvider, b64); err != nil {
			t.Fatalf("first use: %v", err)
		}
		_, err := f.assume(t, roleLong, testProvider, b64)
		wantAPIError(t, err, codeInvalidIdentity, 400, "already used")
	})
	refusals := []struct {
		name  string
		role  string
		input func(*sts.AssumeRoleWithSAMLInput)
		code  string
	}{
		{"DurationSeconds below 900", roleAdmin, func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(899) }, codeValidation},
		{"malformed session policy", roleAdmin, func(in *sts.AssumeRoleWithSAMLInput) { in.Policy = aws.String("{") }, codeMalformedPolicy},
		{"trust policy deny", roleDeny, func(*sts.AssumeRoleWithSAMLInput) {}, codeAccessDenied},
	}
	for _, r := range refusals {
		t.Run("not burned by "+r.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			b64 := f.build(t, f.spec())
			_, err := f.assume(t, r.role, testProvider, b64, r.input)
			wantAPIError(t, err, r.code, statusOf(r.code), "")
			if _, err := f.assume(t, roleAdmin, testProvider, b64); err != nil {
				t.Fatalf("the refused call burned the assertion: %v", err)
			}
		})
	}
	// AWS does not say whether a call refused for its duration consumes the
	// assertion; the stand-in says it does, so that a caller that retries
	// with the same assertion fails here rather than, perhaps, on AWS.
	t.Run("burned by DurationSeconds above the role maximum", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b64 := f.build(t, f.spec())
		_, err := f.assume(t, roleAdmin, testProvider, b64, func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(7200) })
		wantAPIError(t, err, codeValidation, 400, "MaxSessionDuration")
		_, err = f.assume(t, roleAdmin, testProvider, b64)
		wantAPIError(t, err, codeInvalidIdentity, 400, "already used")
		// A fresh assertion at the allowed duration is taken.
		if _, err := f.assume(t, roleAdmin, testProvider, f.build(t, f.spec())); err != nil {
			t.Fatalf("fresh assertion: %v", err)
		}
	})
	t.Run("an invalid assertion refused for its duration is not recorded", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		spec := f.spec()
		spec.Attrs[0].Values = []string{pairValue(roleLong, testProvider)} // names roleLong only
		b64 := f.build(t, spec)
		// Presented for a role it does not name: invalid for that call.
		_, err := f.assume(t, roleAdmin, testProvider, b64, func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(7200) })
		wantAPIError(t, err, codeValidation, 400, "MaxSessionDuration")
		if _, err := f.assume(t, roleLong, testProvider, b64); err != nil {
			t.Fatalf("an assertion that failed its own checks was recorded as used: %v", err)
		}
	})
	t.Run("concurrent uses: exactly one wins", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b64 := f.build(t, f.spec())
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Go(func() {
				if _, err := f.assume(t, roleAdmin, testProvider, b64); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d concurrent uses succeeded, want 1", wins)
		}
	})
	t.Run("entries expire with the assertion", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		old := f.build(t, f.spec())
		if _, err := f.assume(t, roleAdmin, testProvider, old); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(10 * time.Minute) // past NotOnOrAfter + skew and the sweep interval
		_, err := f.assume(t, roleAdmin, testProvider, old)
		wantAPIError(t, err, codeExpiredToken, 400, "has expired")
		if _, err := f.assume(t, roleAdmin, testProvider, f.build(t, f.spec())); err != nil {
			t.Fatal(err)
		}
		if n := f.srv.replay.len(); n != 1 {
			t.Errorf("replay cache holds %d entries, want only the live one", n)
		}
	})
}
