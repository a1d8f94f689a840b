package localaws

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// The server keeps nothing per credential it issued nor per sign-in token
// nobody used (a soak issues thousands an hour, each valid for an hour):
// only the assertion ids of the replay rule and the ids of used sign-in
// tokens, each until it expires, and those are swept.
func TestIssuedThingsAreNotKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 50
	for range n {
		creds := f.mustAssume(t).Credentials
		f.signinToken(t, creds, nil)
	}
	if got := f.srv.usedTokens.len(); got != 0 {
		t.Errorf("%d used sign-in tokens kept, none was used", got)
	}
	if got := f.srv.consoles.len(); got != 0 {
		t.Errorf("%d console sessions kept, nobody signed in", got)
	}
	if got := f.srv.replay.len(); got != n {
		t.Errorf("%d assertion ids kept for the replay rule, want %d", got, n)
	}
	// Past every assertion's expiry, the next one sweeps the others out.
	f.clock.Advance(2 * time.Hour)
	f.mustAssume(t)
	if got := f.srv.replay.len(); got != 1 {
		t.Errorf("%d assertion ids kept two hours on, want only the new one", got)
	}
	// A used sign-in token's id is kept until the token expires, then swept.
	tok := f.signinToken(t, f.mustAssume(t).Credentials, nil)
	if resp, body := f.federation(t, http.MethodGet, loginParams(tok, "https://console.aws.amazon.com/", "")); resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	if got := f.srv.usedTokens.len(); got != 1 {
		t.Fatalf("%d used sign-in tokens kept after one login, want 1", got)
	}
	f.clock.Advance(signinTokenLifetime + sweepInterval)
	tok = f.signinToken(t, f.mustAssume(t).Credentials, nil)
	if resp, body := f.federation(t, http.MethodGet, loginParams(tok, "https://console.aws.amazon.com/", "")); resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	if got := f.srv.usedTokens.len(); got != 1 {
		t.Errorf("%d used sign-in tokens kept, want only the fresh one (the expired one swept)", got)
	}
}

// Without a record of them, what AWS refuses is still refused, by the time
// sealed in the token: credentials expired long ago (past what the server
// used to remember) are "expired", not accepted and not "unknown"; a
// sign-in token past its 15 minutes, a used one, an altered one and one of
// another server are refused; credentials whose token was altered or
// swapped for another's are unknown.
func TestRefusedByTimeWithoutRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	creds := f.mustAssume(t, func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(900) }).Credentials
	other := f.mustAssume(t).Credentials

	getToken := func(c *types.Credentials) (int, string) {
		resp, body := f.federation(t, http.MethodGet, url.Values{"Action": {"getSigninToken"}, "Session": {sessionJSON(c)}})
		return resp.StatusCode, body
	}
	if status, body := getToken(creds); status != http.StatusOK {
		t.Fatalf("live credentials: %d %s", status, body)
	}
	for name, c := range map[string]*types.Credentials{
		"token altered":        withToken(creds, flip(aws.ToString(creds.SessionToken))),
		"another's token":      withToken(creds, aws.ToString(other.SessionToken)),
		"secret of another":    {AccessKeyId: creds.AccessKeyId, SecretAccessKey: other.SecretAccessKey, SessionToken: creds.SessionToken},
		"token of random text": withToken(creds, strings.Repeat("QUJD", 120)),
	} {
		if status, body := getToken(c); status != http.StatusBadRequest || !strings.Contains(body, "not valid") {
			t.Errorf("%s: %d %s, want 400 session_invalid", name, status, body)
		}
	}

	tok := f.signinToken(t, creds, nil)
	used := f.signinToken(t, creds, nil)
	dest := "https://console.aws.amazon.com/"
	if resp, body := f.federation(t, http.MethodGet, loginParams(used, dest, "")); resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	for name, token := range map[string]string{"used": used, "altered": flip(tok), "another server's": otherServerToken(t)} {
		if resp, body := f.federation(t, http.MethodGet, loginParams(token, dest, "")); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
			t.Errorf("sign-in token %s: %d, want 400 token_expired_or_used:\n%s", name, resp.StatusCode, body)
		}
	}
	f.clock.Advance(signinTokenLifetime)
	if resp, body := f.federation(t, http.MethodGet, loginParams(tok, dest, "")); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
		t.Errorf("sign-in token at 15 minutes: %d, want 400 token_expired_or_used:\n%s", resp.StatusCode, body)
	}

	f.clock.Advance(24 * time.Hour)
	if status, body := getToken(creds); status != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("credentials expired a day ago: %d %s, want 400 session_expired", status, body)
	}
}

func withToken(c *types.Credentials, token string) *types.Credentials {
	return &types.Credentials{AccessKeyId: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, SessionToken: aws.String(token)}
}

// flip changes one character in the middle of a base64 token.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// otherServerToken is a sign-in token sealed by another server's key, in
// the right shape.
func otherServerToken(t *testing.T) string {
	t.Helper()
	g := newFixture(t)
	tok := g.signinToken(t, g.mustAssume(t).Credentials, nil)
	var probe sealedSignin
	if !g.srv.sealer.open(purposeSigninToken, tok, &probe) {
		t.Fatal("a server cannot open its own sign-in token")
	}
	if b, _ := json.Marshal(probe); len(b) == 0 {
		t.Fatal("empty token")
	}
	return tok
}
