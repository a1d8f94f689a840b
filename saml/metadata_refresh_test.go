package saml

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
)

// fakeTimers stands in for Run's timers: each timer Run starts is reported
// on waits, and fires when the test sends on fire.
type fakeTimers struct {
	waits chan time.Duration
	fire  chan time.Time
}

func installFakeTimers(sp *ServiceProvider) *fakeTimers {
	ft := &fakeTimers{waits: make(chan time.Duration), fire: make(chan time.Time)}
	sp.refresh.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
		ft.waits <- d
		return ft.fire, func() bool { return true }
	}
	return ft
}

// A failed refresh is retried after 30 s, 1 m, 2 m ... up to the refresh
// interval, not after a whole interval; success goes back to the interval.
func TestRunRetriesWithBackoff(t *testing.T) {
	clock := newTestClock(t, t0)
	key := newKey(t, "idp")
	srv := newMDServer(t, mdDoc{keys: []issuer.KeyPair{key}}.xml())
	sp, logs, _ := urlSP(t, srv.URL, clock, nil, func(c *Config) { c.MetadataRefresh = 10 * time.Minute })
	ft := installFakeTimers(sp)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sp.Run(ctx); close(done) }()

	if d := <-ft.waits; d != 10*time.Minute {
		t.Fatalf("first wait after a good start %s, want the interval", d)
	}
	srv.setDown(true)
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for i, w := range want {
		ft.fire <- clock.Now()
		if d := <-ft.waits; d != w {
			t.Fatalf("wait after failure %d: %s, want %s", i+1, d, w)
		}
		if err := sp.Ready(); err != nil {
			t.Fatalf("failure %d dropped the last good copy: %v", i+1, err)
		}
	}
	srv.setDown(false)
	ft.fire <- clock.Now()
	if d := <-ft.waits; d != 10*time.Minute {
		t.Fatalf("wait after recovery %s, want the interval", d)
	}
	cancel()
	<-done
	if n := srv.count(); n != 1+len(want)+1 {
		t.Errorf("%d fetches, want %d", n, 1+len(want)+1)
	}
	if got := logs.lines("level=INFO", fmt.Sprintf("recovered after %d failures", len(want))); len(got) != 1 {
		t.Errorf("no INFO line says it recovered after %d failures:\n%s", len(want), logs)
	}
	if got := logs.lines("level=WARN", "keeping the last good copy", "retry_in=1m0s", "failures=2"); len(got) != 1 {
		t.Errorf("failures not logged with the next retry:\n%s", logs)
	}
}

// Started with the IdP down and nothing stored: not ready, retried soon.
func TestRunRetriesWhenNeverLoaded(t *testing.T) {
	clock := newTestClock(t, t0)
	srv := newMDServer(t, "")
	srv.setDown(true)
	sp, _, _ := urlSP(t, srv.URL, clock, newMemCache(), nil)
	if sp.Ready() == nil {
		t.Fatal("ready without metadata")
	}
	ft := installFakeTimers(sp)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sp.Run(ctx)
	for _, w := range []time.Duration{30 * time.Second, time.Minute} {
		if d := <-ft.waits; d != w {
			t.Fatalf("wait %s, want %s", d, w)
		}
		ft.fire <- clock.Now()
	}
	<-ft.waits
	srv.serve(mdDoc{keys: []issuer.KeyPair{newKey(t, "idp")}}.xml())
	ft.fire <- clock.Now()
	if d := <-ft.waits; d != time.Hour {
		t.Fatalf("wait after the first load %s, want the interval", d)
	}
	if err := sp.Ready(); err != nil {
		t.Fatal(err)
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		n    int
		max  time.Duration
		want time.Duration
	}{
		{1, time.Hour, 30 * time.Second}, {2, time.Hour, time.Minute}, {3, time.Hour, 2 * time.Minute},
		{7, time.Hour, 32 * time.Minute}, {8, time.Hour, time.Hour}, {1000, time.Hour, time.Hour},
		{1, 10 * time.Second, 10 * time.Second},
	} {
		if got := backoff(c.n, c.max); got != c.want {
			t.Errorf("backoff(%d, %s) = %s, want %s", c.n, c.max, got, c.want)
		}
	}
}

// The next refresh comes sooner when cacheDuration or validUntil ask.
func TestNextRefreshHonoursCacheDurationAndValidUntil(t *testing.T) {
	key := newKey(t, "idp")
	cases := []struct {
		name string
		doc  mdDoc
		want time.Duration
	}{
		{"neither", mdDoc{}, time.Hour},
		{"cacheDuration shorter", mdDoc{cacheDuration: "PT10M"}, 10 * time.Minute},
		{"cacheDuration longer", mdDoc{cacheDuration: "P1D"}, time.Hour},
		{"validUntil in 40m", mdDoc{validUntil: t0.Add(40 * time.Minute)}, 30 * time.Minute},
		{"validUntil in 2 days", mdDoc{validUntil: t0.Add(48 * time.Hour)}, time.Hour},
		{"validUntil in 20s", mdDoc{validUntil: t0.Add(20 * time.Second)}, 30 * time.Second},
		{"federation's validUntil", mdDoc{entities: true, outerValidUntil: t0.Add(20 * time.Minute), validUntil: t0.Add(48 * time.Hour)}, 15 * time.Minute},
		{"federation's cacheDuration", mdDoc{entities: true, cacheDuration: "PT6M"}, 6 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock(t, t0)
			tc.doc.keys = []issuer.KeyPair{key}
			sp, _, _ := urlSP(t, newMDServer(t, tc.doc.xml()).URL, clock, nil, nil)
			if err := sp.Ready(); err != nil {
				t.Fatal(err)
			}
			if got := sp.nextRefresh(); got != tc.want {
				t.Errorf("next refresh in %s, want %s", got, tc.want)
			}
		})
	}
}

