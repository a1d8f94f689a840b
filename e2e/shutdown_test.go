package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// SIGTERM: /readyz answers 503 at once while the listener keeps serving
// for the drain; then the listener closes and a request in flight (a
// console sign-in waiting on STS) finishes within the grace; Serve returns
// nil, every step is logged and the store closes cleanly.
func TestShutdownDrainsThenLetsRequestsFinish(t *testing.T) {
	st := startStack(t)
	gate := newAWSGate(t, st.AWSURL)
	b, portal := signInSP(t, st, "demo", "alice")
	action, form := roleForm(t, portal, sandboxDeveloper)
	const drain = 3 * time.Second
	in := startInstance(t, st, func(c *config.Config) {
		gate.route(c)
		c.Server.ShutdownDrain, c.Server.ShutdownGrace = mapping.Duration(drain), mapping.Duration(20*time.Second)
		c.AWS.Timeout = mapping.Duration(time.Minute)
	})
	if a := send(b.client, in.URL+"/readyz", nil); a.Status != http.StatusOK {
		t.Fatalf("readyz before: %d %s %v", a.Status, a.Body, a.Err)
	}

	gate.hang()
	inflight := make(chan answer, 1)
	go func() { inflight <- send(b.client, in.at(t, action), form) }()
	gate.waitHeld(t, 1)

	sigterm := time.Now()
	in.stop()
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if a := send(fresh, in.URL+"/readyz", nil); a.Status != http.StatusServiceUnavailable || !strings.Contains(a.Body, "shutting down") {
		t.Fatalf("readyz during the drain: %d %q %v", a.Status, a.Body, a.Err)
	}
	if a := send(fresh, in.URL+"/healthz", nil); a.Status != http.StatusOK {
		t.Fatalf("healthz during the drain: %d %v (the listener must keep serving)", a.Status, a.Err)
	}
	if d := time.Since(sigterm); d > drain {
		t.Fatalf("the drain checks took %s, longer than the drain itself: the machine is too slow for this test", d)
	}
	// After the drain the listener is closed: new connections are refused.
	for {
		a := send(fresh, in.URL+"/healthz", nil)
		if a.Err != nil {
			if since := time.Since(sigterm); since < drain {
				t.Fatalf("connections refused %s after SIGTERM, before the %s drain ended", since, drain)
			}
			break
		}
		if time.Since(sigterm) > drain+10*time.Second {
			t.Fatal("the listener still accepts connections long after the drain")
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case a := <-inflight:
		t.Fatalf("the request in flight ended before AWS answered: %d %v", a.Status, a.Err)
	default:
	}
	gate.open() // AWS answers: the request in flight finishes within the grace
	a := <-inflight
	if a.Err != nil || a.Status != http.StatusFound || !strings.Contains(a.Header.Get("Location"), "Action=login") {
		t.Fatalf("the request in flight: %d %v (Location %q)\n%s", a.Status, a.Err, a.Header.Get("Location"), clip(a.Body))
	}
	if err := in.wait(t, 30*time.Second); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	in.App.Close()
	logs := in.Logs.String()
	for _, want := range []string{"shutdown: draining", "shutdown: listener closed", "shutdown: every request finished", "shutdown: complete", "store closed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if evs, _ := st.App.Store.ListAudit(context.Background(), store.AuditFilter{Event: app.EventRequestCut}); len(evs) != 0 {
		t.Errorf("a request that finished was audited as cut: %+v", evs)
	}
}

// A request still running when the grace ends is cut: audited as
// request_cut with its request id and path (the id its log lines carry),
// and Serve still returns nil.
func TestShutdownCutsARequestPastTheGrace(t *testing.T) {
	st := startStack(t)
	gate := newAWSGate(t, st.AWSURL)
	b, portal := signInSP(t, st, "demo", "alice")
	action, form := roleForm(t, portal, sandboxDeveloper)
	in := startInstance(t, st, func(c *config.Config) {
		gate.route(c)
		c.Server.ShutdownDrain, c.Server.ShutdownGrace = 0, mapping.Duration(time.Second)
		c.AWS.Timeout = mapping.Duration(time.Minute)
	})
	gate.hang()
	inflight := make(chan answer, 1)
	go func() { inflight <- send(b.client, in.at(t, action), form) }()
	gate.waitHeld(t, 1)

	sigterm := time.Now()
	in.stop()
	if err := in.wait(t, 30*time.Second); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := time.Since(sigterm); d > 10*time.Second {
		t.Errorf("Serve returned %s after SIGTERM with a 1s grace", d)
	}
	if a := <-inflight; a.Err == nil && a.Status == http.StatusFound {
		t.Fatalf("the cut request was answered with a console: %d", a.Status)
	}
	evs, err := st.App.Store.ListAudit(context.Background(), store.AuditFilter{Event: app.EventRequestCut})
	if err != nil || len(evs) != 1 {
		t.Fatalf("request_cut events: %+v %v", evs, err)
	}
	ev := evs[0]
	if ev.Reason != app.ReasonShutdownGrace || ev.Result != store.ResultFailure || ev.Details["path"] != "/console" || ev.Details["method"] != "POST" ||
		!regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(ev.RequestID) {
		t.Fatalf("request_cut event: %+v", ev)
	}
	logs := in.Logs.String()
	if !strings.Contains(logs, "shutdown: request cut") || !strings.Contains(logs, "request_id="+ev.RequestID) {
		t.Errorf("the log does not name the cut request %s:\n%s", ev.RequestID, logs)
	}
	if strings.Count(logs, "request_id="+ev.RequestID) < 2 {
		t.Errorf("the cut request's own log lines do not carry the audited id %s:\n%s", ev.RequestID, logs)
	}
}
