package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

func wantReason(t *testing.T, err error, code, reason string) {
	t.Helper()
	if broker.ErrorCode(err) != code || broker.ErrorReason(err) != reason {
		t.Fatalf("error %v: code %q reason %q, want %q %q", err, broker.ErrorCode(err), broker.ErrorReason(err), code, reason)
	}
}

func mustAppClient(t *testing.T, s store.Store, id string) *store.AppClient {
	t.Helper()
	c, err := s.AppClient(context.Background(), id)
	if err != nil {
		t.Fatalf("AppClient(%q): %v", id, err)
	}
	return c
}

func sameAppClient(a, b *store.AppClient) bool {
	return a.ID == b.ID && bytes.Equal(a.Spec, b.Spec) && a.SecretHash == b.SecretHash && a.Version == b.Version &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.CreatedBy == b.CreatedBy && a.UpdatedBy == b.UpdatedBy
}

// appTokenFor is a token of client for provider/subject, live for ttl.
func appTokenFor(id, client, provider, subject string, clock *Clock, ttl time.Duration) *store.AppToken {
	tok := newAppToken(id, "grant-"+id, clock, ttl)
	tok.ClientID, tok.Provider, tok.Subject = client, provider, subject
	return tok
}

// testAppClients: an app round-trips exactly (spec bytes, secret hash,
// version 1, times from the clock, who created it), apps are listed by
// id, a second create of an id is ECONFLICT and changes nothing, unknown
// ids are ENOTFOUND, and an app without an id or spec is EINVALID.
func testAppClients(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if all, err := s.AppClients(ctx); err != nil || len(all) != 0 {
		t.Fatalf("empty store: %+v %v", all, err)
	}
	_, err := s.AppClient(ctx, "wiki")
	wantReason(t, err, broker.ENOTFOUND, "app_client_not_found")
	if msg := broker.ErrorMessage(err); !bytes.Contains([]byte(msg), []byte(`"wiki"`)) {
		t.Errorf("not-found message %q does not name the app", msg)
	}

	wiki := &store.AppClient{ID: "wiki", Spec: []byte("{\"redirect_uris\":[\"https://wiki.example.com/cb\"]}\x00\xff"), SecretHash: "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"}
	if err := s.CreateAppClient(ctx, wiki, "okta/alice"); err != nil {
		t.Fatal(err)
	}
	if wiki.Version != 1 || !wiki.CreatedAt.Equal(clock.Now()) || !wiki.UpdatedAt.Equal(clock.Now()) ||
		wiki.CreatedBy != "okta/alice" || wiki.UpdatedBy != "okta/alice" {
		t.Fatalf("create did not stamp the app: %+v", wiki)
	}
	if got := mustAppClient(t, s, "wiki"); !sameAppClient(got, wiki) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, wiki)
	}

	clock.Advance(time.Minute)
	grafana := &store.AppClient{ID: "grafana", Spec: []byte(`{"public":true}`)}
	if err := s.CreateAppClient(ctx, grafana, "okta/bob"); err != nil {
		t.Fatal(err)
	}
	dup := &store.AppClient{ID: "wiki", Spec: []byte(`{"other":1}`), SecretHash: "other"}
	err = s.CreateAppClient(ctx, dup, "okta/mallory")
	wantReason(t, err, broker.ECONFLICT, "app_client_exists")
	if dup.Version != 0 || dup.CreatedBy != "" {
		t.Errorf("a refused create stamped its app: %+v", dup)
	}
	if got := mustAppClient(t, s, "wiki"); !sameAppClient(got, wiki) {
		t.Fatalf("a refused create changed the app: %+v", got)
	}

	all, err := s.AppClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "grafana" || all[1].ID != "wiki" {
		t.Fatalf("list %+v, want grafana then wiki", all)
	}
	if !sameAppClient(&all[0], grafana) || !sameAppClient(&all[1], wiki) || all[0].SecretHash != "" {
		t.Fatalf("listed apps differ from the stored ones:\n%+v\n%+v", all[0], all[1])
	}

	for name, c := range map[string]*store.AppClient{
		"no id":    {Spec: []byte("{}")},
		"no spec":  {ID: "x"},
		"empty id": {ID: "", Spec: []byte("{}"), SecretHash: "h"},
	} {
		if err := s.CreateAppClient(ctx, c, "okta/alice"); broker.ErrorCode(err) != broker.EINVALID || broker.ErrorReason(err) != "app_client_invalid" {
			t.Errorf("create %s: %v, want EINVALID app_client_invalid", name, err)
		}
		upd := *c
		upd.Version = 1
		if err := s.UpdateAppClient(ctx, &upd, "okta/alice"); broker.ErrorCode(err) != broker.EINVALID || broker.ErrorReason(err) != "app_client_invalid" {
			t.Errorf("update %s: %v, want EINVALID app_client_invalid", name, err)
		}
	}
	// An empty spec on update would blank a stored app: refused.
	wantReason(t, s.UpdateAppClient(ctx, &store.AppClient{ID: "wiki", Version: 1}, "okta/alice"), broker.EINVALID, "app_client_invalid")
	if got := mustAppClient(t, s, "wiki"); !sameAppClient(got, wiki) {
		t.Fatalf("a refused update changed the app: %+v", got)
	}
}

