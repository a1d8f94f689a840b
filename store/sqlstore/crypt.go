package sqlstore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	kflate "github.com/klauspost/compress/flate"
)

// sealer encrypts secrets at rest with AES-256-GCM. Ciphertext layout:
// version(1) | key id(8) | nonce(12) | sealed. The row's identity is the
// additional data, so a ciphertext copied to another row does not open.
// Version 2 seals the raw DEFLATE of the plaintext (values of at least
// compressMin bytes that shrink by it: a session's identity JSON halves);
// version 1, the plain text, is written otherwise and always read.
type sealer struct {
	keys []sealKey // [0] encrypts, all decrypt
}

type sealKey struct {
	id   [8]byte
	aead cipher.AEAD
}

const (
	sealVersion           = 1
	sealVersionCompressed = 2
	// compressMin is the smallest plaintext worth compressing.
	compressMin = 256
)

// compress returns the raw DEFLATE of plain, or nil when it does not shrink.
// klauspost's stateless encoder keeps no state between calls: the
// standard library's writer holds about 1 MB that a pool loses at each GC
// and that its Huffman pass walks for every value, small or not.
func compress(plain []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(plain))
	if err := kflate.StatelessDeflate(&b, plain, true, nil); err != nil || b.Len() >= len(plain) {
		return nil
	}
	return b.Bytes()
}

// maxInflated bounds what a compressed value may inflate to.
const maxInflated = 16 << 20

// inflaters are DEFLATE readers for reuse (each holds about 40 KB).
var inflaters sync.Pool

func inflate(z []byte) ([]byte, error) {
	r, _ := inflaters.Get().(io.ReadCloser)
	if r == nil {
		r = kflate.NewReader(bytes.NewReader(z))
	} else if err := r.(kflate.Resetter).Reset(bytes.NewReader(z), nil); err != nil {
		return nil, errDecrypt
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	inflaters.Put(r)
	if err != nil || len(out) > maxInflated {
		return nil, errDecrypt
	}
	return out, nil
}

var errDecrypt = errors.New("sqlstore: decrypt: no key opens this value (wrong or rotated-out encryption key, or tampered data)")

func newSealer(keys [][]byte) (*sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("sqlstore: at least one encryption key is required")
	}
	s := &sealer{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("sqlstore: encryption key %d is %d bytes, want 32", i, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		var sk sealKey
		sum := sha256.Sum256(append([]byte("broker store key id\x00"), k...))
		copy(sk.id[:], sum[:8])
		sk.aead = aead
		s.keys = append(s.keys, sk)
	}
	return s, nil
}

func (s *sealer) seal(plain []byte, aad string) []byte {
	k := s.keys[0]
	version := byte(sealVersion)
	if len(plain) >= compressMin {
		if z := compress(plain); z != nil {
			plain, version = z, sealVersionCompressed
		}
	}
	out := make([]byte, 1+8+12, 1+8+12+len(plain)+16)
	out[0] = version
	copy(out[1:9], k.id[:])
	_, _ = rand.Read(out[9:21])
	return k.aead.Seal(out, out[9:21], plain, []byte(aad))
}

func (s *sealer) open(ct []byte, aad string) ([]byte, error) {
	if len(ct) < 1+8+12+16 || (ct[0] != sealVersion && ct[0] != sealVersionCompressed) {
		return nil, errDecrypt
	}
	for _, k := range s.keys {
		if string(k.id[:]) != string(ct[1:9]) {
			continue
		}
		plain, err := k.aead.Open(nil, ct[9:21], ct[21:], []byte(aad))
		if err != nil {
			return nil, errDecrypt
		}
		if ct[0] == sealVersionCompressed {
			return inflate(plain)
		}
		return plain, nil
	}
	return nil, errDecrypt
}

// ParseKey decodes a 32-byte key written in base64 (standard or URL
// alphabet, padding optional).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != 32 {
				return nil, fmt.Errorf("sqlstore: key is %d bytes, want 32", len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("sqlstore: key is not base64")
}

// GenerateKey returns a new random 32-byte key.
func GenerateKey() ([]byte, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}
