package config

import (
	"bytes"
	"fmt"
	"os"
)

// Checks of the secrets themselves, past their syntax: keys that are not
// random, one key doing two jobs, and secret files others can read.

// weakKey says why key is not random key material, or "" when it looks
// random: a byte or a short pattern repeated, or few distinct bytes for
// its length (under half of them). A random 32-byte key fails these with
// odds of about 3·10^-17 (fewer than 16 distinct bytes; a pattern: 2^-128).
func weakKey(key []byte) string {
	n := len(key)
	if p := period(key); p <= n/2 {
		if p == 1 {
			return fmt.Sprintf("every byte is 0x%02x", key[0])
		}
		return fmt.Sprintf("it is a %d-byte pattern repeated", p)
	}
	var seen [256]bool
	distinct := 0
	for _, b := range key {
		if !seen[b] {
			seen[b] = true
			distinct++
		}
	}
	if want := min(n/2, 128); distinct < want {
		return fmt.Sprintf("it has only %d different byte values in %d bytes", distinct, n)
	}
	return ""
}

// period is the length of the shortest block key repeats (len(key) when
// it repeats none).
func period(key []byte) int {
	for p := 1; p < len(key); p++ {
		if bytes.Equal(key[p:], key[:len(key)-p]) {
			return p
		}
	}
	return len(key)
}

// usedKey resolves and decodes a key the way the broker uses it (the
// first size bytes); nil when it does not resolve or decode (checkKey
// reports that).
func (c *Config) usedKey(s Secret, size int) []byte {
	b, err := s.Resolve(c.Dir())
	if err != nil {
		return nil
	}
	k, err := DecodeKey(b, size)
	if err != nil {
		return nil
	}
	return k[:size]
}

// validateKeyReuse refuses a store encryption key that is also a
// session (cookie) key: a leak of one must not open the other.
func (c *Config) validateKeyReuse(p *problems) {
	for j, sk := range c.Store.EncryptionKeys {
		k := c.usedKey(sk, 32)
		if k == nil {
			continue
		}
		for i, ck := range c.Server.SessionKeys {
			if bytes.Equal(k, c.usedKey(ck, 32)) {
				p.add(fmt.Sprintf("store.encryption_keys[%d]", j), "is the same key as server.session_keys[%d]: the key that encrypts the store and the cookie key must differ (generate each with `openssl rand -base64 32`)", i)
			}
		}
	}
}

// secretFile is a file that holds a secret, and where the config names it.
type secretFile struct{ at, file string }

// secretFiles lists the config's secrets that are files, in file order:
// file: references to keys, secrets and the store's DSN, and the TLS key
// (certificates and previous public keys are not secret).
func (c *Config) secretFiles() []secretFile {
	var out []secretFile
	add := func(at string, s Secret) {
		if s.Kind() == "file" {
			out = append(out, secretFile{at, c.resolvePath(string(s[len("file:"):]))})
		}
	}
	for i, k := range c.Server.SessionKeys {
		add(fmt.Sprintf("server.session_keys[%d]", i), k)
	}
	if c.Server.TLSKeyFile != "" {
		out = append(out, secretFile{"server.tls_key_file", c.resolvePath(c.Server.TLSKeyFile)})
	}
	add("store.dsn", c.Store.DSN)
	for i, k := range c.Store.EncryptionKeys {
		add(fmt.Sprintf("store.encryption_keys[%d]", i), k)
	}
	add("issuer.saml.key", c.Issuer.SAML.Key)
	add("issuer.oidc.key", c.Issuer.OIDC.Key)
	for i, pr := range c.Providers {
		add(fmt.Sprintf("providers[%d].sp_key", i), pr.SAML.SPKey)
		for j, pk := range pr.SAML.PreviousSPKeys {
			add(fmt.Sprintf("providers[%d].previous_sp_keys[%d].key", i, j), pk.Key)
		}
		add(fmt.Sprintf("providers[%d].client_secret", i), pr.OIDC.ClientSecret)
	}
	for i, a := range c.Apps.Clients {
		add(fmt.Sprintf("apps.clients[%d].secret", i), a.Secret)
	}
	return out
}

// warnReadableFiles warns about the config file and secret files that
// users other than the owner may read.
func (c *Config) warnReadableFiles(p *problems) {
	if c.path != "" {
		if who := readableBy(c.path); who != "" {
			p.warn("", "the config file is readable by %s; make it readable by the broker's user only (chmod 600 %s)", who, c.path)
		}
	}
	for _, f := range c.secretFiles() {
		if who := readableBy(f.file); who != "" {
			p.warn(f.at, "%s is readable by %s; make it readable by the broker's user only (chmod 600 %s)", f.file, who, f.file)
		}
	}
}

// readableBy says who besides the owner may read the file at path ("" for
// nobody, or when it cannot be read at all).
func readableBy(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	switch m := st.Mode().Perm(); {
	case m&0o044 == 0o044:
		return "its group and others"
	case m&0o040 != 0:
		return "its group"
	case m&0o004 != 0:
		return "others"
	}
	return ""
}
