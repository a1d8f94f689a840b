//go:build linux

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/web"
)

// The real disk fills up under `broker serve` with its SQLite store on a
// small tmpfs: sign-ins and role grants answer 503 with Retry-After and
// the "temporarily unavailable" page (never 500, never a console URL
// without its audit row), /readyz answers 503, the process lives on; with
// space freed everything works again without a restart; afterwards the
// database passes integrity_check and holds exactly one audit row per
// sign-in accepted and per console URL handed out.
//
// It needs root and mount(8) (tmpfs); otherwise it skips, or fails where
// BROKER_REQUIRE_MOUNT=1 (.ci/run).
func TestSQLiteFullDiskServe(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	st := startStackWith(t, devstack.Options{NoRateLimits: true})
	bin := buildBrokerBinary(t)
	base, stop := serveOnDir(t, bin, st, dir)

	var (
		signins, consoles int // accepted sign-ins, console URLs handed out
		seen503           = map[string]bool{}
	)
	// signIn signs a person in with a fresh IdP Response; nil when it was
	// refused with a proper 503, the test fails on anything else.
	type portal struct {
		c            *http.Client
		grant, token string
	}
	signIn := func() *portal {
		t.Helper()
		c := jarClient(t)
		resp, err := st.IdP.IssueResponse(devidp.IssueOptions{SPEntityID: st.BrokerURL + "/saml/demo/metadata", Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		a := send(c, base+"/saml/demo/acs", url.Values{"SAMLResponse": {resp}})
		// An unsolicited Response: 303 to /arrive, which binds the session, then the portal.
		for i := 0; i < 3 && (a.Status == http.StatusSeeOther || a.Status == http.StatusFound) && strings.HasPrefix(a.Header.Get("Location"), "/"); i++ {
			a = send(c, base+a.Header.Get("Location"), nil)
		}
		if a.Status == http.StatusServiceUnavailable {
			check503Page(t, "a sign-in", a)
			seen503["signin"] = true
			return nil
		}
		g, tok := grantRe.FindStringSubmatch(a.Body), csrfTokenRe.FindStringSubmatch(a.Body)
		if a.Err != nil || a.Status != http.StatusOK || g == nil || tok == nil {
			t.Fatalf("a sign-in: %d %v, want the portal or 503\n%s", a.Status, a.Err, clip(a.Body))
		}
		signins++
		return &portal{c: c, grant: htmlUnescape(g[1]), token: tok[1]}
	}
	// openRole asks for a console URL for a signed-in person: a console
	// URL or a proper 503, the test fails on anything else.
	openRole := func(p *portal) {
		t.Helper()
		a := send(p.c, base+"/console", url.Values{"grant": {p.grant}, "csrf_token": {p.token}})
		switch {
		case a.Status == http.StatusServiceUnavailable:
			check503Page(t, "a role grant", a)
			seen503["console"] = true
		case a.Status == http.StatusFound && strings.Contains(a.Header.Get("Location"), "SigninToken="):
			consoles++
		default:
			t.Fatalf("a role grant: %d %v (Location %q), want a console URL or 503\n%s", a.Status, a.Err, a.Header.Get("Location"), clip(a.Body))
		}
	}
	attempt := func() {
		t.Helper()
		if p := signIn(); p != nil {
			openRole(p)
		}
	}
	for range 3 {
		attempt()
	}
	if signins != 3 || consoles != 3 {
		t.Fatalf("before the disk filled: %d sign-ins, %d consoles, want 3 each", signins, consoles)
	}
	// Someone signed in before the disk fills opens roles while it is full.
	held := signIn()

	// Fill the disk but for a few pages: traffic alone would take long.
	filler := filepath.Join(dir, "filler")
	fillDisk(t, dir, filler, 16<<10)
	deadline := time.Now().Add(2 * time.Minute)
	for n := 0; !(seen503["signin"] && seen503["console"]); n++ {
		if time.Now().After(deadline) || n > 400 {
			t.Fatalf("after %d attempts on a full disk, 503 seen for %v only (sign-ins %d, consoles %d)", n, seen503, signins, consoles)
		}
		attempt()
		openRole(held)
	}
	if a := send(http.DefaultClient, base+"/readyz", nil); a.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a full disk: %d %s, want 503", a.Status, a.Body)
	}
	if stop.exited() {
		t.Fatalf("broker serve exited on a full disk:\n%s", stop.logs())
	}

	// Space again: it recovers without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitReady(t, base, 30*time.Second)
	before := consoles
	attempt()
	if consoles != before+1 {
		t.Fatalf("after space was freed no console URL was handed out:\n%s", stop.logs())
	}
	logs := stop.stop(t)
	if strings.Contains(logs, "panic") || strings.Contains(logs, `"status":500`) {
		t.Errorf("the broker's log shows a panic or a 500:\n%s", logs)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "broker.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	count := func(event string) int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM audit WHERE event = ? AND result = 'success'`, event).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count("console_url_issued"); got != consoles {
		t.Errorf("%d console_url_issued audit rows, %d console URLs handed out", got, consoles)
	}
	if got := count("signin"); got != signins {
		t.Errorf("%d signin audit rows, %d sign-ins accepted", got, signins)
	}
	t.Logf("%d sign-ins and %d console URLs handed out, each audited; 503 for sign-ins and role grants on the full disk", signins, consoles)
}

var (
	grantRe     = regexp.MustCompile(`name="grant" value="([^"]+)"`)
	csrfTokenRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
)

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&amp;", "&", "&#34;", `"`, "&#39;", "'").Replace(s)
}

func jarClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func check503Page(t *testing.T, what string, a answer) {
	t.Helper()
	if a.Header.Get("Retry-After") != web.RetryAfterUnavailable || !strings.Contains(a.Body, "Temporarily unavailable") {
		t.Fatalf("%s on a full disk: 503 with Retry-After %q, want %q and the temporarily unavailable page:\n%s",
			what, a.Header.Get("Retry-After"), web.RetryAfterUnavailable, clip(a.Body))
	}
}

// mountTmpfs mounts a tmpfs of size on a fresh directory, unmounted at
// cleanup; it skips without root or mount, unless BROKER_REQUIRE_MOUNT=1.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("BROKER_REQUIRE_MOUNT") == "1" {
			t.Fatalf("BROKER_REQUIRE_MOUNT=1: "+format, args...)
		}
		t.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		skip("mounting a tmpfs needs root (euid %d)", os.Geteuid())
	}
	dir, err := os.MkdirTemp("", "broker-fulldisk-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		skip("mount -t tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			return
		}
		os.Remove(dir)
	})
	return dir
}

// fillDisk writes filler until the file system of dir has about leave
// bytes free.
func fillDisk(t *testing.T, dir, filler string, leave int64) {
	t.Helper()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	free := int64(fs.Bavail) * fs.Bsize
	if free <= leave {
		return
	}
	if err := os.WriteFile(filler, bytes.Repeat([]byte{'x'}, int(free-leave)), 0o600); err != nil {
		t.Fatalf("filler: %v", err)
	}
}

func buildBrokerBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "broker")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/broker-dev/broker/cmd/broker").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is broker serve running, its output kept.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	once sync.Once
	log  string
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}
func (p *process) logs() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits (killing it after 30 s); returns its output.
func (p *process) stop(t *testing.T) string {
	t.Helper()
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Error("broker serve did not stop within 30s of SIGTERM")
		}
		p.log = p.logs()
	})
	return p.log
}

// serveOnDir runs `broker serve` with the stack's config (its IdP, AWS,
// keys, rules and external URL) but its SQLite store in dir and its own
// free port; the browser's URL is http://localhost:PORT.
func serveOnDir(t *testing.T, bin string, st *devstack.Stack, dir string) (string, *process) {
	t.Helper()
	cfg, err := os.ReadFile(st.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // broker serve binds it next
	text := regexp.MustCompile(`(?m)^  listen: .*$`).ReplaceAllString(string(cfg), fmt.Sprintf("  listen: %q", addr))
	text = strings.Replace(text, "  dsn: broker.db\n", fmt.Sprintf("  dsn: %q\n", filepath.Join(dir, "broker.db")), 1)
	if !strings.Contains(text, dir) || !strings.Contains(text, addr) {
		t.Fatalf("could not point the config at %s and %s:\n%s", dir, addr, text)
	}
	path := filepath.Join(filepath.Dir(st.ConfigPath), "broker-fulldisk.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &process{done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", path)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	_, port, _ := net.SplitHostPort(addr)
	base := "http://localhost:" + port
	waitReady(t, base, 30*time.Second)
	return base, p
}

func waitReady(t *testing.T, base string, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		if a := send(http.DefaultClient, base+"/readyz", nil); a.Status == http.StatusOK {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s/readyz not 200 within %s", base, limit)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
