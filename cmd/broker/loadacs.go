package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/issuer"
)

// The files of an IdP directory (broker loadtest acs --write-idp DIR).
const (
	loadIdPKey      = "idp.key"
	loadIdPCert     = "idp.crt"
	loadIdPMetadata = "idp-metadata.xml"
	// loadIdPEntity is the entity ID --write-idp gives the IdP by default.
	loadIdPEntity = "https://idp.loadtest.invalid/saml/metadata"
	// loadUsers is how many people the responses sign in, in turn: a
	// real ACS sees many, and an SP that indexes sessions by NameID
	// (Shibboleth SP, for logout) would spend the run rewriting one
	// ever-growing entry if they were all the same person.
	loadUsers = 10000
)

// loadGroup is the format of the load test user's 75 groups; the first,
// cn=group-000,dc=example,dc=com, is the one a broker rule can grant a
// role on (bench/peers/run does).
const loadGroup = "cn=group-%03d,dc=example,dc=com"

// runLoadACS posts fresh signed SAML Responses to any SP's ACS over HTTP
// (the broker, mod_auth_mellon, Shibboleth SP) and reports what each cost:
// CPU per accepted response from /proc, responses/s, latency percentiles.
// The responses are made and signed before the timed part.
func runLoadACS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadtest acs", stderr)
	writeIdP := fs.String("write-idp", "", "write a new IdP (idp.key, idp.crt, idp-metadata.xml) to this directory, for the SPs to trust, and exit")
	idpDir := fs.String("idp", "", "the IdP directory whose key signs the responses (written by --write-idp)")
	idpEntity := fs.String("idp-entity-id", loadIdPEntity, "--write-idp: the IdP's entity ID")
	spEntity := fs.String("sp-entity-id", "", "the SP's entity ID (the Audience)")
	acsURL := fs.String("acs-url", "", "the SP's ACS URL (HTTP-POST binding; loopback only)")
	count := fs.Int("count", 2000, "how many responses to post (1 to 100000)")
	concurrency := fs.Int("concurrency", 8, "concurrent posts")
	accept := fs.String("accept", "status=302,303", "what an accepted response looks like, space-separated: status=LIST, location=REGEX, cookie=REGEX (a Set-Cookie name)")
	pids := fs.String("pids", "", "comma-separated process IDs whose CPU (utime+stime, with their descendants') is measured; \"self\" is this process")
	process := fs.String("process", "", "measure the CPU of every process whose name (/proc/PID/comm) matches this regular expression, with its descendants")
	timeout := fs.Duration("timeout", 30*time.Second, "per-request timeout")
	maxDuration := fs.Duration("max-duration", 10*time.Minute, "stop posting after this long (at most 1h)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *writeIdP != "" {
		return writeLoadIdP(*writeIdP, *idpEntity, stdout)
	}
	if *idpDir == "" || *spEntity == "" || *acsURL == "" {
		fmt.Fprintln(stderr, "broker loadtest acs needs --idp, --sp-entity-id and --acs-url (or --write-idp)")
		return usageError{"missing flags"}
	}
	// A usage error exits 2 without a word from main: say what is wrong here.
	bad := func(msg string) error {
		fmt.Fprintln(stderr, "broker loadtest acs: "+msg)
		return usageError{msg}
	}
	if *count < 1 || *count > 100000 || *concurrency < 1 || *concurrency > 1000 || *maxDuration <= 0 || *maxDuration > time.Hour || *timeout <= 0 {
		return bad("--count 1..100000, --concurrency 1..1000, --max-duration up to 1h, --timeout above 0")
	}
	if err := loopbackURL(*acsURL); err != nil {
		return bad(err.Error())
	}
	acc, err := parseAccept(*accept)
	if err != nil {
		return bad(err.Error())
	}
	procs, err := newProcSet(*pids, *process)
	if err != nil {
		return bad(err.Error())
	}

	idp, err := loadIdP(*idpDir, *spEntity, *acsURL)
	if err != nil {
		return fmt.Errorf("--idp %s: %w (write one with broker loadtest acs --write-idp DIR)", *idpDir, err)
	}
	start := time.Now()
	bodies := make([]string, *count)
	size := 0
	for i := range bodies {
		r, err := idp.IssueResponse(devidp.IssueOptions{SPEntityID: *spEntity, Username: loadUserName(i)})
		if err != nil {
			return err
		}
		bodies[i] = url.Values{"SAMLResponse": {r}}.Encode()
		size = base64.StdEncoding.DecodedLen(len(r))
	}
	fmt.Fprintf(stdout, "broker loadtest acs: %d responses (%.1f KB each, made in %s) to %s, %d concurrent\n",
		*count, float64(size)/1024, time.Since(start).Round(time.Millisecond), *acsURL, *concurrency)

	tr := &http.Transport{MaxIdleConnsPerHost: *concurrency, MaxConnsPerHost: *concurrency, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: *timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// A warm-up post of one extra response, outside the figures: the
	// first request pays for connection set-up and lazy initialisation.
	if r, err := idp.IssueResponse(devidp.IssueOptions{SPEntityID: *spEntity, Username: loadUserName(*count)}); err == nil {
		post(ctx, client, *acsURL, url.Values{"SAMLResponse": {r}}.Encode())
	}

	runCtx, cancel := context.WithTimeout(ctx, *maxDuration)
	defer cancel()
	procs.sample()
	sampler := make(chan struct{})
	var swg sync.WaitGroup
	swg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sampler:
				return
			case <-t.C:
				procs.sample()
			}
		}
	})
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, *count)
		refused   = map[string]int{}
		next      = make(chan string)
		wg        sync.WaitGroup
	)
	begin := time.Now()
	for range *concurrency {
		wg.Go(func() {
			for body := range next {
				t0 := time.Now()
				res, err := post(runCtx, client, *acsURL, body)
				d := time.Since(t0)
				why := ""
				if err != nil {
					why = "error: " + shortErr(err)
				} else {
					why = acc.check(res)
				}
				mu.Lock()
				if why == "" {
					latencies = append(latencies, d)
				} else {
					refused[why]++
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, b := range bodies {
		select {
		case next <- b:
		case <-runCtx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(begin)
	close(sampler)
	swg.Wait()
	procs.sample()

	nRefused := 0
	for _, n := range refused {
		nRefused += n
	}
	notPosted := *count - len(latencies) - nRefused
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		i := int(float64(len(latencies))*p+0.999999) - 1
		return latencies[max(0, min(i, len(latencies)-1))]
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rps := float64(len(latencies)) / elapsed.Seconds()
	fmt.Fprintf(stdout, "  accepted     %d\n  refused      %d\n", len(latencies), nRefused)
	for _, why := range slices.Sorted(func(yield func(string) bool) {
		for k := range refused {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(stdout, "    %5d x %s\n", refused[why], why)
	}
	if notPosted > 0 {
		fmt.Fprintf(stdout, "  not posted   %d (--max-duration %s reached)\n", notPosted, *maxDuration)
	}
	fmt.Fprintf(stdout, "  elapsed      %s\n  responses/s  %.1f\n", elapsed.Round(time.Millisecond), rps)
	fmt.Fprintf(stdout, "  latency      p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n", ms(pct(.5)), ms(pct(.9)), ms(pct(.99)), ms(pct(1)))
	cpuMS := -1.0 // not measured
	if procs.active() {
		cpu, n := procs.total()
		if len(latencies) > 0 {
			cpuMS = ms(cpu) / float64(len(latencies))
			fmt.Fprintf(stdout, "  CPU          %.2f ms per accepted response (%.2f s utime+stime of %d processes, /proc)\n", cpuMS, cpu.Seconds(), n)
		} else {
			fmt.Fprintf(stdout, "  CPU          %.2f s utime+stime of %d processes (/proc), no response accepted\n", cpu.Seconds(), n)
		}
	}
	fmt.Fprintf(stdout, "result: accepted=%d refused=%d cpu_ms=%.2f rps=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
		len(latencies), nRefused, cpuMS, rps, ms(pct(.5)), ms(pct(.9)), ms(pct(.99)), ms(pct(1)))
	if nRefused > 0 || notPosted > 0 {
		return fmt.Errorf("loadtest acs: %d of %d responses not accepted: the figures do not count", nRefused+notPosted, *count)
	}
	return nil
}

// loopbackURL refuses an ACS URL that is not http(s) on a loopback host:
// a load test never leaves the machine.
func loopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("--acs-url must be an http(s) URL")
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); (ip == nil || !ip.IsLoopback()) && h != "localhost" {
		return errors.New("--acs-url must be on loopback (127.0.0.1, ::1, localhost)")
	}
	return nil
}

func post(ctx context.Context, c *http.Client, u, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	return res, err
}

// shortErr names a transport error without the URL (or anything sent).
func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// acceptRule tells an accepted response from a refused one.
type acceptRule struct {
	statuses []int
	location *regexp.Regexp
	cookie   *regexp.Regexp
}

func parseAccept(s string) (acceptRule, error) {
	var a acceptRule
	for _, term := range strings.Fields(s) {
		k, v, ok := strings.Cut(term, "=")
		if !ok || v == "" {
			return a, fmt.Errorf("--accept: %q is not KEY=VALUE", term)
		}
		switch k {
		case "status":
			for _, f := range strings.Split(v, ",") {
				n, err := strconv.Atoi(f)
				if err != nil || n < 100 || n > 599 {
					return a, fmt.Errorf("--accept: bad status %q", f)
				}
				a.statuses = append(a.statuses, n)
			}
		case "location", "cookie":
			re, err := regexp.Compile(v)
			if err != nil {
				return a, fmt.Errorf("--accept %s: %v", k, err)
			}
			if k == "location" {
				a.location = re
			} else {
				a.cookie = re
			}
		default:
			return a, fmt.Errorf("--accept: unknown key %q (status, location, cookie)", k)
		}
	}
	if len(a.statuses) == 0 {
		a.statuses = []int{302, 303}
	}
	return a, nil
}

// check returns "" for an accepted response, else why it is refused.
func (a acceptRule) check(res *http.Response) string {
	if !slices.Contains(a.statuses, res.StatusCode) {
		return "status " + strconv.Itoa(res.StatusCode)
	}
	if a.location != nil && !a.location.MatchString(res.Header.Get("Location")) {
		return "status " + strconv.Itoa(res.StatusCode) + ", Location does not match"
	}
	if a.cookie != nil && !slices.ContainsFunc(res.Cookies(), func(c *http.Cookie) bool { return c.Value != "" && a.cookie.MatchString(c.Name) }) {
		return "status " + strconv.Itoa(res.StatusCode) + ", no matching cookie"
	}
	return ""
}

// writeLoadIdP writes a new IdP key, certificate and metadata to dir.
func writeLoadIdP(dir, entity string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	kp, err := issuer.GenerateKeyPair("broker loadtest IdP", 10*365*24*time.Hour, time.Now())
	if err != nil {
		return err
	}
	idp, err := devidp.New(devidp.Config{BaseURL: "https://idp.loadtest.invalid", EntityID: entity, Signing: &kp})
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{loadIdPKey: kp.KeyPEM(), loadIdPCert: kp.CertificatePEM(), loadIdPMetadata: idp.Metadata()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote IdP %s to %s (%s, %s, %s)\n", entity, dir, loadIdPKey, loadIdPCert, loadIdPMetadata)
	return nil
}

// loadIdP is the IdP of dir, knowing one SP and the load test user: 10
// attributes (username, email, displayName, 75 groups, 6 more), which
// makes a response of about 12 KB with both signatures.
func loadIdP(dir, spEntity, acsURL string) (*devidp.IdP, error) {
	kp, err := issuer.LoadKeyPair(filepath.Join(dir, loadIdPKey), filepath.Join(dir, loadIdPCert))
	if err != nil {
		return nil, err
	}
	md, err := os.ReadFile(filepath.Join(dir, loadIdPMetadata))
	if err != nil {
		return nil, err
	}
	var ed struct {
		EntityID string `xml:"entityID,attr"`
	}
	if err := xml.Unmarshal(md, &ed); err != nil || ed.EntityID == "" {
		return nil, fmt.Errorf("loadtest acs: %s has no entityID", loadIdPMetadata)
	}
	groups := make([]string, 75)
	for i := range groups {
		groups[i] = fmt.Sprintf(loadGroup, i)
	}
	users := make([]devidp.User, loadUsers)
	for i := range users {
		name := loadUserName(i)
		users[i] = devidp.User{Username: name, Password: rand.Text(), Email: name + "@example.com", DisplayName: "Load Test",
			Groups: groups, Attributes: map[string][]string{
				"givenName": {"Load"}, "surname": {"Test"}, "department": {"Engineering"},
				"employeeID": {fmt.Sprintf("E-%06d", i)}, "title": {"Staff Engineer"}, "costCenter": {"CC-4200"},
			}}
	}
	return devidp.New(devidp.Config{BaseURL: "https://idp.loadtest.invalid", EntityID: ed.EntityID, Signing: &kp,
		AssertionLifetime: time.Hour, Users: users,
		ServiceProviders: []devidp.ServiceProvider{{EntityID: spEntity, ACSURL: acsURL}}})
}

// loadUserName is the i-th person, taken in turn.
func loadUserName(i int) string { return fmt.Sprintf("loadtest-%04d", i%loadUsers) }

// procSet measures the CPU time (utime+stime from /proc/PID/stat) of some
// processes and their descendants. It samples while the test runs, so a
// process that exits in the middle still counts up to its last sample.
type procSet struct {
	roots []int
	name  *regexp.Regexp
	mu    sync.Mutex
	first map[int]uint64 // ticks at the first sample (0 for a process born later)
	last  map[int]uint64
	n     int // samples taken
}

func newProcSet(pids, process string) (*procSet, error) {
	p := &procSet{first: map[int]uint64{}, last: map[int]uint64{}}
	for _, f := range strings.Split(pids, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if f == "self" {
			p.roots = append(p.roots, os.Getpid())
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--pids: %q is not a process ID", f)
		}
		p.roots = append(p.roots, n)
	}
	if process != "" {
		re, err := regexp.Compile(process)
		if err != nil {
			return nil, fmt.Errorf("--process: %v", err)
		}
		p.name = re
	}
	return p, nil
}

func (p *procSet) active() bool { return len(p.roots) > 0 || p.name != nil }

// sample reads every matching process's utime+stime.
func (p *procSet) sample() {
	if !p.active() {
		return
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	type st struct {
		ppid  int
		ticks uint64
		comm  string
	}
	all := map[int]st{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		comm, ppid, ticks, ok := parseProcStat(string(b))
		if !ok {
			continue
		}
		all[pid] = st{ppid: ppid, ticks: uint64(ticks), comm: comm}
	}
	in := map[int]bool{}
	for _, r := range p.roots {
		in[r] = true
	}
	if p.name != nil {
		for pid, s := range all {
			if p.name.MatchString(s.comm) {
				in[pid] = true
			}
		}
	}
	// Descendants: repeat until no process joins (the tree is shallow).
	for changed := true; changed; {
		changed = false
		for pid, s := range all {
			if !in[pid] && in[s.ppid] {
				in[pid], changed = true, true
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for pid := range in {
		s, ok := all[pid]
		if !ok {
			continue
		}
		if _, seen := p.last[pid]; !seen {
			if p.n == 0 {
				p.first[pid] = s.ticks
			} else {
				p.first[pid] = 0 // born during the run: all of its CPU counts
			}
		}
		p.last[pid] = s.ticks
	}
	p.n++
}

// total is the CPU time used between the first and the last sample, and
// how many processes used it.
func (p *procSet) total() (time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ticks uint64
	for pid, last := range p.last {
		ticks += last - p.first[pid]
	}
	return time.Duration(ticks) * time.Second / clockTicks, len(p.last)
}
