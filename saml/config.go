package saml

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	dsig "github.com/russellhaering/goxmldsig"
)

// ReplayCache remembers assertion IDs until they expire. Remember returns an
// error with broker.ErrorCode EREPLAY when key is already recorded and
// unexpired; any other error is a storage failure.
type ReplayCache interface {
	Remember(ctx context.Context, namespace, key string, expires time.Time) error
}

// Config configures one ServiceProvider (one upstream IdP).
type Config struct {
	ID          string // provider id: errors, logs, replay namespace "saml:"+ID
	EntityID    string // SP entity ID (default MetadataURL)
	MetadataURL string // where the SP metadata is served
	ACSURL      string // where responses are POSTed

	// What the assertion must carry: default Audiences = [EntityID],
	// Recipients = [ACSURL]. A pass-through provider (the IdP's AWS app)
	// sets the AWS audiences and sign-in endpoints.
	Audiences  []string
	Recipients []string
	// PassThrough: the assertions are addressed to AWS and forwarded to
	// STS as received, so their AWS attributes (Role, RoleSessionName,
	// SessionDuration) are parsed as strictly as AWS will and a malformed
	// one refuses the sign-in. Otherwise the broker mints its own and a
	// malformed one is left out (and logged).
	PassThrough bool

	// IdP metadata: exactly one of URL, File, XML.
	IDPMetadataURL  string
	IDPMetadataFile string
	IDPMetadataXML  []byte
	MetadataRefresh time.Duration // default 1h

	AllowIDPInitiated bool
	SignRequests      bool
	// Key and Certificate sign AuthnRequests and decrypt assertions.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate

	// ClockSkew is the tolerated difference with the IdP's clock: every
	// validity time gets this leeway, and the Response's and Assertion's
	// IssueInstant may be at most this far in the past (the skew covers the
	// time in transit too) or in the future. Default 90s, at most 180s.
	ClockSkew           time.Duration
	SignatureAlgorithms []string // allow-list; default RSA/ECDSA with SHA-256, -384, -512
	DigestAlgorithms    []string // allow-list; default SHA-256, -384, -512
	MaxResponseBytes    int      // decoded XML; default 256 KiB
	NameIDFormat        string

	Replay     ReplayCache
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// MaxClockSkew is the largest ClockSkew accepted: crewjam/saml applies its
// own fixed 180 s tolerance to validity times (saml.MaxClockSkew), which a
// larger setting could not loosen.
const MaxClockSkew = 180 * time.Second

// DefaultSignatureAlgorithms and DefaultDigestAlgorithms: SHA-256 and up.
var (
	DefaultSignatureAlgorithms = []string{
		dsig.RSASHA256SignatureMethod, dsig.RSASHA384SignatureMethod, dsig.RSASHA512SignatureMethod,
		dsig.ECDSASHA256SignatureMethod, dsig.ECDSASHA384SignatureMethod, dsig.ECDSASHA512SignatureMethod,
	}
	DefaultDigestAlgorithms = []string{
		"http://www.w3.org/2001/04/xmlenc#sha256",
		"http://www.w3.org/2001/04/xmldsig-more#sha384",
		"http://www.w3.org/2001/04/xmlenc#sha512",
	}
)

// Algorithms that SHA-1 users may add explicitly (legacy IdPs).
const (
	RSASHA1    = dsig.RSASHA1SignatureMethod
	DigestSHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
)

func (c *Config) setDefaults() error {
	if c.ID == "" {
		return errors.New("saml: ID is required")
	}
	for name, v := range map[string]string{"ACSURL": c.ACSURL, "MetadataURL": c.MetadataURL} {
		if u, err := url.Parse(v); err != nil || u.Host == "" {
			return fmt.Errorf("saml: %s: %s must be an absolute URL", c.ID, name)
		}
	}
	if c.EntityID == "" {
		c.EntityID = c.MetadataURL
	}
	if len(c.Audiences) == 0 {
		c.Audiences = []string{c.EntityID}
	}
	if len(c.Recipients) == 0 {
		c.Recipients = []string{c.ACSURL}
	}
	n := 0
	for _, set := range []bool{c.IDPMetadataURL != "", c.IDPMetadataFile != "", len(c.IDPMetadataXML) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("saml: %s: set exactly one of IDPMetadataURL, IDPMetadataFile, IDPMetadataXML", c.ID)
	}
	if c.MetadataRefresh == 0 {
		c.MetadataRefresh = time.Hour
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 90 * time.Second
	}
	if c.ClockSkew < 0 || c.ClockSkew > MaxClockSkew {
		return fmt.Errorf("saml: %s: ClockSkew must be between 0 and %s", c.ID, MaxClockSkew)
	}
	if len(c.SignatureAlgorithms) == 0 {
		c.SignatureAlgorithms = DefaultSignatureAlgorithms
	}
	if len(c.DigestAlgorithms) == 0 {
		c.DigestAlgorithms = DefaultDigestAlgorithms
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = 256 << 10
	}
	if c.SignRequests && (c.Key == nil || c.Certificate == nil) {
		return fmt.Errorf("saml: %s: SignRequests needs Key and Certificate", c.ID)
	}
	if (c.Key == nil) != (c.Certificate == nil) {
		return fmt.Errorf("saml: %s: Key and Certificate go together", c.ID)
	}
	if c.Replay == nil {
		return fmt.Errorf("saml: %s: a ReplayCache is required", c.ID)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