// testAppClientVersions: an update replaces spec and secret hash, bumps
// the version and stamps who and when (creation untouched); an update
// naming a stale version is ECONFLICT and changes nothing; an update of
// an unknown app is ENOTFOUND.
func testAppClientVersions(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	created := clock.Now()
	c := &store.AppClient{ID: "wiki", Spec: []byte(`{"v":1}`), SecretHash: "hash-1"}
	if err := s.CreateAppClient(ctx, c, "okta/alice"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	// Both admins opened version 1; bob saves first and makes it public.
	bob := &store.AppClient{ID: "wiki", Spec: []byte(`{"v":2}`), SecretHash: "", Version: 1}
	if err := s.UpdateAppClient(ctx, bob, "okta/bob"); err != nil {
		t.Fatal(err)
	}
	if bob.Version != 2 || !bob.UpdatedAt.Equal(clock.Now()) || bob.UpdatedBy != "okta/bob" {
		t.Fatalf("update did not stamp the app: %+v", bob)
	}
	got := mustAppClient(t, s, "wiki")
	if string(got.Spec) != `{"v":2}` || got.SecretHash != "" || got.Version != 2 || !got.UpdatedAt.Equal(clock.Now()) ||
		got.UpdatedBy != "okta/bob" || !got.CreatedAt.Equal(created) || got.CreatedBy != "okta/alice" {
		t.Fatalf("after update: %+v", got)
	}

	clock.Advance(time.Minute)
	carol := &store.AppClient{ID: "wiki", Spec: []byte(`{"v":"carol"}`), SecretHash: "hash-carol", Version: 1}
	err := s.UpdateAppClient(ctx, carol, "okta/carol")
	wantReason(t, err, broker.ECONFLICT, "app_client_stale")
	if carol.Version != 1 || carol.UpdatedBy != "" {
		t.Errorf("a refused update stamped its app: %+v", carol)
	}
	if now := mustAppClient(t, s, "wiki"); !sameAppClient(now, got) {
		t.Fatalf("a stale update changed the app:\n got %+v\nwant %+v", now, got)
	}
	// A version ahead of the stored one is stale too, not a way around it.
	wantCode(t, s.UpdateAppClient(ctx, &store.AppClient{ID: "wiki", Spec: []byte("{}"), Version: 3}, "okta/carol"), broker.ECONFLICT)

	carol.Version = 2
	if err := s.UpdateAppClient(ctx, carol, "okta/carol"); err != nil {
		t.Fatalf("update at the current version: %v", err)
	}
	if got := mustAppClient(t, s, "wiki"); got.Version != 3 || string(got.Spec) != `{"v":"carol"}` || got.SecretHash != "hash-carol" {
		t.Fatalf("after the second update: %+v", got)
	}

	wantReason(t, s.UpdateAppClient(ctx, &store.AppClient{ID: "nope", Spec: []byte("{}"), Version: 1}, "okta/carol"), broker.ENOTFOUND, "app_client_not_found")
	if all, _ := s.AppClients(ctx); len(all) != 1 {
		t.Fatalf("an update of an unknown app created it: %+v", all)
	}
}

// testAppClientDelete: a delete naming a stale version is ECONFLICT and
// changes nothing; a delete at the current version (or 0, any) removes
// the app and, with it, every token issued to it and every consent to
// it, and its sign-ins in flight; other apps' tokens and consents stay.
func testAppClientDelete(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	for _, id := range []string{"wiki", "grafana"} {
		if err := s.CreateAppClient(ctx, &store.AppClient{ID: id, Spec: []byte(`{"app":"` + id + `"}`)}, "okta/admin"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateAppClient(ctx, &store.AppClient{ID: "wiki", Spec: []byte(`{"app":"wiki","v":2}`), Version: 1}, "okta/admin"); err != nil {
		t.Fatal(err)
	}
	access := []*store.AppToken{
		appTokenFor("wiki-alice", "wiki", "okta", "alice", clock, time.Hour),
		appTokenFor("wiki-bob", "wiki", "okta", "bob", clock, time.Hour),
		appTokenFor("grafana-alice", "grafana", "okta", "alice", clock, time.Hour),
	}
	refresh := []*store.AppToken{
		appTokenFor("wiki-alice-r", "wiki", "okta", "alice", clock, 24*time.Hour),
		appTokenFor("grafana-alice-r", "grafana", "okta", "alice", clock, 24*time.Hour),
	}
	for _, tok := range access {
		if err := s.CreateAppAccessToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range refresh {
		if err := s.CreateAppRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	consents := []store.AppConsent{
		{Provider: "okta", Subject: "alice", ClientID: "wiki", Scopes: []string{"profile"}},
		{Provider: "okta", Subject: "bob", ClientID: "wiki", Scopes: []string{"email"}},
		{Provider: "okta", Subject: "alice", ClientID: "grafana", Scopes: []string{"groups"}},
	}
	for i := range consents {
		if err := s.SaveAppConsent(ctx, &consents[i]); err != nil {
			t.Fatal(err)
		}
	}
	pending := newAppRequest("wiki-signin", clock)
	pending.ClientID = "wiki"
	if err := s.CreateAppAuthRequest(ctx, pending); err != nil {
		t.Fatal(err)
	}
	other := newAppRequest("grafana-signin", clock)
	other.ClientID = "grafana"
	if err := s.CreateAppAuthRequest(ctx, other); err != nil {
		t.Fatal(err)
	}
	live := func(what string, want bool) {
		t.Helper()
		for _, tok := range access {
			_, err := s.GetAppAccessToken(ctx, tok.ID)
			if got := err == nil; got != (want || tok.ClientID != "wiki") {
				t.Errorf("%s: access token %s live=%v (%v)", what, tok.ID, got, err)
			} else if err != nil {
				wantCode(t, err, broker.ENOTFOUND)
			}
		}
		for _, tok := range refresh {
			_, err := s.GetAppRefreshToken(ctx, tok.ID)
			if got := err == nil; got != (want || tok.ClientID != "wiki") {
				t.Errorf("%s: refresh token %s live=%v (%v)", what, tok.ID, got, err)
			} else if err != nil {
				wantCode(t, err, broker.ENOTFOUND)
			}
		}
		for _, c := range consents {
			_, err := s.GetAppConsent(ctx, c.Provider, c.Subject, c.ClientID)
			if got := err == nil; got != (want || c.ClientID != "wiki") {
				t.Errorf("%s: consent of %s to %s kept=%v (%v)", what, c.Subject, c.ClientID, got, err)
			}
		}
		for _, r := range []*store.AppAuthRequest{pending, other} {
			_, err := s.GetAppAuthRequest(ctx, r.ID)
			if got := err == nil; got != (want || r.ClientID != "wiki") {
				t.Errorf("%s: auth request %s kept=%v (%v)", what, r.ID, got, err)
			}
		}
	}

	wantReason(t, s.DeleteAppClient(ctx, "wiki", 1), broker.ECONFLICT, "app_client_stale")
	if got := mustAppClient(t, s, "wiki"); got.Version != 2 {
		t.Fatalf("after a stale delete: %+v", got)
	}
	live("after a stale delete", true)
	wantReason(t, s.DeleteAppClient(ctx, "nope", 0), broker.ENOTFOUND, "app_client_not_found")
	wantReason(t, s.DeleteAppClient(ctx, "nope", 1), broker.ENOTFOUND, "app_client_not_found")

	if err := s.DeleteAppClient(ctx, "wiki", 2); err != nil {
		t.Fatal(err)
	}
	_, err := s.AppClient(ctx, "wiki")
	wantCode(t, err, broker.ENOTFOUND)
	live("after the delete", false)
	wantReason(t, s.DeleteAppClient(ctx, "wiki", 0), broker.ENOTFOUND, "app_client_not_found")
	if all, err := s.AppClients(ctx); err != nil || len(all) != 1 || all[0].ID != "grafana" {
		t.Fatalf("after the delete: %+v %v", all, err)
	}

	// The id is free again; the new app starts at version 1.
	again := &store.AppClient{ID: "wiki", Spec: []byte(`{"app":"wiki","new":true}`)}
	if err := s.CreateAppClient(ctx, again, "okta/admin"); err != nil || again.Version != 1 {
		t.Fatalf("create after delete: %+v %v", again, err)
	}
	// Version 0 deletes whatever version is stored.
	if err := s.UpdateAppClient(ctx, &store.AppClient{ID: "grafana", Spec: []byte("{}"), Version: 1}, "okta/admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAppClient(ctx, "grafana", 0); err != nil {
		t.Fatalf("delete at any version: %v", err)
	}
	for _, id := range []string{"grafana-alice"} {
		_, err := s.GetAppAccessToken(ctx, id)
		wantCode(t, err, broker.ENOTFOUND)
	}
	if _, err := s.GetAppConsent(ctx, "okta", "alice", "grafana"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Errorf("grafana's consent after its delete: %v", err)
	}
}

// testAppClientConcurrentCreate: of concurrent creates of one id exactly
// one wins, the others get ECONFLICT, and the stored app is the winner's.
func testAppClientConcurrentCreate(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	const n = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	conflicts := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			actor := fmt.Sprintf("okta/admin%d", i)
			err := s.CreateAppClient(ctx, &store.AppClient{ID: "race", Spec: []byte(actor)}, actor)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, actor)
			case broker.ErrorCode(err) == broker.ECONFLICT && broker.ErrorReason(err) == "app_client_exists":
				conflicts++
			default:
				t.Errorf("concurrent create: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 || conflicts != n-1 {
		t.Fatalf("%d winners %v and %d conflicts, want exactly 1 and %d", len(winners), winners, conflicts, n-1)
	}
	got := mustAppClient(t, s, "race")
	if string(got.Spec) != winners[0] || got.CreatedBy != winners[0] || got.Version != 1 {
		t.Fatalf("stored %+v, want the winner %s's app", got, winners[0])
	}
	if all, _ := s.AppClients(ctx); len(all) != 1 {
		t.Fatalf("%d apps stored, want 1", len(all))
	}
}

// testRevokePersonAppTokens: every live token one person holds, whatever
// the app, is revoked and counted; expired and already revoked ones are
// not counted; other people's tokens (and the same subject at another
// provider) stay live.
func testRevokePersonAppTokens(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	mustAccess := func(tok *store.AppToken) {
		t.Helper()
		if err := s.CreateAppAccessToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	mustRefresh := func(tok *store.AppToken) {
		t.Helper()
		if err := s.CreateAppRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	mustAccess(appTokenFor("expired", "wiki", "okta", "alice", clock, time.Minute))
	clock.Advance(2 * time.Minute)
	mustAccess(appTokenFor("wiki-a", "wiki", "okta", "alice", clock, time.Hour))
	mustRefresh(appTokenFor("wiki-r", "wiki", "okta", "alice", clock, 24*time.Hour))
	mustAccess(appTokenFor("grafana-a", "grafana", "okta", "alice", clock, time.Hour))
	mustAccess(appTokenFor("revoked", "grafana", "okta", "alice", clock, time.Hour))
	if err := s.RevokeAppAccessToken(ctx, "revoked"); err != nil {
		t.Fatal(err)
	}
	mustAccess(appTokenFor("bob-a", "wiki", "okta", "bob", clock, time.Hour))
	mustRefresh(appTokenFor("bob-r", "grafana", "okta", "bob", clock, 24*time.Hour))
	mustAccess(appTokenFor("entra-alice", "wiki", "entra", "alice", clock, time.Hour))

	n, err := s.RevokePersonAppTokens(ctx, "okta", "alice")
	if err != nil || n != 3 {
		t.Fatalf("RevokePersonAppTokens = %d, %v; want the 3 live tokens", n, err)
	}
	for _, id := range []string{"wiki-a", "grafana-a"} {
		_, err := s.GetAppAccessToken(ctx, id)
		wantCode(t, err, broker.ENOTFOUND)
	}
	_, err = s.GetAppRefreshToken(ctx, "wiki-r")
	wantCode(t, err, broker.ENOTFOUND)
	for _, id := range []string{"bob-a", "entra-alice"} {
		if _, err := s.GetAppAccessToken(ctx, id); err != nil {
			t.Errorf("%s revoked with alice's: %v", id, err)
		}
	}
	if _, err := s.GetAppRefreshToken(ctx, "bob-r"); err != nil {
		t.Errorf("bob's refresh token revoked with alice's: %v", err)
	}
	if n, err := s.RevokePersonAppTokens(ctx, "okta", "alice"); err != nil || n != 0 {
		t.Fatalf("second RevokePersonAppTokens = %d, %v; want 0", n, err)
	}
}
