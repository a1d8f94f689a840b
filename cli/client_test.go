package cli

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/broker-dev/broker"
)

// TestRefresh: an access token near expiry is refreshed before use; the
// rotated refresh token is saved; concurrent callers refresh once (a
// second use of the old refresh token would be refused); a refused
// refresh says the sign-in ended and to run broker login.
func TestRefresh(t *testing.T) {
	f := newFakeBroker(t)
	dir := t.TempDir()
	c := f.signIn(t, dir, 30*time.Second) // inside the one-minute margin
	before, _ := c.loadTokens()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = f.client(t, dir).Roles(t.Context())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if n := f.refreshCalls.Load(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	after, _ := c.loadTokens()
	if after.RefreshToken == before.RefreshToken || after.AccessToken == before.AccessToken || !after.Expiry.After(before.Expiry) {
		t.Errorf("rotated tokens not saved: %+v", after)
	}
	if st, err := os.Stat(c.tokenPath()); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token file after refresh: %v %v", st, err)
	}

	// The broker ends the sign-in (refresh token revoked).
	f.mu.Lock()
	delete(f.refresh, after.RefreshToken)
	delete(f.access, after.AccessToken) // the access token is refused: 401, then refresh
	f.mu.Unlock()
	_, err := c.Roles(t.Context())
	if broker.ErrorReason(err) != ReasonSignInEnded || !strings.Contains(Describe(err), "sign-in ended; run `broker login --url "+f.srv.URL+"`") {
		t.Errorf("ended sign-in: %v / %q", err, Describe(err))
	}
}

// TestErrorMessages: what a person reads for each failure.
func TestErrorMessages(t *testing.T) {
	f := newFakeBroker(t)
	ref := RoleRef{Account: "production", Role: "Billing"}

	// Not signed in.
	_, err := f.client(t, t.TempDir()).Credentials(t.Context(), CredentialsRequest{Role: ref})
	if broker.ErrorReason(err) != ReasonNotSignedIn || !strings.Contains(Describe(err), "run `broker login --url "+f.srv.URL+"`") {
		t.Errorf("not signed in: %q", Describe(err))
	}

	c := f.signIn(t, t.TempDir(), time.Hour)
	for _, tc := range []struct {
		status       int
		body, reason string
		says         string
	}{
		{403, `{"error":"forbidden","reason":"role_not_granted","message":"The rules do not give you production/Billing.","request_id":"r1"}`,
			"role_not_granted", "The rules do not give you production/Billing. (request id r1)"},
		{403, `{"error":"forbidden","reason":"mfa_required","message":"This role needs a sign-in with MFA: sign in with MFA, then run broker login."}`,
			"mfa_required", "This role needs a sign-in with MFA"},
		{403, `{"error":{"code":"forbidden","reason":"access_token_scope","message":"No aws:credentials."}}`,
			"access_token_scope", "No aws:credentials."},
		{502, `<html>bad gateway</html>`, "http_502", "answered 502 Bad Gateway"},
	} {
		f.credStatus, f.credBody = tc.status, tc.body
		_, err := c.Credentials(t.Context(), CredentialsRequest{Role: ref, NoCache: true})
		if broker.ErrorReason(err) != tc.reason || !strings.Contains(Describe(err), tc.says) {
			t.Errorf("%d %s: reason %q, says %q", tc.status, tc.body, broker.ErrorReason(err), Describe(err))
		}
	}
	if _, err := ParseRoleRef("Developer", ""); broker.ErrorReason(err) != ReasonRoleInvalid || !strings.Contains(Describe(err), "ACCOUNT/ROLE") {
		t.Errorf("bad --role: %v", err)
	}
	if _, err := New(Config{URL: "ftp://x"}); broker.ErrorReason(err) != ReasonURLInvalid {
		t.Errorf("bad URL: %v", err)
	}
	if _, err := New(Config{}); broker.ErrorReason(err) != ReasonNoURL || !strings.Contains(Describe(err), "--url") {
		t.Errorf("no URL: %v", err)
	}
	// The broker is down.
	f.srv.Close()
	c2 := f.client(t, c.dir)
	if _, err := c2.Roles(t.Context()); broker.ErrorReason(err) != ReasonUnreachable || !strings.Contains(Describe(err), "Cannot reach the broker at "+f.srv.URL) {
		t.Errorf("broker down: %v", err)
	}
}

func TestParseRoleRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RoleRef
	}{
		{"sandbox/Developer", RoleRef{Account: "sandbox", Role: "Developer"}},
		{"111122223333/team/Dev", RoleRef{Account: "111122223333", Role: "team/Dev"}},
		{"arn:aws:iam::1:role/X", RoleRef{Role: "arn:aws:iam::1:role/X"}},
	} {
		if got, err := ParseRoleRef(tc.in, ""); err != nil || got != tc.want {
			t.Errorf("%s: %+v %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{"", "sandbox", "/Dev", "sandbox/", "sandbox/Dev/"} {
		if _, err := ParseRoleRef(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	role := Role{Account: "111122223333", AccountAlias: "sandbox", Role: "Developer", RoleARN: "arn:aws:iam::111122223333:role/Developer", Via: "saml"}
	for ref, want := range map[RoleRef]bool{
		{Account: "Sandbox", Role: "Developer"}:                      true,
		{Account: "111122223333", Role: "Developer"}:                 true,
		{Role: "arn:aws:iam::111122223333:role/Developer"}:           true,
		{Account: "sandbox", Role: "Developer", Via: "web-identity"}: false,
		{Account: "production", Role: "Developer"}:                   false,
		{Account: "sandbox", Role: "Dev"}:                            false,
	} {
		if ref.Matches(role) != want {
			t.Errorf("%+v matches: %v", ref, !want)
		}
	}
}

// TestLogout: the refresh token is revoked at the broker, the token file
// and cache deleted; credentials then say run broker login. With the
// broker down, the local sign-in still ends and the result says so.
func TestLogout(t *testing.T) {
	f := newFakeBroker(t)
	c := f.signIn(t, t.TempDir(), time.Hour)
	tf, _ := c.loadTokens()
	ref := RoleRef{Account: "sandbox", Role: "Developer"}
	if _, err := c.Credentials(t.Context(), CredentialsRequest{Role: ref}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Logout(t.Context())
	if err != nil || !res.SignedIn || !res.Revoked {
		t.Fatalf("logout: %+v %v", res, err)
	}
	f.mu.Lock()
	revoked := append([]string(nil), f.revoked...)
	f.mu.Unlock()
	if len(revoked) != 1 || revoked[0] != tf.RefreshToken {
		t.Errorf("revoked %v, want the refresh token", revoked)
	}
	if _, err := os.Stat(c.tokenPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token file still there: %v", err)
	}
	if _, err := os.Stat(c.cacheDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cache still there: %v", err)
	}
	if _, err := c.Credentials(t.Context(), CredentialsRequest{Role: ref}); broker.ErrorReason(err) != ReasonNotSignedIn {
		t.Errorf("credentials after logout: %v", err)
	}

	c = f.signIn(t, c.dir, time.Hour)
	f.srv.Close()
	res, err = c.Logout(t.Context())
	if err != nil || !res.SignedIn || res.Revoked || res.RevokeError == nil {
		t.Errorf("logout with the broker down: %+v %v", res, err)
	}
	if tf, _ := c.loadTokens(); tf != nil {
		t.Error("tokens kept when the broker is down")
	}
}

func TestExecEnv(t *testing.T) {
	cr := &Credentials{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "ST", Expiration: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	env := ExecEnv([]string{"PATH=/bin", "AWS_PROFILE=x", "AWS_DEFAULT_PROFILE=y", "AWS_ACCESS_KEY_ID=old", "AWS_REGION=us-east-1", "HOME=/h"}, cr, "eu-west-1")
	want := "PATH=/bin HOME=/h AWS_ACCESS_KEY_ID=AK AWS_SECRET_ACCESS_KEY=SK AWS_SESSION_TOKEN=ST AWS_CREDENTIAL_EXPIRATION=2030-01-01T00:00:00Z AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1"
	if got := strings.Join(env, " "); got != want {
		t.Errorf("env\n got %s\nwant %s", got, want)
	}
	// No region of the role: the person's own region stays.
	if got := strings.Join(ExecEnv([]string{"AWS_REGION=us-east-1"}, cr, ""), " "); !strings.HasPrefix(got, "AWS_REGION=us-east-1 ") {
		t.Errorf("env without a role region: %s", got)
	}
}

// TestExec: the command's exit code comes back; SIGTERM sent to this
// process reaches the command; a missing command is a clear error.
func TestExec(t *testing.T) {
	code, err := Exec([]string{"sh", "-c", "echo $AWS_ACCESS_KEY_ID; exit 3"}, []string{"AWS_ACCESS_KEY_ID=AK"}, nil, io.Discard, io.Discard)
	if err != nil || code != 3 {
		t.Errorf("exit code %d %v, want 3", code, err)
	}
	if _, err := Exec([]string{"no-such-command-here"}, nil, nil, io.Discard, io.Discard); broker.ErrorReason(err) != ReasonCommandFailed {
		t.Errorf("missing command: %v", err)
	}

	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code, _ := Exec([]string{"sh", "-c", `trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done`}, os.Environ(), nil, pw, io.Discard)
		pw.Close()
		done <- code
	}()
	line, _ := bufio.NewReader(pr).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("child said %q", line)
	}
	go io.Copy(io.Discard, pr)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 7 {
			t.Errorf("exit code %d after SIGTERM, want the trap's 7", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM was not forwarded")
	}
}
