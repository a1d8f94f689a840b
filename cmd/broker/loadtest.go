package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/mapping"
)

// runLoadtest drives whole logins against an in-process dev stack and
// prints a report: latency percentiles, throughput, errors, memory before
// and after, CPU per login by component (a CPU profile of the timed part,
// split by the pprof labels devstack puts on each server) and what each
// login adds to the store. A SAML login (the default) is the ACS post of
// a response the demo IdP signed, the portal, the role pick and the 302
// to the console URL; --provider oidc signs in through the demo OpenID
// Provider instead (the broker's /oidc/.../login, the OP's login form,
// the callback with the code, then the same portal and role). With
// --flood it posts bad SAML responses instead (runFlood).
func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "acs" { // posts signed responses to any SP's ACS (loadacs.go)
		return runLoadACS(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("loadtest", stderr)
	concurrency := fs.Int("concurrency", 50, "concurrent logins")
	duration := fs.Duration("duration", 30*time.Second, "how long to run (10m for a soak)")
	dataDir := fs.String("data-dir", "", "data directory (default: a temporary one)")
	flood := fs.Bool("flood", false, "post bad SAML responses to the ACS instead, and report what they did to the store")
	requests := fs.Int("requests", 20000, "--flood: how many bad responses to post (at most 1000000)")
	reportEvery := fs.Duration("report-every", 0, "print RSS, goroutines, open files and store size at this interval (a soak: --duration 30m --report-every 1m)")
	provider := fs.String("provider", "saml", "sign in through the demo SAML IdP (saml) or the demo OpenID Provider (oidc)")
	cpuProfile := fs.String("cpuprofile", "", "also write the timed part's CPU profile to this file (go tool pprof; samples labelled by component)")
	memProfile := fs.String("memprofile", "", "also write the heap profile at the end (after a GC) to this file (go tool pprof -sample_index=inuse_space)")
	noPassThrough := fs.Bool("no-pass-through", false, "leave out the demo rules that pass the IdP's own assertion or ID token to AWS, so every role is broker-issued (the store then keeps neither)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir := *dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "broker-loadtest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	login := oneLogin
	switch *provider {
	case "saml":
	case "oidc":
		login = oneOIDCLogin
	default:
		return fmt.Errorf("--provider: saml or oidc, not %q", *provider)
	}
	if *flood {
		return runFlood(ctx, floodOptions{requests: *requests, concurrency: *concurrency, duration: *duration, dataDir: dir}, stdout)
	}
	opts := devstack.Options{DataDir: dir, NoRateLimits: true}
	mode := ""
	if *noPassThrough {
		opts.Configure = dropPassThrough
		mode = ", broker-issued roles only"
	}
	st, err := devstack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "broker loadtest: %d concurrent %s logins for %s against %s%s\n", *concurrency, strings.ToUpper(*provider), *duration, st.BrokerURL, mode)

	storeBefore, err := snapshotStore(ctx, st, dir)
	if err != nil {
		return err
	}
	runtime.GC()
	before := memory()
	// No CPU profile during a soak unless asked: the profile keeps every
	// distinct stack it sees in memory, which grows with the run and
	// would be read as the broker's.
	var cpu *cpuMeter
	if *reportEvery == 0 || *cpuProfile != "" {
		if cpu, err = startCPU(); err != nil {
			return err
		}
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      = map[string]int{}
		done      atomic.Int64
	)
	stop := time.Now().Add(*duration)
	var wg sync.WaitGroup
	stopReports := func() {}
	if *reportEvery > 0 {
		fmt.Fprintf(stdout, "\n  %-8s %8s %8s %10s %10s %10s %6s %14s\n", "elapsed", "logins", "per s", "RSS", "Go heap", "goroutines", "fds", "store")
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var rwg sync.WaitGroup
		rwg.Go(func() { soakReport(rctx, st, stdout, *reportEvery, &done) })
		// The interval lines end before the report is written to stdout.
		stopReports = func() { cancel(); rwg.Wait() }
		defer stopReports()
	}
	for i := 0; i < *concurrency; i++ {
		wg.Add(1)
		go devstack.Labelled(ctx, componentDriver, func(ctx context.Context) {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				d, err := login(ctx, st)
				mu.Lock()
				if err != nil {
					errs[err.Error()]++
				} else {
					latencies = append(latencies, d)
				}
				mu.Unlock()
				done.Add(1)
			}
		})
	}
	wg.Wait()
	cpuRep, cpuErr := cpu.stop()
	stopReports()
	runtime.GC()
	after := memory()

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	fmt.Fprintf(stdout, "\n  logins        %d ok, %d failed, %.1f/s\n", len(latencies), int(done.Load())-len(latencies), float64(len(latencies))/duration.Seconds())
	fmt.Fprintf(stdout, "  latency       p50 %s  p90 %s  p99 %s  max %s\n", pct(.50).Round(time.Microsecond*100), pct(.90).Round(time.Microsecond*100), pct(.99).Round(time.Microsecond*100), pct(1).Round(time.Microsecond*100))
	fmt.Fprintf(stdout, "  memory        RSS %s -> %s, Go heap in use %s -> %s, goroutines %d -> %d\n",
		mib(before.rss), mib(after.rss), mib(before.heap), mib(after.heap), before.goroutines, after.goroutines)
	if *provider == "oidc" {
		fmt.Fprintf(stdout, "  (one process: broker, demo OP and local AWS; latency is the whole login, the OP's\n   authorization, login form, token and userinfo endpoints included, and the local AWS's STS and sign-in work)\n")
	} else {
		fmt.Fprintf(stdout, "  (one process: broker, demo IdP and local AWS; the IdP's signing is outside the timed part,\n   the local AWS's STS and sign-in work is inside it)\n")
	}
	if ok := len(latencies); ok > 0 {
		if cpuErr != nil {
			fmt.Fprintf(stdout, "  CPU per login: %v\n", cpuErr)
		} else {
			cpuRep.print(stdout, ok)
		}
		if storeAfter, err := snapshotStore(ctx, st, dir); err != nil {
			fmt.Fprintf(stdout, "  store: %v\n", err)
		} else {
			printStore(stdout, storeBefore, storeAfter, ok)
		}
	}
	if *cpuProfile != "" && cpuErr == nil {
		if err := os.WriteFile(*cpuProfile, cpuRep.raw, 0o600); err != nil {
			return err
		}
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			return err
		}
	}
	for e, n := range errs {
		fmt.Fprintf(stdout, "  error x%d: %s\n", n, e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d logins failed", int(done.Load())-len(latencies))
	}
	return nil
}

