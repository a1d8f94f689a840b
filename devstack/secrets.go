package devstack

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/broker-dev/broker/issuer"
)

type secrets struct {
	Passwords map[string]string
	// OTPs are the demo second factors (keys/otp.json), by username.
	OTPs       map[string]string
	IdPKey     issuer.KeyPair
	IssuerKey  issuer.KeyPair
	OPKey      issuer.KeyPair
	OIDCSecret string
	// DemoAppSecret is the demo app's client secret at the broker's OP.
	DemoAppSecret string
}

// loadSecrets reads the dev keys and passwords from dir/keys, creating
// them on first start (files 0600 in a 0700 directory).
func loadSecrets(dir string) (*secrets, error) {
	kd := filepath.Join(dir, "keys")
	if err := os.MkdirAll(kd, 0o700); err != nil {
		return nil, err
	}
	for _, name := range []string{"session.key", "store.key"} {
		if err := ensureFile(filepath.Join(kd, name), func() ([]byte, error) {
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			return []byte(base64.StdEncoding.EncodeToString(b) + "\n"), nil
		}); err != nil {
			return nil, err
		}
	}
	s := &secrets{Passwords: map[string]string{}}
	var err error
	if s.IssuerKey, err = ensureKeyPair(kd, "issuer", "broker dev IdP"); err != nil {
		return nil, err
	}
	if s.IdPKey, err = ensureKeyPair(kd, "demo-idp", "demo IdP"); err != nil {
		return nil, err
	}
	if s.OPKey, err = ensureKeyPair(kd, "demo-op", "demo OP"); err != nil {
		return nil, err
	}
	secretFile := filepath.Join(kd, "oidc-client.secret")
	if err := ensureFile(secretFile, func() ([]byte, error) {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		return []byte(base64.RawURLEncoding.EncodeToString(b)), nil
	}); err != nil {
		return nil, err
	}
	sb, err := os.ReadFile(secretFile)
	if err != nil {
		return nil, err
	}
	s.OIDCSecret = strings.TrimSpace(string(sb))
	appSecretFile := filepath.Join(kd, "demo-app.secret")
	if err := ensureFile(appSecretFile, func() ([]byte, error) {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return []byte(base64.RawURLEncoding.EncodeToString(b)), nil
	}); err != nil {
		return nil, err
	}
	if sb, err = os.ReadFile(appSecretFile); err != nil {
		return nil, err
	}
	s.DemoAppSecret = strings.TrimSpace(string(sb))
	pwFile := filepath.Join(kd, "passwords.json")
	if err := ensureFile(pwFile, func() ([]byte, error) {
		pw := map[string]string{}
		for _, u := range demoUsers() {
			b := make([]byte, 9)
			_, _ = rand.Read(b)
			pw[u.Username] = base64.RawURLEncoding.EncodeToString(b)
		}
		return json.MarshalIndent(pw, "", "  ")
	}); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(pwFile)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s.Passwords); err != nil {
		return nil, fmt.Errorf("devstack: %s: %w", pwFile, err)
	}
	for _, u := range demoUsers() {
		if s.Passwords[u.Username] == "" {
			return nil, fmt.Errorf("devstack: %s has no password for %s (delete the file to regenerate)", pwFile, u.Username)
		}
	}
	// A one-time code per person with a second factor: six random digits,
	// fixed for this data directory (a demo stands in for an authenticator).
	otpFile := filepath.Join(kd, "otp.json")
	if err := ensureFile(otpFile, func() ([]byte, error) {
		otp := map[string]string{}
		for _, u := range demoUsers() {
			if u.SecondFactor {
				n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
				if err != nil {
					return nil, err
				}
				otp[u.Username] = fmt.Sprintf("%06d", n)
			}
		}
		return json.MarshalIndent(otp, "", "  ")
	}); err != nil {
		return nil, err
	}
	if b, err = os.ReadFile(otpFile); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s.OTPs); err != nil {
		return nil, fmt.Errorf("devstack: %s: %w", otpFile, err)
	}
	return s, nil
}

func ensureFile(path string, gen func() ([]byte, error)) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	b, err := gen()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func ensureKeyPair(dir, name, cn string) (issuer.KeyPair, error) {
	keyFile, certFile := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt")
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		kp, err := issuer.GenerateKeyPair(cn, 10*365*24*time.Hour, time.Now())
		if err != nil {
			return issuer.KeyPair{}, err
		}
		if err := os.WriteFile(certFile, kp.CertificatePEM(), 0o600); err != nil {
			return issuer.KeyPair{}, err
		}
		if err := os.WriteFile(keyFile, kp.KeyPEM(), 0o600); err != nil {
			return issuer.KeyPair{}, err
		}
		return kp, nil
	}
	return issuer.LoadKeyPair(keyFile, certFile)
}
