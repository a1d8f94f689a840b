package config

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Secret is a reference to secret material: "env:NAME" reads an environment
// variable, "file:PATH" reads a file (relative to the config file), and
// anything else is the value itself (allowed for non-secret material such as
// certificates and file-free tests; `broker check` warns for keys).
type Secret string

// IsSet reports whether the reference is non-empty.
func (s Secret) IsSet() bool { return s != "" }

// Kind returns "env", "file" or "inline".
func (s Secret) Kind() string {
	switch {
	case strings.HasPrefix(string(s), "env:"):
		return "env"
	case strings.HasPrefix(string(s), "file:"):
		return "file"
	default:
		return "inline"
	}
}

// Resolve returns the secret's bytes. base is the directory relative file
// paths are resolved against. Errors name the reference, never the value.
func (s Secret) Resolve(base string) ([]byte, error) {
	switch s.Kind() {
	case "env":
		name := strings.TrimPrefix(string(s), "env:")
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return nil, fmt.Errorf("environment variable %s is not set", name)
		}
		return []byte(v), nil
	case "file":
		p := strings.TrimPrefix(string(s), "file:")
		if !filepath.IsAbs(p) && base != "" {
			p = filepath.Join(base, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return b, nil
	default:
		return []byte(s), nil
	}
}

// String hides inline values so a secret never lands in a log or a problem.
func (s Secret) String() string {
	if s.Kind() == "inline" && s != "" {
		return "(inline value)"
	}
	return string(s)
}

// DecodeKey decodes base64 key material (standard or URL alphabet, padding
// optional, surrounding whitespace ignored) of at least min bytes.
func DecodeKey(b []byte, min int) ([]byte, error) {
	s := string(bytes.TrimSpace(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) < min {
				return nil, fmt.Errorf("key is %d bytes, need at least %d", len(k), min)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("key is not base64")
}