// soakReport prints one line every interval until ctx ends: logins done
// in the interval, RSS (/proc/self/status), Go heap, goroutines, open
// files (/proc/self/fd) and the store's size on disk (file, WAL, free
// pages). After warm-up each should be flat but the store, which keeps
// what the retention settings say (sessions live server.session_lifetime).
// Under each line, the Go heap in use by package (heapByPackage: who holds
// it, the broker's packages apart from the demo IdP and the local AWS of
// the same process); when ctx ends, the whole table.
func soakReport(ctx context.Context, st *devstack.Stack, w io.Writer, every time.Duration, done *atomic.Int64) {
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(w, "\n  Go heap in use by package at the end (sampled, as of the last GC):\n")
			for _, p := range heapByPackage() {
				if p.bytes >= 64<<10 {
					fmt.Fprintf(w, "    %-36s %10s\n", p.pkg, mib(p.bytes))
				}
			}
			return
		case <-t.C:
		}
		n := done.Load()
		m := memory()
		size := "?"
		if u, err := st.App.Store.DiskUsage(ctx); err == nil {
			size = mib(uint64(u.DB + u.WAL))
		}
		fmt.Fprintf(w, "  %-8s %8d %8.1f %10s %10s %10d %6d %14s\n", time.Since(start).Round(time.Second), n-last,
			float64(n-last)/every.Seconds(), mib(m.rss), mib(m.heap), m.goroutines, openFiles(), size)
		live, goMem := goMemory()
		fmt.Fprintf(w, "  %-8s live heap %s, Go-managed %s, outside Go (SQLite's C memory, binary) %s\n", "", mib(live), mib(goMem), mib(m.rss-min(m.rss, goMem)))
		fmt.Fprintf(w, "  %-8s heap by package: %s\n", "", heapShare(heapByPackage(), 5))
		last = n
	}
}

