package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
)

// browse plays the browser: it opens the sign-in URL and follows the
// redirects to the loopback callback, returning the last page.
func browse(t *testing.T, u string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	res, err := (&http.Client{Jar: jar, Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		t.Errorf("browser: %v", err)
		return 0, ""
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

var printedURL = regexp.MustCompile(`https?://\S+/authorize\?\S+`)

// loginWith runs Login with a browser that does what open does to the
// URL, and returns when both are done.
func loginWith(t *testing.T, c *Client, open func(u string)) (*Account, error) {
	t.Helper()
	browsed := make(chan struct{})
	acct, err := c.Login(t.Context(), LoginOptions{Timeout: 10 * time.Second, OpenBrowser: func(u string) error {
		go func() {
			defer close(browsed)
			open(u)
		}()
		return nil
	}})
	select {
	case <-browsed:
	case <-time.After(10 * time.Second):
		t.Fatal("the browser never finished")
	}
	return acct, err
}

// TestLoginLoopback: code + PKCE S256 through a loopback redirect; the
// browser sees "you can close this tab"; the token file is 0600 in a
// 0700 directory; the URL becomes the default; the callback serves one
// request and the listener closes.
func TestLoginLoopback(t *testing.T) {
	f := newFakeBroker(t)
	dir := filepath.Join(t.TempDir(), "broker")
	c := f.client(t, dir)
	var page string
	var callback string
	acct, err := loginWith(t, c, func(u string) {
		_, page = browse(t, u)
		callback = strings.Split(u, "redirect_uri=")[1]
	})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Subject != "demo:alice" || acct.Email != "alice@example.com" {
		t.Errorf("account %+v", acct)
	}
	if !strings.Contains(page, "You can close this tab") || !strings.Contains(page, "Signed in") {
		t.Errorf("browser page: %s", page)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700}, {filepath.Join(dir, "tokens"), 0o700}, {c.tokenPath(), 0o600}, {filepath.Join(dir, "config.json"), 0o600}} {
		st, err := os.Stat(p.path)
		if err != nil || st.Mode().Perm() != p.mode {
			t.Errorf("%s: %v %v, want %v", p.path, st, err, p.mode)
		}
	}
	if got := ResolveURL("", dir); got != f.srv.URL {
		t.Errorf("saved URL %q", got)
	}
	tf, _ := c.loadTokens()
	if tf == nil || tf.RefreshToken == "" || tf.Subject != "demo:alice" || tf.RevocationURL != f.srv.URL+"/revoke" {
		t.Errorf("token file %+v", tf)
	}
	// The listener is gone.
	cb, _ := urlUnescape(callback)
	if _, err := http.Get(cb + "?code=x&state=y"); err == nil {
		t.Error("the loopback listener still answers after the sign-in")
	}
}

func urlUnescape(s string) (string, error) {
	s, _, _ = strings.Cut(s, "&")
	return strings.NewReplacer("%3A", ":", "%2F", "/").Replace(s), nil
}

// TestLoginStateMismatch: a callback whose state is not ours is refused
// and nothing is saved.
func TestLoginStateMismatch(t *testing.T) {
	f := newFakeBroker(t)
	c := f.client(t, t.TempDir())
	var status int
	var page string
	_, err := loginWith(t, c, func(u string) {
		status, page = browse(t, strings.Replace(u, "state=", "state=forged", 1))
	})
	if broker.ErrorReason(err) != ReasonStateMismatch {
		t.Fatalf("err %v, want %s", err, ReasonStateMismatch)
	}
	if status != http.StatusBadRequest || !strings.Contains(page, "state mismatch") || !strings.Contains(page, "You can close this tab") {
		t.Errorf("browser: %d %s", status, page)
	}
	if tf, _ := c.loadTokens(); tf != nil {
		t.Error("tokens saved after a state mismatch")
	}
}

// TestLoginNonceMismatch: an ID token without our nonce is refused.
func TestLoginNonceMismatch(t *testing.T) {
	f := newFakeBroker(t)
	other := "someone-else"
	f.idNonce = &other
	c := f.client(t, t.TempDir())
	_, err := loginWith(t, c, func(u string) { browse(t, u) })
	if broker.ErrorReason(err) != ReasonIDTokenInvalid {
		t.Fatalf("err %v, want %s", err, ReasonIDTokenInvalid)
	}
	if tf, _ := c.loadTokens(); tf != nil {
		t.Error("tokens saved with a bad ID token")
	}
}

// TestLoginNoBrowserAndTimeout: --no-browser prints the URL; nobody
// completes the sign-in, and Login ends with a timeout, not a hang; an
// interrupt (ctx) ends it too.
func TestLoginNoBrowserAndTimeout(t *testing.T) {
	f := newFakeBroker(t)
	c := f.client(t, t.TempDir())
	var out bytes.Buffer
	_, err := c.Login(t.Context(), LoginOptions{NoBrowser: true, Out: &out, Timeout: 300 * time.Millisecond,
		OpenBrowser: func(string) error { t.Error("a browser was opened with --no-browser"); return nil }})
	if broker.ErrorReason(err) != ReasonLoginTimeout {
		t.Errorf("err %v, want %s", err, ReasonLoginTimeout)
	}
	if !printedURL.MatchString(out.String()) || !strings.Contains(out.String(), "code_challenge_method=S256") {
		t.Errorf("printed: %s", out.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := c.Login(ctx, LoginOptions{NoBrowser: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted: %v", err)
	}
}

// TestLoginDevice: the device grant prints the verification URI and the
// user code, then polls for the tokens.
func TestLoginDevice(t *testing.T) {
	f := newFakeBroker(t)
	c := f.client(t, t.TempDir())
	var out bytes.Buffer
	acct, err := c.Login(t.Context(), LoginOptions{Device: true, Out: &out, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Subject != "demo:alice" || !strings.Contains(out.String(), f.srv.URL+"/device") || !strings.Contains(out.String(), "ABCD-EFGH") {
		t.Errorf("account %+v, printed %s", acct, out.String())
	}
}

func TestNeedsDevice(t *testing.T) {
	for _, tc := range []struct {
		goos string
		env  map[string]string
		want bool
	}{
		{"linux", map[string]string{"SSH_CONNECTION": "1 2 3 4"}, true},
		{"linux", map[string]string{"SSH_TTY": "/dev/pts/1"}, true},
		{"linux", map[string]string{"SSH_CONNECTION": "1 2 3 4", "DISPLAY": "localhost:10.0"}, false},
		{"linux", map[string]string{"SSH_TTY": "/dev/pts/1", "WAYLAND_DISPLAY": "wayland-0"}, false},
		{"linux", map[string]string{}, false},
		{"darwin", map[string]string{"SSH_CONNECTION": "1 2 3 4"}, false},
	} {
		if got := NeedsDevice(tc.goos, func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%s %v: %v, want %v", tc.goos, tc.env, got, tc.want)
		}
	}
}
