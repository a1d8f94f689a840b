package sqlstore

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
)

// Values of compressMin bytes or more that shrink are sealed compressed
// (version 2); shorter ones and those that do not shrink as before
// (version 1). Both open, with their row's AAD only.
func TestSealCompresses(t *testing.T) {
	s, err := newSealer([][]byte{key(1)})
	if err != nil {
		t.Fatal(err)
	}
	json := []byte(`{"identity":{"Attributes":{"groups":["dev","eng","ops"]},"Subject":"alice@example.com"}` + strings.Repeat(`,"x":"alice@example.com"`, 40) + `}`)
	random := make([]byte, 600)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		plain   []byte
		version byte
	}{{"short", []byte("tiny"), sealVersion}, {"json", json, sealVersionCompressed}, {"incompressible", random, sealVersion}} {
		ct := s.seal(tc.plain, "row")
		if ct[0] != tc.version {
			t.Errorf("%s: version %d, want %d", tc.name, ct[0], tc.version)
		}
		if tc.version == sealVersionCompressed && len(ct) >= len(tc.plain) {
			t.Errorf("%s: sealed %d bytes from %d", tc.name, len(ct), len(tc.plain))
		}
		if got, err := s.open(ct, "row"); err != nil || !bytes.Equal(got, tc.plain) {
			t.Errorf("%s: open = %q, %v", tc.name, got, err)
		}
		if _, err := s.open(ct, "other row"); err == nil {
			t.Errorf("%s: opened with another row's AAD", tc.name)
		}
		ct[len(ct)-1] ^= 1
		if _, err := s.open(ct, "row"); err == nil {
			t.Errorf("%s: tampered value opened", tc.name)
		}
	}
}
