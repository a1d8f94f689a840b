package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// testShortLinks: a short link round-trips with every field, is replaced
// by name (who and when updated), listed by name, deleted once; unknown
// names are ENOTFOUND and a link without a name or role is EINVALID.
// Short links do not move the rules' revision.
func testShortLinks(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	rev0, _ := s.RulesRevision(ctx)
	if l, err := s.ShortLinks(ctx); err != nil || len(l) != 0 {
		t.Fatalf("empty store: %v %v", l, err)
	}
	_, err := s.ShortLink(ctx, "prod")
	wantCode(t, err, broker.ENOTFOUND)

	prod := &store.ShortLink{Name: "prod", Account: "production", Role: "Admin", Destination: "https://console.aws.amazon.com/s3/home",
		Region: "eu-west-1", Via: "saml", Description: "Production admin"}
	if err := s.PutShortLink(ctx, prod, "alice"); err != nil {
		t.Fatal(err)
	}
	if prod.UpdatedBy != "alice" || !prod.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("put did not stamp the link: %+v", prod)
	}
	got, err := s.ShortLink(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	if *got != *prod {
		t.Fatalf("round trip:\n got %+v\nwant %+v", *got, *prod)
	}

	clock.Advance(time.Minute)
	if err := s.PutShortLink(ctx, &store.ShortLink{Name: "dev", Account: "111122223333", Role: "ReadOnly"}, "bob"); err != nil {
		t.Fatal(err)
	}
	// Replace prod: fields left empty are empty afterwards, not kept.
	if err := s.PutShortLink(ctx, &store.ShortLink{Name: "prod", Role: "arn:aws:iam::444455556666:role/Admin"}, "bob"); err != nil {
		t.Fatal(err)
	}
	all, err := s.ShortLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Name != "dev" || all[1].Name != "prod" {
		t.Fatalf("list %+v, want dev then prod", all)
	}
	p := all[1]
	if p.Account != "" || p.Destination != "" || p.Region != "" || p.Via != "" || p.Description != "" ||
		p.Role != "arn:aws:iam::444455556666:role/Admin" || p.UpdatedBy != "bob" || !p.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("replaced link %+v", p)
	}

	wantCode(t, s.PutShortLink(ctx, &store.ShortLink{Role: "Admin"}, "bob"), broker.EINVALID)
	wantCode(t, s.PutShortLink(ctx, &store.ShortLink{Name: "x"}, "bob"), broker.EINVALID)

	if err := s.DeleteShortLink(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteShortLink(ctx, "prod"), broker.ENOTFOUND)
	_, err = s.ShortLink(ctx, "prod")
	wantCode(t, err, broker.ENOTFOUND)
	if all, _ := s.ShortLinks(ctx); len(all) != 1 || all[0].Name != "dev" {
		t.Fatalf("after delete %+v", all)
	}
	if rev, _ := s.RulesRevision(ctx); rev != rev0 {
		t.Fatalf("short links moved the rules' revision %d → %d", rev0, rev)
	}
}
