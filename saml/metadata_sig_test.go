package saml

import (
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/issuer"
)

// With a metadata signing certificate, only metadata it signed (enveloped,
// over the root, SHA-256 and up) loads.
func TestMetadataSignature(t *testing.T) {
	key, fed, other := newKey(t, "idp"), newKey(t, "federation"), newKey(t, "attacker")
	evil := newKey(t, "attacker's idp")
	doc := mdDoc{keys: []issuer.KeyPair{key}, id: "_md1"}
	signed := signMD(t, fed, doc.xml(), crypto.SHA256)
	cases := []struct {
		name string
		xml  string
		want string // "" accepted; else a fragment of the error
	}{
		{"signed", signed, ""},
		{"signed, no ID (URI \"\")", signMD(t, fed, mdDoc{keys: []issuer.KeyPair{key}}.xml(), crypto.SHA256), ""},
		{"signed federation", signMD(t, fed, mdDoc{keys: []issuer.KeyPair{key}, entities: true, id: "_fed"}.xml(), crypto.SHA256), ""},
		{"unsigned", doc.xml(), "not signed"},
		{"signed by another key", signMD(t, other, doc.xml(), crypto.SHA256), "does not verify"},
		{"SHA-1", signMD(t, fed, doc.xml(), crypto.SHA1), "not allowed"},
		{"key swapped after signing", strings.Replace(signed, b64cert(key), b64cert(evil), 1), "does not verify"},
		{"SSO location changed after signing", strings.Replace(signed, "https://idp.example.com/sso", "https://evil.example.com/sso", 1), "does not verify"},
		{"signed entity wrapped in an unsigned federation", `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` +
			mdDoc{keys: []issuer.KeyPair{evil}}.xml() + strings.TrimPrefix(signed, `<?xml version="1.0" encoding="UTF-8"?>`) + `</EntitiesDescriptor>`, "not signed"},
		{"signature moved into a child", moveSignatureIntoChild(t, signed), "not signed"},
		{"two signatures", strings.Replace(signed, "<ds:Signature", sigOf(t, signed)+"<ds:Signature", 1), "2 signatures"},
		{"reference to another ID", strings.Replace(signed, `ID="_md1"`, `ID="_md2"`, 1), "references"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock(t, t0)
			sp, err := New(context.Background(), Config{ID: "x", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: []byte(tc.xml),
				MetadataSigningCertificate: fed.Certificate, Replay: newMemReplay(clock.Now), Now: clock.Now})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("signed metadata refused: %v", err)
				}
				if err := signIn(t, sp, key, clock, "_ok"); err != nil {
					t.Fatalf("sign-in: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	// Without a signing certificate, signed and unsigned metadata both load.
	for _, x := range []string{signed, doc.xml()} {
		clock := newTestClock(t, t0)
		if _, err := New(context.Background(), Config{ID: "x", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: []byte(x),
			Replay: newMemReplay(clock.Now), Now: clock.Now}); err != nil {
			t.Errorf("no signing certificate: %v", err)
		}
	}
}

// The signing certificate is a pinned key: an expired one still verifies.
func TestMetadataSigningCertificateDatesIgnored(t *testing.T) {
	clock := newTestClock(t, t0)
	key := newKey(t, "idp")
	old, err := issuer.GenerateKeyPair("federation 2019", time.Hour, t0.AddDate(-5, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	md := signMD(t, old, mdDoc{keys: []issuer.KeyPair{key}, id: "_a"}.xml(), crypto.SHA256)
	if _, err := New(context.Background(), Config{ID: "x", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: []byte(md),
		MetadataSigningCertificate: old.Certificate, Replay: newMemReplay(clock.Now), Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
}

// A refresh to metadata that does not verify is refused, the last good
// copy stays in use, and no change is reported.
func TestUnverifiedRefreshKeepsLastGoodCopy(t *testing.T) {
	clock := newTestClock(t, t0)
	key, fed, evil := newKey(t, "idp"), newKey(t, "federation"), newKey(t, "attacker")
	srv := newMDServer(t, signMD(t, fed, mdDoc{keys: []issuer.KeyPair{key}, id: "_1"}.xml(), crypto.SHA256))
	cache := newMemCache()
	sp, logs, ch := urlSP(t, srv.URL, clock, cache, func(c *Config) { c.MetadataSigningCertificate = fed.Certificate })
	if err := sp.Ready(); err != nil {
		t.Fatal(err)
	}
	_, _, storedAt, _ := cache.LoadMetadata(context.Background(), "okta")

	for name, body := range map[string]string{
		"unsigned, attacker's key":   mdDoc{keys: []issuer.KeyPair{evil}}.xml(),
		"signed by the attacker":     signMD(t, evil, mdDoc{keys: []issuer.KeyPair{evil}, id: "_2"}.xml(), crypto.SHA256),
		"federation key, SHA-1 only": signMD(t, fed, mdDoc{keys: []issuer.KeyPair{evil}, id: "_3"}.xml(), crypto.SHA1),
	} {
		srv.serve(body)
		clock.Advance(time.Minute)
		if err := sp.Refresh(context.Background()); err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if err := sp.Ready(); err != nil {
			t.Fatalf("%s: the last good copy was dropped: %v", name, err)
		}
		if err := signIn(t, sp, evil, clock, "_evil"+name[:3]); err == nil {
			t.Fatalf("%s: the attacker's key signs people in", name)
		}
		if err := signIn(t, sp, key, clock, "_good"+name[:3]); err != nil {
			t.Fatalf("%s: the IdP's key no longer works: %v", name, err)
		}
	}
	if len(ch.all()) != 0 {
		t.Errorf("refused metadata reported as a change: %+v", ch.all())
	}
	if _, _, at, _ := cache.LoadMetadata(context.Background(), "okta"); !at.Equal(storedAt) {
		t.Error("refused metadata replaced the stored copy")
	}
	if got := logs.lines("level=WARN", "keeping the last good copy", "metadata signature"); len(got) != 3 {
		t.Errorf("want 3 refusals logged:\n%s", logs)
	}
}

func TestVerifyMetadataSignatureErrors(t *testing.T) {
	fed := newKey(t, "federation")
	for name, x := range map[string]string{
		"not XML":         "<EntityDescriptor",
		"not metadata":    `<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>`,
		"wrong namespace": `<EntityDescriptor xmlns="urn:example"/>`,
	} {
		if _, err := verifyMetadataSignature([]byte(x), fed.Certificate); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	_, err := verifyMetadataSignature([]byte(mdDoc{keys: []issuer.KeyPair{fed}}.xml()), fed.Certificate)
	if !errors.Is(err, errMetadataUnsigned) {
		t.Errorf("unsigned: %v", err)
	}
}

func b64cert(kp issuer.KeyPair) string { return base64.StdEncoding.EncodeToString(kp.Certificate.Raw) }

// sigOf returns the ds:Signature element of a signed document.
func sigOf(t *testing.T, signed string) string {
	t.Helper()
	i, j := strings.Index(signed, "<ds:Signature"), strings.Index(signed, "</ds:Signature>")
	if i < 0 || j < 0 {
		t.Fatal("no signature")
	}
	return signed[i : j+len("</ds:Signature>")]
}

// moveSignatureIntoChild moves the root's signature into IDPSSODescriptor.
func moveSignatureIntoChild(t *testing.T, signed string) string {
	t.Helper()
	sig := sigOf(t, signed)
	s := strings.Replace(signed, sig, "", 1)
	return strings.Replace(s, `protocol">`, `protocol">`+sig, 1)
}
