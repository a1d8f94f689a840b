package e2e

import (
	"encoding/json"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/web"
)

// AWS hangs: 200 console sign-ins at once are each answered within
// aws.timeout with a clear 503 and Retry-After, /readyz stays 200 with
// checks.aws "degraded", no goroutines are left behind, and when AWS
// answers again the next sign-in works without a restart.
func TestAWSHangingAnswers503AndRecovers(t *testing.T) {
	st := startStackWith(t, devstack.Options{NoRateLimits: true})
	gate := newAWSGate(t, st.AWSURL)
	b, portal := signInSP(t, st, "demo", "alice")
	action, form := roleForm(t, portal, sandboxDeveloper)
	const timeout = time.Second
	in := startInstance(t, st, func(c *config.Config) { gate.route(c); c.AWS.Timeout = mapping.Duration(timeout) })
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	c := &http.Client{Jar: b.client.Jar, Transport: tr, CheckRedirect: b.client.CheckRedirect}
	if a := send(c, in.at(t, action), form); a.Status != http.StatusFound {
		t.Fatalf("before the outage: %d %v\n%s", a.Status, a.Err, clip(a.Body))
	}
	tr.CloseIdleConnections()
	before := runtime.NumGoroutine()
	// settle waits (up to 10 s) for the goroutines to come back to before.
	// It closes the client's idle connections on every try: a response
	// read to the end hands its connection back to the pool a moment
	// later (the transport's read loop does it), so one close right after
	// the requests can miss some, and each missed keep-alive connection
	// holds two client and one or two server goroutines for 90 s.
	settle := func() int {
		var n int
		for range 100 {
			tr.CloseIdleConnections()
			if n = runtime.NumGoroutine(); n <= before+5 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return n
	}

	gate.hang()
	const n = 200
	answers := make([]answer, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() { answers[i] = send(c, in.at(t, action), form) })
	}
	wg.Wait()
	wall := time.Since(start)
	var slowest time.Duration
	for i, a := range answers {
		slowest = max(slowest, a.Elapsed)
		if a.Err != nil || a.Status != http.StatusServiceUnavailable || a.Header.Get("Retry-After") != web.RetryAfterUnavailable ||
			!strings.Contains(a.Body, "AWS STS did not answer in time") || !strings.Contains(a.Body, "Temporarily unavailable") {
			t.Fatalf("answer %d: %d %v Retry-After %q\n%s", i, a.Status, a.Err, a.Header.Get("Retry-After"), clip(a.Body))
		}
	}
	// Each waited for AWS at most aws.timeout; the rest is 200 requests
	// (each minting a signed SAML assertion) queueing for two loaded cores
	// under the race detector.
	if slowest > timeout+15*time.Second {
		t.Errorf("the slowest answer took %s with aws.timeout %s", slowest, timeout)
	}
	t.Logf("%d requests against a hanging AWS: all 503 in %s, slowest %s (aws.timeout %s)", n, wall.Round(time.Millisecond), slowest.Round(time.Millisecond), timeout)

	after := settle()
	t.Logf("goroutines: %d before, %d after the %d requests", before, after, n)
	if after > before+20 {
		var dump strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("goroutines piled up: %d before, %d after:\n%s", before, after, dump.String()[:min(dump.Len(), 12000)])
	}

	var ready struct {
		Status   string            `json:"status"`
		Checks   map[string]string `json:"checks"`
		Warnings []string          `json:"warnings"`
	}
	a := send(c, in.URL+"/readyz", nil)
	if err := json.Unmarshal([]byte(a.Body), &ready); err != nil || a.Status != http.StatusOK || ready.Checks["aws"] != "degraded" ||
		len(ready.Warnings) != 1 || !strings.Contains(ready.Warnings[0], "AWS STS is failing") {
		t.Fatalf("readyz during the outage: %d %s", a.Status, a.Body)
	}

	gate.open()
	if a := send(c, in.at(t, action), form); a.Status != http.StatusFound || !strings.Contains(a.Header.Get("Location"), "Action=login") {
		t.Fatalf("after AWS came back: %d %v\n%s\n%s", a.Status, a.Err, clip(a.Body), in.Logs.String()[max(0, len(in.Logs.String())-6000):])
	}
	a = send(c, in.URL+"/readyz", nil)
	if err := json.Unmarshal([]byte(a.Body), &ready); err != nil || a.Status != http.StatusOK || ready.Checks["aws"] != "ok" {
		t.Fatalf("readyz after the outage: %d %s", a.Status, a.Body)
	}
}
