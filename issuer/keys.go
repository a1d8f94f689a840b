package issuer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"
)

// KeyPair is an RSA signing key and its certificate. Key may be nil for a
// certificate that is only published (a previous key during rotation).
type KeyPair struct {
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
}

// MinRSABits is the smallest RSA key accepted.
const MinRSABits = 2048

// ParseKeyPair parses a PEM private key (PKCS#1 or PKCS#8, RSA of at least
// 2048 bits) and a PEM certificate whose public key must match it. Errors
// say which part is wrong and never include key material.
func ParseKeyPair(keyPEM, certPEM []byte) (KeyPair, error) {
	key, err := parseRSAKey(keyPEM)
	if err != nil {
		return KeyPair{}, err
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return KeyPair{}, err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return KeyPair{}, errors.New("issuer: the certificate's public key does not match the private key")
	}
	return KeyPair{Key: key, Certificate: cert}, nil
}

// LoadKeyPair reads and parses a key file and a certificate file.
func LoadKeyPair(keyFile, certFile string) (KeyPair, error) {
	k, err := os.ReadFile(keyFile)
	if err != nil {
		return KeyPair{}, fmt.Errorf("issuer: read key: %w", err)
	}
	c, err := os.ReadFile(certFile)
	if err != nil {
		return KeyPair{}, fmt.Errorf("issuer: read certificate: %w", err)
	}
	return ParseKeyPair(k, c)
}

func parseRSAKey(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("issuer: the key is not PEM")
	}
	var key *rsa.PrivateKey
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, errors.New("issuer: the key is not a valid PKCS#1 RSA key")
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, errors.New("issuer: the key is not a valid PKCS#8 key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("issuer: the key is %T; only RSA keys are supported for SAML signing", k)
		}
		key = rk
	default:
		return nil, fmt.Errorf("issuer: PEM block %q is not a private key", blk.Type)
	}
	if key.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("issuer: the RSA key has %d bits; at least %d are required", key.N.BitLen(), MinRSABits)
	}
	return key, nil
}

func parseCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("issuer: the certificate is not a PEM CERTIFICATE")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("issuer: parse certificate: %w", err)
	}
	return c, nil
}

// GenerateKeyPair creates an RSA 2048 key and a self-signed certificate
// valid from now for validFor (for `broker dev` and tests).
func GenerateKeyPair(commonName string, validFor time.Duration, now time.Time) (KeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, MinRSABits)
	if err != nil {
		return KeyPair{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return KeyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return KeyPair{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Key: key, Certificate: cert}, nil
}

// CertificatePEM encodes the certificate.
func (k KeyPair) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Certificate.Raw})
}

// KeyPEM encodes the private key (PKCS#8). Write it to a 0600 file only.
func (k KeyPair) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// ParseRSAKey parses a PEM RSA private key (PKCS#1 or PKCS#8) of at least
// 2048 bits.
func ParseRSAKey(keyPEM []byte) (*rsa.PrivateKey, error) { return parseRSAKey(keyPEM) }

// ParseRSAPublicKey reads an RSA public key from PEM: a PUBLIC KEY, a
// CERTIFICATE or a private key.
func ParseRSAPublicKey(b []byte) (*rsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("issuer: the key is not PEM")
	}
	switch blk.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("issuer: parse public key: %w", err)
		}
		pub, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("issuer: the public key is %T, not RSA", k)
		}
		return pub, nil
	case "CERTIFICATE":
		c, err := parseCert(b)
		if err != nil {
			return nil, err
		}
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("issuer: the certificate's key is not RSA")
		}
		return pub, nil
	}
	k, err := parseRSAKey(b)
	if err != nil {
		return nil, err
	}
	return &k.PublicKey, nil
}
