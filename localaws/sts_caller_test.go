package localaws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// callerClient is an STS client of the SDK signing with creds.
func (f *fixture) callerClient(creds aws.Credentials) *sts.Client {
	return sts.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient:  f.ts.Client(),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *sts.Options) { o.BaseEndpoint = aws.String(f.ts.URL) })
}

// liveCredentials assumes roleAdmin and moves the server's clock to the
// real time (the SDK signs with it); the credentials are still live.
func liveCredentials(t *testing.T, f *fixture) (*sts.AssumeRoleWithSAMLOutput, aws.Credentials) {
	t.Helper()
	out := f.mustAssume(t)
	f.clock.Advance(time.Since(f.clock.Now()))
	c := out.Credentials
	return out, aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
}

// TestGetCallerIdentity: credentials this server issued, signed with
// Signature Version 4 by the SDK, name their assumed role; a wrong secret,
// a wrong session token, an unknown key and an unsigned call are refused
// with AWS's codes.
func TestGetCallerIdentity(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	assumed, creds := liveCredentials(t, f)

	got, err := f.callerClient(creds).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(got.Arn) != aws.ToString(assumed.AssumedRoleUser.Arn) || aws.ToString(got.Account) != testAccount ||
		aws.ToString(got.UserId) != aws.ToString(assumed.AssumedRoleUser.AssumedRoleId) {
		t.Errorf("caller %s %s %s, want %s %s %s", aws.ToString(got.Arn), aws.ToString(got.Account), aws.ToString(got.UserId),
			aws.ToString(assumed.AssumedRoleUser.Arn), testAccount, aws.ToString(assumed.AssumedRoleUser.AssumedRoleId))
	}
	if !strings.Contains(aws.ToString(got.Arn), ":assumed-role/Admin/") {
		t.Errorf("Arn %s is not the assumed Admin role", aws.ToString(got.Arn))
	}

	for _, tc := range []struct {
		name   string
		edit   func(*aws.Credentials)
		code   string
		status int
	}{
		{"wrong secret", func(c *aws.Credentials) { c.SecretAccessKey = "x" + c.SecretAccessKey[1:] }, codeSignature, http.StatusForbidden},
		{"wrong session token", func(c *aws.Credentials) { c.SessionToken += "A" }, codeInvalidClientID, http.StatusForbidden},
		{"unknown key", func(c *aws.Credentials) { c.AccessKeyID = "ASIAAAAAAAAAAAAAAAAA" }, codeInvalidClientID, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := creds
			tc.edit(&c)
			_, err := f.callerClient(c).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			wantAPIError(t, err, tc.code, tc.status, "")
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		_, err := f.sts.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		wantAPIError(t, err, codeMissingAuth, http.StatusForbidden, "Request is missing Authentication Token")
	})
}

// TestGetCallerIdentitySignedRaw signs requests by hand at chosen times:
// a body changed after signing, a signature older than 15 minutes and
// expired credentials are refused.
func TestGetCallerIdentitySignedRaw(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	assumed, creds := liveCredentials(t, f)
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	call := func(t *testing.T, at time.Time, sent string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, f.ts.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Amz-Security-Token", creds.SessionToken)
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		req.Body, req.ContentLength = io.NopCloser(strings.NewReader(sent)), int64(len(sent))
		res, err := f.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	now := f.clock.Now()
	if status, out := call(t, now, body); status != http.StatusOK || !strings.Contains(out, "<Account>"+testAccount+"</Account>") {
		t.Fatalf("signed by hand: %d %s", status, out)
	}
	if status, out := call(t, now, body+"&X=1"); status != http.StatusForbidden || !strings.Contains(out, codeSignature) {
		t.Errorf("body changed after signing: %d %s", status, out)
	}
	if status, out := call(t, now.Add(-16*time.Minute), body); status != http.StatusForbidden || !strings.Contains(out, "Signature expired") {
		t.Errorf("signature 16 minutes old: %d %s", status, out)
	}
	f.clock.Advance(assumed.Credentials.Expiration.Sub(f.clock.Now()) + time.Minute)
	if status, out := call(t, f.clock.Now(), body); status != http.StatusBadRequest || !strings.Contains(out, codeExpiredCreds) {
		t.Errorf("expired credentials: %d %s", status, out)
	}
}