// Metadata past its validUntil signs no one in: the provider is not ready
// and says why, and a fresh copy puts it back.
func TestExpiredMetadataIsNotUsed(t *testing.T) {
	clock := newTestClock(t, t0)
	key := newKey(t, "idp")
	srv := newMDServer(t, mdDoc{keys: []issuer.KeyPair{key}, validUntil: t0.Add(time.Hour)}.xml())
	sp, logs, _ := urlSP(t, srv.URL, clock, newMemCache(), nil)
	if err := signIn(t, sp, key, clock, "_v1"); err != nil {
		t.Fatalf("sign-in before validUntil: %v", err)
	}
	if _, _, err := sp.LoginRedirect("r", LoginOptions{}); err != nil {
		t.Fatal(err)
	}

	// The IdP keeps serving the same copy; an hour later it has expired.
	clock.Advance(time.Hour)
	err := sp.Ready()
	if !errors.Is(err, ErrMetadataExpired) {
		t.Fatalf("Ready after validUntil: %v, want ErrMetadataExpired", err)
	}
	if err := signIn(t, sp, key, clock, "_v2"); broker.ErrorReason(err) != "metadata_unavailable" || !errors.Is(err, ErrMetadataExpired) {
		t.Fatalf("sign-in with expired metadata: %v", err)
	}
	if _, _, err := sp.LoginRedirect("r", LoginOptions{}); broker.ErrorReason(err) != "metadata_unavailable" {
		t.Fatalf("login with expired metadata: %v", err)
	}
	if d := sp.nextRefresh(); d != 30*time.Second {
		t.Errorf("next refresh of an expired copy in %s, want 30s", d)
	}
	// Fetching the same expired copy fails, and says so.
	if err := sp.Refresh(context.Background()); !errors.Is(err, ErrMetadataExpired) {
		t.Fatalf("refresh to an expired copy: %v", err)
	}
	if !errors.Is(sp.Ready(), ErrMetadataExpired) || len(logs.lines("level=ERROR", "has expired")) != 1 {
		t.Fatalf("Ready %v; logs:\n%s", sp.Ready(), logs)
	}
	// A broker starting now does not use the expired stored copy either.
	srv.setDown(true)
	other, _, _ := urlSP(t, srv.URL, clock, sp.cfg.MetadataCache, nil)
	if other.Ready() == nil {
		t.Fatal("a new instance uses the expired stored copy")
	}

	// The IdP publishes a fresh copy.
	srv.serve(mdDoc{keys: []issuer.KeyPair{key}, validUntil: clock.Now().Add(24 * time.Hour)}.xml())
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := signIn(t, sp, key, clock, "_v3"); err != nil {
		t.Fatalf("sign-in after a fresh copy: %v", err)
	}
}

// Metadata that is already expired is refused outright: a file or inline
// copy stops New, a federation's validUntil counts too.
func TestExpiredMetadataRefused(t *testing.T) {
	key := newKey(t, "idp")
	for name, doc := range map[string]mdDoc{
		"entity expired":     {validUntil: t0.Add(-time.Second)},
		"entity expires now": {validUntil: t0},
		"federation expired": {entities: true, outerValidUntil: t0.Add(-time.Hour), validUntil: t0.Add(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			clock := newTestClock(t, t0)
			doc.keys = []issuer.KeyPair{key}
			_, err := New(context.Background(), Config{ID: "x", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: []byte(doc.xml()),
				Replay: newMemReplay(clock.Now), Now: clock.Now})
			if !errors.Is(err, ErrMetadataExpired) {
				t.Fatalf("New: %v, want ErrMetadataExpired", err)
			}
		})
	}
}

// While the IdP is down, a copy about to expire is retried before it
// expires; an expired one backs off like any failure.
func TestRetryBeforeExpiry(t *testing.T) {
	clock := newTestClock(t, t0)
	srv := newMDServer(t, mdDoc{keys: []issuer.KeyPair{newKey(t, "idp")}, validUntil: t0.Add(10 * time.Minute)}.xml())
	sp, _, _ := urlSP(t, srv.URL, clock, nil, nil)
	srv.setDown(true)
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 450 * time.Second}
	for i, w := range want {
		_ = sp.Refresh(context.Background())
		if d := sp.nextRefresh(); d != w {
			t.Fatalf("after failure %d: next refresh in %s, want %s", i+1, d, w)
		}
	}
	clock.Advance(10 * time.Minute)
	_ = sp.Refresh(context.Background())
	if d := sp.nextRefresh(); d != 16*time.Minute {
		t.Fatalf("expired copy after 6 failures: next refresh in %s, want 16m", d)
	}
}
