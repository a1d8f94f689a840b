package storetest

import (
	"bytes"
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

func newAppRequest(id string, clock *Clock) *store.AppAuthRequest {
	maxAge := 5 * time.Minute
	return &store.AppAuthRequest{
		ID: id, ClientID: "demo-app", RedirectURI: "https://app.example.com/cb", State: "st", Nonce: "n",
		Scopes: []string{"openid", "email"}, ResponseType: "code", CodeChallenge: "ch", CodeChallengeMethod: "S256",
		Prompt: []string{"login"}, MaxAge: &maxAge, LoginHint: "alice",
		CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(10 * time.Minute),
	}
}

// signIn completes r as alice and gives it a code.
func signIn(t *testing.T, s store.Store, clock *Clock, r *store.AppAuthRequest, codeHash string) {
	t.Helper()
	ctx := context.Background()
	r.Provider, r.Subject, r.Identity, r.AuthTime, r.AMR, r.Done = "okta", "alice", []byte(`{"email":"a@x"}`), clock.Now(), []string{"pwd"}, true
	if err := s.UpdateAppAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAppCode(ctx, r.ID, codeHash); err != nil {
		t.Fatal(err)
	}
}

func newAppToken(id, grant string, clock *Clock, ttl time.Duration) *store.AppToken {
	return &store.AppToken{ID: id, Grant: grant, ClientID: "demo-app", Provider: "okta", Subject: "alice",
		Scopes: []string{"openid", "offline_access"}, Identity: []byte(`{"email":"a@x"}`), AuthTime: clock.Now(), AMR: []string{"pwd"},
		CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(ttl)}
}

// testAppAuthRequests: an auth request round-trips every field, is
// completed by a sign-in, gets one code, is redeemed once, and expires.
func testAppAuthRequests(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	r := newAppRequest("ar1", clock)
	if err := s.CreateAppAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateAppAuthRequest(ctx, newAppRequest("ar1", clock)), broker.ECONFLICT)
	got, err := s.GetAppAuthRequest(ctx, "ar1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(got), normalize(r)) {
		t.Fatalf("got %+v\nwant %+v", got, r)
	}
	_, err = s.GetAppAuthRequest(ctx, "nope")
	wantCode(t, err, broker.ENOTFOUND)
	// No code before the sign-in is done.
	wantCode(t, s.SaveAppCode(ctx, "ar1", "h1"), broker.ENOTFOUND)

	signIn(t, s, clock, r, "h1")
	got, err = s.GetAppAuthRequest(ctx, "ar1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Done || got.Provider != "okta" || got.Subject != "alice" || !bytes.Equal(got.Identity, r.Identity) ||
		!got.AuthTime.Equal(clock.Now()) || !reflect.DeepEqual(got.AMR, []string{"pwd"}) || got.Nonce != "n" {
		t.Fatalf("after sign-in: %+v", got)
	}
	wantCode(t, s.SaveAppCode(ctx, "ar1", "h2"), broker.ECONFLICT)

	red, err := s.RedeemAppCode(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if red.ID != "ar1" || red.Subject != "alice" || red.CodeChallenge != "ch" {
		t.Fatalf("redeemed %+v", red)
	}
	// Redeemed: no longer readable, not deletable (kept to recognize a replay).
	_, err = s.GetAppAuthRequest(ctx, "ar1")
	wantCode(t, err, broker.ENOTFOUND)
	if err := s.DeleteAppAuthRequest(ctx, "ar1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.RedeemAppCode(ctx, "h1")
	wantCode(t, err, broker.EREPLAY)
	_, err = s.RedeemAppCode(ctx, "unknown")
	wantCode(t, err, broker.ENOTFOUND)

	// Deleted and expired requests are gone.
	r2 := newAppRequest("ar2", clock)
	if err := s.CreateAppAuthRequest(ctx, r2); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAppAuthRequest(ctx, "ar2"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAppAuthRequest(ctx, "ar2")
	wantCode(t, err, broker.ENOTFOUND)
	r3 := newAppRequest("ar3", clock)
	if err := s.CreateAppAuthRequest(ctx, r3); err != nil {
		t.Fatal(err)
	}
	signIn(t, s, clock, r3, "h3")
	clock.Advance(11 * time.Minute)
	_, err = s.GetAppAuthRequest(ctx, "ar3")
	wantCode(t, err, broker.ENOTFOUND)
	_, err = s.RedeemAppCode(ctx, "h3")
	wantCode(t, err, broker.ENOTFOUND)
	wantCode(t, s.UpdateAppAuthRequest(ctx, r3), broker.ENOTFOUND)
}

func normalize(r *store.AppAuthRequest) store.AppAuthRequest {
	c := *r
	c.CreatedAt, c.ExpiresAt, c.AuthTime = c.CreatedAt.UTC(), c.ExpiresAt.UTC(), c.AuthTime.UTC()
	return c
}

// testAppCodeReplay: of concurrent redemptions exactly one wins; a replayed
// code revokes the tokens its grant produced.
func testAppCodeReplay(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	r := newAppRequest("g1", clock)
	if err := s.CreateAppAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	signIn(t, s, clock, r, "code1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, replays := 0, 0
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RedeemAppCode(ctx, "code1")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if broker.ErrorCode(err) == broker.EREPLAY {
				replays++
			} else {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || replays != 4 {
		t.Fatalf("wins %d replays %d, want 1 and 4", wins, replays)
	}
	if err := s.CreateAppAccessToken(ctx, newAppToken("at1", "g1", clock, 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAppRefreshToken(ctx, newAppToken("rt1", "g1", clock, time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Another grant's tokens are not touched.
	if err := s.CreateAppAccessToken(ctx, newAppToken("other", "g2", clock, 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err := s.RedeemAppCode(ctx, "code1")
	wantCode(t, err, broker.EREPLAY)
	_, err = s.GetAppAccessToken(ctx, "at1")
	wantCode(t, err, broker.ENOTFOUND)
	_, err = s.GetAppRefreshToken(ctx, "rt1")
	wantCode(t, err, broker.ENOTFOUND)
	if _, err := s.GetAppAccessToken(ctx, "other"); err != nil {
		t.Fatalf("another grant's token: %v", err)
	}
}

// testAppRefreshRotation: a refresh token rotates once; presenting a rotated
// one (or rotating it again) revokes the whole grant, the newest token too.
func testAppRefreshRotation(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	rt1 := newAppToken("rt1", "g1", clock, time.Hour)
	if err := s.CreateAppRefreshToken(ctx, rt1); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateAppRefreshToken(ctx, newAppToken("rt1", "g1", clock, time.Hour)), broker.ECONFLICT)
	got, err := s.GetAppRefreshToken(ctx, "rt1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Grant != "g1" || got.ClientID != "demo-app" || got.Provider != "okta" || got.Subject != "alice" ||
		!reflect.DeepEqual(got.Scopes, rt1.Scopes) || !bytes.Equal(got.Identity, rt1.Identity) ||
		!got.AuthTime.Equal(rt1.AuthTime) || !got.ExpiresAt.Equal(rt1.ExpiresAt) || !reflect.DeepEqual(got.AMR, rt1.AMR) {
		t.Fatalf("got %+v", got)
	}
	// A different grant cannot be rotated into.
	wantCode(t, s.RotateAppRefreshToken(ctx, "rt1", newAppToken("bad", "g9", clock, time.Hour)), broker.EINVALID)
	if _, err := s.GetAppRefreshToken(ctx, "rt1"); err != nil {
		t.Fatalf("a refused rotation changed the token: %v", err)
	}

	if err := s.RotateAppRefreshToken(ctx, "rt1", newAppToken("rt2", "g1", clock, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAppAccessToken(ctx, newAppToken("at2", "g1", clock, 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAppRefreshToken(ctx, "rt2"); err != nil {
		t.Fatal(err)
	}
	// rt1 again: reuse. The grant is revoked: rt2 and at2 stop working.
	_, err = s.GetAppRefreshToken(ctx, "rt1")
	wantCode(t, err, broker.EREPLAY)
	_, err = s.GetAppRefreshToken(ctx, "rt2")
	wantCode(t, err, broker.ENOTFOUND)
	_, err = s.GetAppAccessToken(ctx, "at2")
	wantCode(t, err, broker.ENOTFOUND)
	wantCode(t, s.RotateAppRefreshToken(ctx, "rt2", newAppToken("rt3", "g1", clock, time.Hour)), broker.ENOTFOUND)

	// Two concurrent rotations of one token: one wins, the other is a reuse
	// that revokes the grant (the winner's new token included).
	if err := s.CreateAppRefreshToken(ctx, newAppToken("x1", "gx", clock, time.Hour)); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.RotateAppRefreshToken(ctx, "x1", newAppToken([]string{"xa", "xb"}[i], "gx", clock, time.Hour))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantCode(t, err, broker.EREPLAY)
		}
	}
	if ok != 1 {
		t.Fatalf("rotations: %v", errs)
	}
	for _, id := range []string{"xa", "xb"} {
		_, err := s.GetAppRefreshToken(ctx, id)
		wantCode(t, err, broker.ENOTFOUND)
	}

	// Expired tokens are not found and do not rotate.
	if err := s.CreateAppRefreshToken(ctx, newAppToken("e1", "ge", clock, time.Minute)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	_, err = s.GetAppRefreshToken(ctx, "e1")
	wantCode(t, err, broker.ENOTFOUND)
	wantCode(t, s.RotateAppRefreshToken(ctx, "e1", newAppToken("e2", "ge", clock, time.Hour)), broker.ENOTFOUND)
}

// testAppRevoke: one access token, a grant, a client's tokens for a person.
func testAppRevoke(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	at := newAppToken("at1", "g1", clock, 5*time.Minute)
	if err := s.CreateAppAccessToken(ctx, at); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateAppAccessToken(ctx, newAppToken("at1", "g1", clock, time.Minute)), broker.ECONFLICT)
	got, err := s.GetAppAccessToken(ctx, "at1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "alice" || got.Grant != "g1" || !reflect.DeepEqual(got.Scopes, at.Scopes) || !bytes.Equal(got.Identity, at.Identity) {
		t.Fatalf("got %+v", got)
	}
	if err := s.RevokeAppAccessToken(ctx, "at1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAppAccessToken(ctx, "at1")
	wantCode(t, err, broker.ENOTFOUND)
	if err := s.RevokeAppAccessToken(ctx, "missing"); err != nil {
		t.Fatal(err)
	}

	for _, tok := range []*store.AppToken{newAppToken("a2", "g2", clock, time.Minute), newAppToken("a3", "g3", clock, time.Minute)} {
		if err := s.CreateAppAccessToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAppRefreshToken(ctx, newAppToken("r2", "g2", clock, time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.RevokeAppGrant(ctx, "g2")
	if err != nil || n != 2 {
		t.Fatalf("RevokeAppGrant = %d, %v; want 2", n, err)
	}
	if _, err := s.GetAppAccessToken(ctx, "a3"); err != nil {
		t.Fatalf("another grant: %v", err)
	}
	bob := newAppToken("b1", "g4", clock, time.Minute)
	bob.Subject = "bob"
	if err := s.CreateAppAccessToken(ctx, bob); err != nil {
		t.Fatal(err)
	}
	n, err = s.RevokeAppTokens(ctx, "demo-app", "okta", "alice")
	if err != nil || n != 1 {
		t.Fatalf("RevokeAppTokens = %d, %v; want 1", n, err)
	}
	_, err = s.GetAppAccessToken(ctx, "a3")
	wantCode(t, err, broker.ENOTFOUND)
	if _, err := s.GetAppAccessToken(ctx, "b1"); err != nil {
		t.Fatalf("bob's token: %v", err)
	}
}

// testAppPurge: expired auth requests and tokens go; live ones stay.
func testAppPurge(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateAppAuthRequest(ctx, newAppRequest("old", clock)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAppAccessToken(ctx, newAppToken("old", "g", clock, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAppRefreshToken(ctx, newAppToken("old", "g", clock, time.Minute)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if err := s.CreateAppAccessToken(ctx, newAppToken("new", "g", clock, time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge(ctx, store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("purged %d rows, want 3", n)
	}
	if _, err := s.GetAppAccessToken(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	// The id is free again: the rows are gone, not just hidden.
	if err := s.CreateAppAuthRequest(ctx, newAppRequest("old", clock)); err != nil {
		t.Fatal(err)
	}
}
