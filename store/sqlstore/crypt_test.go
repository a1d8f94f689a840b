package sqlstore

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"fmt"
	"io"
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

// Sealed values are raw DEFLATE (RFC 1951) whoever wrote them: what the
// store compresses inflates with the standard library's reader, and what
// earlier versions compressed with the standard library's writer (at
// BestSpeed and at any other level) still opens. A corrupt stream is
// refused, and the pooled reader that met it reads the next value right.
func TestSealDeflateInterop(t *testing.T) {
	s, err := newSealer([][]byte{key(1)})
	if err != nil {
		t.Fatal(err)
	}
	var plain []byte
	for i := range 200 {
		plain = append(plain, fmt.Sprintf(`{"n":%d,"groups":["team-%02d-engineering","dev"],"email":"user%d@example.com"},`, i, i%17, i)...)
	}
	z := compress(plain)
	if z == nil || len(z) >= len(plain)/2 {
		t.Fatalf("compress: %d bytes from %d", len(z), len(plain))
	}
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("standard library inflate of compress: %d bytes, %v", len(got), err)
	}
	for _, level := range []int{flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly} {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, level)
		w.Write(plain)
		w.Close()
		if got, err := inflate(b.Bytes()); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("level %d: inflate of the standard library's DEFLATE: %d bytes, %v", level, len(got), err)
		}
		// The same through a sealed value as an earlier version wrote it.
		k := s.keys[0]
		ct := []byte{sealVersionCompressed}
		ct = append(ct, k.id[:]...)
		nonce := make([]byte, 12)
		rand.Read(nonce)
		ct = k.aead.Seal(append(ct, nonce...), nonce, b.Bytes(), []byte("row"))
		if got, err := s.open(ct, "row"); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("level %d: open of an earlier version's sealed value: %d bytes, %v", level, len(got), err)
		}
	}
	for range 3 { // the pool hands back the reader that met the bad stream
		bad := append([]byte(nil), z...)
		bad[len(bad)/2] ^= 0xff
		bad = bad[:len(bad)*3/4]
		if got, err := inflate(bad); err == nil && bytes.Equal(got, plain) {
			t.Fatal("a corrupt stream inflated to the original")
		} else if err == nil {
			t.Fatalf("a truncated stream inflated without error (%d bytes)", len(got))
		}
		if got, err := inflate(z); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("after a corrupt stream: %d bytes, %v", len(got), err)
		}
	}
}
