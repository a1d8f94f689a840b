package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// testMetadata: the last good copy of an IdP's metadata per provider, the
// newest fetch wins, bytes kept exactly, and Purge leaves it alone.
func testMetadata(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	_, _, _, err := s.LoadMetadata(ctx, "okta")
	wantCode(t, err, broker.ENOTFOUND)

	const src = "https://idp.example.com/metadata"
	v1 := []byte("<EntityDescriptor entityID=\"a\">\r\n\t\xc3\xa9 v1</EntityDescriptor>")
	t1 := clock.Now()
	if err := s.SaveMetadata(ctx, "okta", src, v1, t1); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, "okta", v1, src, t1)

	// A newer fetch replaces it, from another source too (the URL changed).
	v2, t2 := []byte(`<EntityDescriptor entityID="a">v2</EntityDescriptor>`), t1.Add(time.Hour)
	if err := s.SaveMetadata(ctx, "okta", src+"?v=2", v2, t2); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, "okta", v2, src+"?v=2", t2)

	// An instance that fetched earlier and saves late does not overwrite it.
	if err := s.SaveMetadata(ctx, "okta", src, v1, t1.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, "okta", v2, src+"?v=2", t2)
	// The same fetch time saves (a refresh of an unchanged document).
	v3 := []byte(`<EntityDescriptor entityID="a">v3</EntityDescriptor>`)
	if err := s.SaveMetadata(ctx, "okta", src, v3, t2); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, "okta", v3, src, t2)

	// Providers are separate.
	if err := s.SaveMetadata(ctx, "entra", "https://login.example.net/md", v1, t1); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, "entra", v1, "https://login.example.net/md", t1)
	wantMetadata(t, s, "okta", v3, src, t2)

	for name, call := range map[string]func() error{
		"no provider": func() error { return s.SaveMetadata(ctx, "", src, v1, t1) },
		"empty xml":   func() error { return s.SaveMetadata(ctx, "x", src, nil, t1) },
	} {
		if broker.ErrorCode(call()) != broker.EINVALID {
			t.Errorf("%s: want EINVALID", name)
		}
	}

	// Metadata is not purged, however old: it is the fallback.
	clock.Advance(10 * 365 * 24 * time.Hour)
	if _, err := s.Purge(ctx, store.Retention{Audit: time.Hour, SignIns: time.Hour}); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, "okta", v3, src, t2)
}

func wantMetadata(t *testing.T, s store.Store, provider string, xml []byte, source string, fetched time.Time) {
	t.Helper()
	gotXML, gotSrc, gotAt, err := s.LoadMetadata(context.Background(), provider)
	if err != nil {
		t.Fatalf("LoadMetadata(%s): %v", provider, err)
	}
	if !bytes.Equal(gotXML, xml) || gotSrc != source || !gotAt.Equal(fetched) {
		t.Fatalf("LoadMetadata(%s) = %q from %q at %s, want %q from %q at %s", provider, gotXML, gotSrc, gotAt, xml, source, fetched)
	}
}
