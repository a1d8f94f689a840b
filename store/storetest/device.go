package storetest

import (
	"bytes"
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

func newDevice(id string, clock *Clock) *store.DeviceAuthorization {
	return &store.DeviceAuthorization{ID: id, DeviceCodeHash: "dev-" + id, UserCodeHash: "user-" + id, ClientID: "broker-cli",
		Scopes: []string{"openid", "offline_access"}, Interval: 5 * time.Second, ExpiresAt: clock.Now().Add(10 * time.Minute)}
}

func createDevice(t *testing.T, s store.Store, clock *Clock, id string) *store.DeviceAuthorization {
	t.Helper()
	d := newDevice(id, clock)
	if err := s.CreateDeviceAuthorization(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

func decide(status, id string) *store.DeviceAuthorization {
	return &store.DeviceAuthorization{UserCodeHash: "user-" + id, Status: status, Provider: "okta", Subject: "alice",
		Identity: []byte(`{"email":"a@x"}`), AMR: []string{"pwd", "mfa"}, AuthTime: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
}

// testDeviceAuthorizations: a device authorization round-trips, is found
// by its user code while pending, is decided once, and gives its tokens'
// grant to one poll only; an unknown or expired one is not found.
func testDeviceAuthorizations(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	d := createDevice(t, s, clock, "d1")
	if d.Status != store.DevicePending || !d.CreatedAt.Equal(clock.Now()) {
		t.Fatalf("created %+v, want pending at the clock's now", d)
	}
	for name, dup := range map[string]*store.DeviceAuthorization{
		"id":          newDevice("d1", clock),
		"device code": {ID: "x1", DeviceCodeHash: "dev-d1", UserCodeHash: "u-x1", ExpiresAt: clock.Now().Add(time.Minute)},
		"user code":   {ID: "x2", DeviceCodeHash: "d-x2", UserCodeHash: "user-d1", ExpiresAt: clock.Now().Add(time.Minute)},
	} {
		if err := s.CreateDeviceAuthorization(ctx, dup); broker.ErrorCode(err) != broker.ECONFLICT {
			t.Errorf("duplicate %s: %v, want ECONFLICT", name, err)
		}
	}
	got, err := s.GetDeviceAuthorization(ctx, "user-d1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "d1" || got.ClientID != "broker-cli" || !reflect.DeepEqual(got.Scopes, d.Scopes) || got.Status != store.DevicePending ||
		got.Interval != 5*time.Second || !got.ExpiresAt.Equal(d.ExpiresAt) || got.DeviceCodeHash != "dev-d1" || got.Subject != "" {
		t.Fatalf("GetDeviceAuthorization = %+v", got)
	}
	_, err = s.GetDeviceAuthorization(ctx, "user-nope")
	wantCode(t, err, broker.ENOTFOUND)
	// Not approved yet: nothing to consume.
	_, err = s.ConsumeDeviceAuthorization(ctx, "dev-d1")
	wantCode(t, err, broker.ENOTFOUND)

	if err := s.DecideDeviceAuthorization(ctx, decide(store.DeviceApproved, "d1")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DecideDeviceAuthorization(ctx, decide(store.DeviceDenied, "d1")), broker.ENOTFOUND)
	_, err = s.GetDeviceAuthorization(ctx, "user-d1")
	wantCode(t, err, broker.ENOTFOUND) // no longer pending
	wantCode(t, s.DecideDeviceAuthorization(ctx, &store.DeviceAuthorization{UserCodeHash: "user-d1", Status: "maybe"}), broker.EINVALID)

	clock.Advance(5 * time.Second)
	p, err := s.PollDeviceAuthorization(ctx, "dev-d1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.DeviceApproved || p.SlowDown || p.Subject != "alice" || p.Provider != "okta" {
		t.Fatalf("poll after approval: %+v", p)
	}
	c, err := s.ConsumeDeviceAuthorization(ctx, "dev-d1")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "d1" || c.Status != store.DeviceConsumed || c.Subject != "alice" || !bytes.Equal(c.Identity, []byte(`{"email":"a@x"}`)) ||
		!reflect.DeepEqual(c.AMR, []string{"pwd", "mfa"}) || !c.AuthTime.Equal(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)) ||
		!reflect.DeepEqual(c.Scopes, d.Scopes) {
		t.Fatalf("consumed %+v", c)
	}
	_, err = s.PollDeviceAuthorization(ctx, "dev-nope")
	wantCode(t, err, broker.ENOTFOUND)

	// Denied: found by a poll as denied, never consumed.
	createDevice(t, s, clock, "d2")
	if err := s.DecideDeviceAuthorization(ctx, decide(store.DeviceDenied, "d2")); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PollDeviceAuthorization(ctx, "dev-d2"); err != nil || p.Status != store.DeviceDenied {
		t.Fatalf("poll of a denied one: %+v %v", p, err)
	}
	_, err = s.ConsumeDeviceAuthorization(ctx, "dev-d2")
	wantCode(t, err, broker.ENOTFOUND)

	// Expired: not found by its user code, cannot be decided or
	// consumed, but a poll still sees it (expired_token).
	createDevice(t, s, clock, "d3")
	clock.Advance(10 * time.Minute)
	_, err = s.GetDeviceAuthorization(ctx, "user-d3")
	wantCode(t, err, broker.ENOTFOUND)
	wantCode(t, s.DecideDeviceAuthorization(ctx, decide(store.DeviceApproved, "d3")), broker.ENOTFOUND)
	if p, err := s.PollDeviceAuthorization(ctx, "dev-d3"); err != nil || p.Status != store.DevicePending || clock.Now().Before(p.ExpiresAt) {
		t.Fatalf("poll of an expired one: %+v %v", p, err)
	}
}

// testDevicePolling: a poll sooner than the interval sets SlowDown and
// grows the interval by 5 s for every later poll; one on time does not.
func testDevicePolling(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	createDevice(t, s, clock, "p1")
	poll := func() *store.DeviceAuthorization {
		t.Helper()
		p, err := s.PollDeviceAuthorization(ctx, "dev-p1")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	clock.Advance(4 * time.Second) // the first poll counts from the creation
	if p := poll(); !p.SlowDown || p.Interval != 10*time.Second {
		t.Fatalf("too soon after creation: %+v, want slow_down and 10s", p)
	}
	clock.Advance(9 * time.Second)
	if p := poll(); !p.SlowDown || p.Interval != 15*time.Second {
		t.Fatalf("9s after a poll with a 10s interval: %+v, want slow_down and 15s", p)
	}
	clock.Advance(15 * time.Second)
	if p := poll(); p.SlowDown || p.Interval != 15*time.Second {
		t.Fatalf("on time: %+v, want no slow_down, interval kept", p)
	}
	// Approved: a poll gets the answer whatever the pace.
	if err := s.DecideDeviceAuthorization(ctx, decide(store.DeviceApproved, "p1")); err != nil {
		t.Fatal(err)
	}
	if p := poll(); p.SlowDown || p.Status != store.DeviceApproved {
		t.Fatalf("approved, polled at once: %+v", p)
	}
}

// testDeviceConsumeOnce: of concurrent consumptions exactly one wins; a
// replay revokes the tokens of its grant.
func testDeviceConsumeOnce(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	createDevice(t, s, clock, "c1")
	if err := s.DecideDeviceAuthorization(ctx, decide(store.DeviceApproved, "c1")); err != nil {
		t.Fatal(err)
	}
	var wins, replays atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ConsumeDeviceAuthorization(ctx, "dev-c1")
			switch broker.ErrorCode(err) {
			case "":
				wins.Add(1)
			case broker.EREPLAY:
				replays.Add(1)
			default:
				t.Errorf("Consume: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || replays.Load() != 7 {
		t.Fatalf("%d wins, %d replays; want 1 and 7", wins.Load(), replays.Load())
	}
	tok := newAppToken("at-c1", "c1", clock, time.Hour)
	if err := s.CreateAppAccessToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	_, err := s.ConsumeDeviceAuthorization(ctx, "dev-c1")
	wantCode(t, err, broker.EREPLAY)
	_, err = s.GetAppAccessToken(ctx, "at-c1")
	wantCode(t, err, broker.ENOTFOUND)
}

// testDeviceUserCodeFailures: wrong user codes count against every live
// pending authorization, which expires at the bound; decided ones are
// not touched.
func testDeviceUserCodeFailures(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	createDevice(t, s, clock, "f1")
	createDevice(t, s, clock, "f2")
	if err := s.DecideDeviceAuthorization(ctx, decide(store.DeviceApproved, "f2")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		if n, err := s.FailDeviceUserCode(ctx, 3); err != nil || n != 0 {
			t.Fatalf("wrong code %d: %d expired, %v", i, n, err)
		}
	}
	if d, err := s.GetDeviceAuthorization(ctx, "user-f1"); err != nil || d.Failures != 2 {
		t.Fatalf("after 2 wrong codes: %+v %v", d, err)
	}
	createDevice(t, s, clock, "f3") // starts counting now
	if n, err := s.FailDeviceUserCode(ctx, 3); err != nil || n != 1 {
		t.Fatalf("third wrong code: %d expired, %v; want f1 only", n, err)
	}
	_, err := s.GetDeviceAuthorization(ctx, "user-f1")
	wantCode(t, err, broker.ENOTFOUND)
	if p, err := s.PollDeviceAuthorization(ctx, "dev-f1"); err != nil || clock.Now().Before(p.ExpiresAt) {
		t.Fatalf("f1 after the bound: %+v %v, want expired", p, err)
	}
	if d, err := s.GetDeviceAuthorization(ctx, "user-f3"); err != nil || d.Failures != 1 {
		t.Fatalf("f3: %+v %v", d, err)
	}
	if _, err := s.ConsumeDeviceAuthorization(ctx, "dev-f2"); err != nil {
		t.Fatalf("an approved one was touched: %v", err)
	}
}

// testDevicePurge: expired device authorizations go, live ones stay.
func testDevicePurge(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	old := newDevice("old", clock)
	old.ExpiresAt = clock.Now().Add(time.Minute)
	if err := s.CreateDeviceAuthorization(ctx, old); err != nil {
		t.Fatal(err)
	}
	createDevice(t, s, clock, "live")
	clock.Advance(2 * time.Minute)
	n, err := s.Purge(ctx, store.Retention{})
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	_, err = s.PollDeviceAuthorization(ctx, "dev-old")
	wantCode(t, err, broker.ENOTFOUND)
	if _, err := s.GetDeviceAuthorization(ctx, "user-live"); err != nil {
		t.Fatalf("live one purged: %v", err)
	}
}
