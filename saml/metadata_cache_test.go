package saml

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
)

// A broker that starts while the IdP's metadata URL is down signs people in
// with the stored copy, and says which copy it uses.
func TestStoredMetadataWhenURLDownAtStart(t *testing.T) {
	clock := newTestClock(t, t0)
	key := newKey(t, "idp")
	doc := mdDoc{keys: []issuer.KeyPair{key}, validUntil: t0.Add(24 * time.Hour)}.xml()
	srv := newMDServer(t, doc)
	cache := newMemCache()

	// A first run fetches the metadata and stores it.
	first, _, _ := urlSP(t, srv.URL, clock, cache, nil)
	if err := first.Ready(); err != nil {
		t.Fatal(err)
	}
	stored, source, fetched, err := cache.LoadMetadata(context.Background(), "okta")
	if err != nil || string(stored) != doc || source != srv.URL || !fetched.Equal(t0) {
		t.Fatalf("stored copy: %q from %q at %s, %v", stored, source, fetched, err)
	}

	// The IdP goes down; the broker restarts an hour later.
	srv.setDown(true)
	clock.Advance(time.Hour)
	sp, logs, ch := urlSP(t, srv.URL, clock, cache, nil)
	if err := sp.Ready(); err != nil {
		t.Fatalf("not ready with a stored copy: %v", err)
	}
	if err := signIn(t, sp, key, clock, "_a1"); err != nil {
		t.Fatalf("sign-in with the stored copy: %v", err)
	}
	if got := logs.lines("using the stored copy", "fetched=2026-11-22T10:00:00", "HTTP 503"); len(got) != 1 {
		t.Errorf("no log line says the stored copy (fetched %s) is in use:\n%s", t0, logs)
	}
	if len(ch.all()) != 0 {
		t.Errorf("the stored copy was reported as a change: %+v", ch.all())
	}
	// Failures are counted: Run retries soon, not after an hour.
	if d := sp.nextRefresh(); d != 30*time.Second {
		t.Errorf("next refresh in %s, want 30s", d)
	}

	// The IdP comes back: the fresh copy replaces the stored one.
	srv.setDown(false)
	clock.Advance(time.Minute)
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, fetched, _ := cache.LoadMetadata(context.Background(), "okta"); !fetched.Equal(clock.Now()) {
		t.Errorf("the fresh copy was not stored (stored copy fetched %s)", fetched)
	}
	if got := logs.lines("recovered after 1 failures"); len(got) != 1 {
		t.Errorf("no recovery line:\n%s", logs)
	}
}

// A stored copy is used only when it came from the configured URL and
// passes every check now: not expired, signed when a signature is required.
func TestStoredMetadataRefused(t *testing.T) {
	key, fed := newKey(t, "idp"), newKey(t, "federation")
	fresh := mdDoc{keys: []issuer.KeyPair{key}}.xml()
	cases := []struct {
		name    string
		xml     string
		source  string // default: the server's URL
		edit    func(*Config)
		wantLog string
	}{
		{"from another URL", fresh, "https://old-idp.example.com/metadata", nil, "came from another URL"},
		{"expired", mdDoc{keys: []issuer.KeyPair{key}, validUntil: t0.Add(-time.Minute)}.xml(), "", nil, "not usable"},
		{"unsigned, signature required", fresh, "", func(c *Config) { c.MetadataSigningCertificate = fed.Certificate }, "not usable"},
		{"not metadata", "<html>maintenance</html>", "", nil, "not usable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock(t, t0)
			srv := newMDServer(t, "")
			srv.setDown(true)
			cache := newMemCache()
			src := tc.source
			if src == "" {
				src = srv.URL
			}
			cache.put("okta", src, tc.xml, t0.Add(-time.Hour))
			sp, logs, _ := urlSP(t, srv.URL, clock, cache, tc.edit)
			if sp.Ready() == nil {
				t.Fatal("ready on a stored copy that must not be used")
			}
			if broker.ErrorReason(signIn(t, sp, key, clock, "_x")) != "metadata_unavailable" {
				t.Error("sign-in not refused as metadata_unavailable")
			}
			if len(logs.lines(tc.wantLog)) == 0 {
				t.Errorf("no log line with %q:\n%s", tc.wantLog, logs)
			}
		})
	}
}

// The signed stored copy is used when a signature is required.
func TestStoredSignedMetadata(t *testing.T) {
	clock := newTestClock(t, t0)
	key, fed := newKey(t, "idp"), newKey(t, "federation")
	srv := newMDServer(t, "")
	srv.setDown(true)
	cache := newMemCache()
	cache.put("okta", srv.URL, signMD(t, fed, mdDoc{keys: []issuer.KeyPair{key}, id: "_md1"}.xml(), crypto.SHA256), t0.Add(-time.Hour))
	sp, _, _ := urlSP(t, srv.URL, clock, cache, func(c *Config) { c.MetadataSigningCertificate = fed.Certificate })
	if err := sp.Ready(); err != nil {
		t.Fatal(err)
	}
	if err := signIn(t, sp, key, clock, "_s1"); err != nil {
		t.Fatal(err)
	}
}

// An unreadable store does not stop the broker: the URL is used, a failed
// save is logged.
func TestMetadataCacheFailing(t *testing.T) {
	clock := newTestClock(t, t0)
	key := newKey(t, "idp")
	srv := newMDServer(t, mdDoc{keys: []issuer.KeyPair{key}}.xml())
	cache := newMemCache()
	cache.fail = errors.New("database is locked")
	sp, logs, _ := urlSP(t, srv.URL, clock, cache, nil)
	if err := sp.Ready(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "could not store") {
		t.Errorf("failed save not logged:\n%s", logs)
	}
	srv.setDown(true)
	if err := sp.Refresh(context.Background()); err == nil {
		t.Fatal("refresh of a down server succeeded")
	}
	if err := sp.Ready(); err != nil {
		t.Fatalf("the copy in memory was dropped: %v", err)
	}
}
