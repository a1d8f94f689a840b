package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func cacheFiles(t *testing.T, c *Client) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(c.cacheDir(), "*.json"))
	return m
}

// TestCredentialsCache: the first call fetches and writes a 0600 entry;
// the next is served from it; once the credentials are within 5 minutes
// of expiry they are fetched again; another duration or role is another
// entry.
func TestCredentialsCache(t *testing.T) {
	f := newFakeBroker(t)
	c := f.signIn(t, t.TempDir(), time.Hour)
	now := time.Now()
	c.now = func() time.Time { return now }
	ref := RoleRef{Account: "sandbox", Role: "Developer"}
	first, err := c.Credentials(t.Context(), CredentialsRequest{Role: ref})
	if err != nil {
		t.Fatal(err)
	}
	files := cacheFiles(t, c)
	if len(files) != 1 {
		t.Fatalf("cache entries %v", files)
	}
	for _, p := range []string{files[0], c.cacheDir(), filepath.Dir(c.cacheDir())} {
		st, err := os.Stat(p)
		want := os.FileMode(0o600)
		if st != nil && st.IsDir() {
			want = 0o700
		}
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, st.Mode().Perm(), err, want)
		}
	}
	second, err := c.Credentials(t.Context(), CredentialsRequest{Role: ref})
	if err != nil || second.AccessKeyID != first.AccessKeyID || f.credCalls.Load() != 1 {
		t.Fatalf("second call: %v, %d fetches", err, f.credCalls.Load())
	}
	// 54 minutes later: 6 minutes left, still served.
	now = now.Add(54 * time.Minute)
	if _, err := c.Credentials(t.Context(), CredentialsRequest{Role: ref}); err != nil || f.credCalls.Load() != 1 {
		t.Fatalf("6 minutes before expiry: %v, %d fetches", err, f.credCalls.Load())
	}
	// 56 minutes: within the margin, fetched again.
	now = now.Add(2 * time.Minute)
	third, err := c.Credentials(t.Context(), CredentialsRequest{Role: ref})
	if err != nil || f.credCalls.Load() != 2 || third.AccessKeyID == first.AccessKeyID {
		t.Fatalf("within the margin: %v, %d fetches", err, f.credCalls.Load())
	}
	if _, err := c.Credentials(t.Context(), CredentialsRequest{Role: ref, Duration: 30 * time.Minute}); err != nil || f.credCalls.Load() != 3 {
		t.Fatalf("another duration: %v, %d fetches", err, f.credCalls.Load())
	}
	if body, _ := f.lastCredBody.Load().(string); !strings.Contains(body, `"duration":"30m0s"`) || !strings.Contains(body, `"account":"sandbox"`) {
		t.Errorf("request body %s", body)
	}
	if len(cacheFiles(t, c)) != 2 {
		t.Errorf("cache entries %v, want one per duration", cacheFiles(t, c))
	}
	// Another person signed in on the same broker does not get them.
	f.sub = "demo:bob"
	other := f.signIn(t, c.dir, time.Hour)
	other.now = c.now
	if _, err := other.Credentials(t.Context(), CredentialsRequest{Role: ref}); err != nil || f.credCalls.Load() != 4 {
		t.Fatalf("another person: %v, %d fetches", err, f.credCalls.Load())
	}
}

// TestCredentialsOneFetchConcurrent: callers at once (goroutines) make
// one request to the broker between them.
func TestCredentialsOneFetchConcurrent(t *testing.T) {
	f := newFakeBroker(t)
	f.credDelay = 200 * time.Millisecond
	dir := t.TempDir()
	f.signIn(t, dir, time.Hour)
	var wg sync.WaitGroup
	keys := make([]string, 8)
	errs := make([]error, 8)
	for i := range keys {
		wg.Go(func() {
			c := f.client(t, dir) // one client each, like separate processes
			cr, err := c.Credentials(t.Context(), CredentialsRequest{Role: RoleRef{Account: "sandbox", Role: "Developer"}})
			errs[i] = err
			if err == nil {
				keys[i] = cr.AccessKeyID
			}
		})
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || keys[i] != keys[0] {
			t.Errorf("caller %d: %q %v (caller 0 got %q)", i, keys[i], errs[i], keys[0])
		}
	}
	if n := f.credCalls.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

// TestCredentialsOneFetchAcrossProcesses: several processes (this test
// binary run again) ask at once; the broker sees one request.
func TestCredentialsOneFetchAcrossProcesses(t *testing.T) {
	f := newFakeBroker(t)
	f.credDelay = 300 * time.Millisecond
	dir := t.TempDir()
	f.signIn(t, dir, time.Hour)
	const n = 5
	cmds := make([]*exec.Cmd, n)
	outs := make([]*strings.Builder, n)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCredentialsProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CLI_HELPER_PROCESS=1", "CLI_HELPER_URL="+f.srv.URL, "CLI_HELPER_DIR="+dir)
		outs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	var keys []string
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i])
		}
		_, key, ok := strings.Cut(outs[i].String(), "KEY=")
		if !ok {
			t.Fatalf("process %d printed no key:\n%s", i, outs[i])
		}
		keys = append(keys, strings.Fields(key)[0])
	}
	for i := range keys {
		if keys[i] != keys[0] {
			t.Errorf("process %d got %s, process 0 %s", i, keys[i], keys[0])
		}
	}
	if got := f.credCalls.Load(); got != 1 {
		t.Errorf("%d fetches from %d processes, want 1", got, n)
	}
}

// TestHelperCredentialsProcess is one process of the test above.
func TestHelperCredentialsProcess(t *testing.T) {
	if os.Getenv("CLI_HELPER_PROCESS") != "1" {
		t.Skip("run by TestCredentialsOneFetchAcrossProcesses")
	}
	c, err := New(Config{URL: os.Getenv("CLI_HELPER_URL"), Dir: os.Getenv("CLI_HELPER_DIR")})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := c.Credentials(t.Context(), CredentialsRequest{Role: RoleRef{Account: "sandbox", Role: "Developer"}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("KEY=%s\n", cr.AccessKeyID)
}

func TestProcessJSON(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	got := string((&Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOKEN", Expiration: exp, RoleARN: "arn"}).ProcessJSON())
	want := `{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"SECRET","SessionToken":"TOKEN","Expiration":"2030-01-02T02:04:05Z"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
