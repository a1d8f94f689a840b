package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// testFavourites: pins are per person (provider and subject), listed
// oldest first, idempotent both ways, survive other people's changes;
// bad input is EINVALID favourite_invalid.
func testFavourites(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if got, err := s.Favourites(ctx, "okta", "alice"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no pins: %#v %v, want an empty list", got, err)
	}
	a := "arn:aws:iam::111122223333:role/Admin||"
	b := "arn:aws:iam::111122223333:role/ReadOnly|arn:aws:iam::111122223333:saml-provider/okta|"
	for _, k := range []string{b, a, b} { // b twice: no error, one pin
		if err := s.SetFavourite(ctx, "okta", "alice", k, true); err != nil {
			t.Fatalf("pin %q: %v", k, err)
		}
		clock.Advance(time.Second)
	}
	// Same subject at another provider, and another subject: separate.
	if err := s.SetFavourite(ctx, "entra", "alice", a, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFavourite(ctx, "okta", "bob", a, true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Favourites(ctx, "okta", "alice"); err != nil || !slices.Equal(got, []string{b, a}) {
		t.Fatalf("alice@okta pins %q %v, want [b a] (oldest first)", got, err)
	}
	if err := s.SetFavourite(ctx, "okta", "alice", b, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFavourite(ctx, "okta", "alice", b, false); err != nil {
		t.Fatalf("unpin twice: %v", err)
	}
	if got, _ := s.Favourites(ctx, "okta", "alice"); !slices.Equal(got, []string{a}) {
		t.Fatalf("after unpin %q", got)
	}
	if got, _ := s.Favourites(ctx, "entra", "alice"); !slices.Equal(got, []string{a}) {
		t.Fatalf("alice@entra %q", got)
	}
	if got, _ := s.Favourites(ctx, "okta", "bob"); !slices.Equal(got, []string{a}) {
		t.Fatalf("bob %q", got)
	}
	long := make([]byte, store.MaxFavouriteKey+1)
	for i := range long {
		long[i] = 'k'
	}
	for name, in := range map[string][3]string{
		"no provider": {"", "alice", a}, "no subject": {"okta", "", a}, "no key": {"okta", "alice", ""}, "long key": {"okta", "alice", string(long)},
	} {
		err := s.SetFavourite(ctx, in[0], in[1], in[2], true)
		wantCode(t, err, broker.EINVALID)
		if broker.ErrorReason(err) != "favourite_invalid" {
			t.Errorf("%s: reason %q", name, broker.ErrorReason(err))
		}
	}
}

// testFavouritesLimit: at most store.MaxFavourites pins per person, also
// when pins race; a pinned key may still be pinned again at the limit.
func testFavouritesLimit(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, store.MaxFavourites+10)
	for i := range store.MaxFavourites + 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.SetFavourite(ctx, "okta", "carol", fmt.Sprintf("arn:aws:iam::111122223333:role/R%03d||", i), true)
		}()
	}
	wg.Wait()
	close(errs)
	refused := 0
	for err := range errs {
		if err != nil {
			if broker.ErrorReason(err) != "too_many_favourites" {
				t.Fatalf("pin: %v", err)
			}
			refused++
		}
	}
	got, err := s.Favourites(ctx, "okta", "carol")
	if err != nil || len(got) != store.MaxFavourites {
		t.Fatalf("%d pins (%v), want %d", len(got), err, store.MaxFavourites)
	}
	if refused != 10 {
		t.Errorf("%d pins refused, want 10", refused)
	}
	if err := s.SetFavourite(ctx, "okta", "carol", got[0], true); err != nil {
		t.Errorf("re-pin at the limit: %v", err)
	}
	if err := s.SetFavourite(ctx, "okta", "carol", got[0], false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFavourite(ctx, "okta", "carol", "arn:aws:iam::111122223333:role/New||", true); err != nil {
		t.Errorf("pin after unpin at the limit: %v", err)
	}
}
