package sqlstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealer encrypts secrets at rest with AES-256-GCM. Ciphertext layout:
// version(1) | key id(8) | nonce(12) | sealed. The row's identity is the
// additional data, so a ciphertext copied to another row does not open.
type sealer struct {
	keys []sealKey // [0] encrypts, all decrypt
}

type sealKey struct {
	id   [8]byte
	aead cipher.AEAD
}

const sealVersion = 1

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
	out := make([]byte, 1+8+12, 1+8+12+len(plain)+16)
	out[0] = sealVersion
	copy(out[1:9], k.id[:])
	_, _ = rand.Read(out[9:21])
	return k.aead.Seal(out, out[9:21], plain, []byte(aad))
}

func (s *sealer) open(ct []byte, aad string) ([]byte, error) {
	if len(ct) < 1+8+12+16 || ct[0] != sealVersion {
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