// openFiles counts this process's open file descriptors (-1 off Linux).
func openFiles() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

var grantRe = regexp.MustCompile(`name="grant" value="([^"]+)"`)
var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// oneLogin signs alice in with a fresh IdP response (signed under ctx's
// labels and stepSign) and opens one role; it returns the time the broker
// (and local AWS) took.
func oneLogin(ctx context.Context, st *devstack.Stack) (time.Duration, error) {
	var resp string
	var err error
	pprof.Do(ctx, pprof.Labels(stepLabel, stepSign), func(context.Context) {
		resp, err = st.IdP.IssueResponse(devidp.IssueOptions{SPEntityID: st.BrokerURL + "/saml/demo/metadata", Username: "alice"})
	})
	if err != nil {
		return 0, err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(r.URL.String(), st.BrokerURL) {
			return http.ErrUseLastResponse // stop at the console URL
		}
		return nil
	}}
	start := time.Now()
	portal, err := fetch(c, http.MethodPost, st.BrokerURL+"/saml/demo/acs", url.Values{"SAMLResponse": {resp}})
	if err != nil {
		return 0, err
	}
	if err := openRole(st, c, portal); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// dropPassThrough removes the rules whose grants pass the IdP's own
// credential to AWS (--no-pass-through).
func dropPassThrough(c *config.Config) {
	c.Rules = slices.DeleteFunc(c.Rules, func(r mapping.Rule) bool { return r.Grant.Mode == string(broker.ModePassThrough) })
}

// openRole picks the first role on the portal page and follows it to the
// console URL.
func openRole(st *devstack.Stack, c *http.Client, portal string) error {
	g, t := grantRe.FindStringSubmatch(portal), csrfRe.FindStringSubmatch(portal)
	if g == nil || t == nil {
		return fmt.Errorf("no role on the portal")
	}
	r, err := c.PostForm(st.BrokerURL+"/console", url.Values{"grant": {unescape(g[1])}, "csrf_token": {t[1]}})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "SigninToken=") {
		return fmt.Errorf("console: status %d", r.StatusCode)
	}
	return nil
}

var opReqRe = regexp.MustCompile(`name="req" value="([^"]+)"`)

// oneOIDCLogin signs alice in through the demo OpenID Provider in a fresh
// browser (no SSO session at the OP: its login form each time) and opens
// one role; it returns the time the whole login took, the OP's included.
func oneOIDCLogin(_ context.Context, st *devstack.Stack) (time.Duration, error) {
	var user devstack.User
	for _, u := range st.Users {
		if u.Username == "alice" {
			user = u
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if u := r.URL.String(); !strings.HasPrefix(u, st.BrokerURL) && !strings.HasPrefix(u, st.OPURL) {
			return http.ErrUseLastResponse // stop at the console URL
		}
		return nil
	}}
	start := time.Now()
	r, err := c.Get(st.BrokerURL + "/oidc/demo-oidc/login")
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return 0, err
	}
	req := opReqRe.FindSubmatch(b)
	if r.StatusCode != http.StatusOK || req == nil {
		return 0, fmt.Errorf("OP login form: status %d at %s", r.StatusCode, r.Request.URL.Redacted())
	}
	portal, err := fetch(c, http.MethodPost, st.OPURL+"/login", url.Values{"req": {string(req[1])}, "username": {user.Username},
		"password": {user.Password}, "otp": {user.OTP}})
	if err != nil {
		return 0, err
	}
	if err := openRole(st, c, portal); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func fetch(c *http.Client, method, u string, form url.Values) (string, error) {
	r, err := c.PostForm(u, form)
	if err != nil {
		return "", err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: status %d", method, u, r.StatusCode)
	}
	return string(b), err
}

func unescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&amp;", "&", "&#34;", `"`, "&#39;", "'").Replace(s)
}

type mem struct {
	rss, heap  uint64
	goroutines int
}

func memory() mem {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := mem{heap: ms.HeapInuse, goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				m.rss = kb * 1024
			}
		}
	}
	return m
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
