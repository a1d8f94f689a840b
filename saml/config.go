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

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/metrics"
)

// ReplayCache remembers assertion IDs until they expire. Remember returns an
// error with broker.ErrorCode EREPLAY when key is already recorded and
// unexpired; any other error is a storage failure.
type ReplayCache interface {
	Remember(ctx context.Context, namespace, key string, expires time.Time) error
}

// MetadataCache keeps the last good copy of each IdP's metadata
// (store.Store). LoadMetadata returns an error with broker.ErrorCode
// ENOTFOUND when there is none.
type MetadataCache interface {
	SaveMetadata(ctx context.Context, provider, source string, xml []byte, fetched time.Time) error
	LoadMetadata(ctx context.Context, provider string) (xml []byte, source string, fetched time.Time, err error)
}

// Config configures one ServiceProvider (one upstream IdP).
type Config struct {
	ID          string // provider id: errors, logs, replay namespace "saml:"+ID
	EntityID    string // SP entity ID (default MetadataURL)
	MetadataURL string // where the SP metadata is served
	ACSURL      string // where responses are POSTed
	// SLOURL is the broker's Single Logout endpoint for this IdP
	// (EXTERNAL/saml/ID/slo): advertised in the SP metadata with the
	// HTTP-Redirect and HTTP-POST bindings, the Destination every incoming
	// logout message must name. Empty: no single logout (the metadata
	// advertises none and LogoutRequest refuses).
	SLOURL string

	// MFAValues are the AuthnContextClassRef values (and values of an
	// authentication-methods attribute) that count as a multi-factor
	// sign-in: Identity.MFA (default broker.DefaultSAMLMFAValues).
	MFAValues []string
	// MFARequest are the AuthnContextClassRefs the broker asks for when a
	// sign-in must be multi-factor (LoginOptions.AuthnContexts; read them
	// with MFARequest). Empty: the broker asks for no context.
	MFARequest []string

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
	MetadataRefresh time.Duration // default 1h; sooner when cacheDuration or validUntil ask

	// MetadataSigningCertificate, when set, must have signed the IdP
	// metadata (an enveloped XML-DSig over the root EntityDescriptor or
	// EntitiesDescriptor, SHA-256 and up); metadata it did not sign is
	// refused and the last good copy kept. Its key is pinned: the
	// certificate's dates are not checked (as Shibboleth does).
	MetadataSigningCertificate *x509.Certificate
	// MetadataCache keeps the last good copy of URL metadata, so a start
	// while the URL is down still signs people in (optional; store.Store).
	MetadataCache MetadataCache
	// OnMetadataChange, when set, is told when the IdP's metadata changes
	// (for the audit log). It is called from the refresh, synchronously.
	OnMetadataChange func(context.Context, MetadataChange)

	AllowIDPInitiated bool
	SignRequests      bool
	// Key and Certificate sign AuthnRequests and decrypt assertions; the
	// SP metadata advertises Certificate for encryption.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
	// PreviousKeys are retired SP keys that still decrypt, tried after Key,
	// so that the SP key can be rotated while IdPs still encrypt to the old
	// certificate. They are never advertised nor used to sign.
	PreviousKeys []*rsa.PrivateKey

	// EncryptionAlgorithms is the allow-list of XML Encryption algorithms,
	// key transport and content encryption alike (default
	// DefaultEncryptionAlgorithms: RSA-OAEP and AES-GCM). AES-CBC, when
	// listed, is accepted only in a Response whose signature is verified
	// before decryption; RSA-1.5 never.
	EncryptionAlgorithms []string
	// RequireEncryption refuses a plaintext assertion (needs Key).
	RequireEncryption bool

	// ClockSkew is the tolerated difference with the IdP's clock: every
	// validity time gets this leeway, and the Response's and Assertion's
	// IssueInstant may be at most this far in the past (the skew covers the
	// time in transit too) or in the future. Default 90s, at most 180s.
	ClockSkew           time.Duration
	SignatureAlgorithms []string // allow-list; default RSA/ECDSA with SHA-256, -384, -512
	DigestAlgorithms    []string // allow-list; default SHA-256, -384, -512
	MaxResponseBytes    int      // decoded XML; default 256 KiB
	// NameIDFormat is asked for in AuthnRequests and advertised in the SP
	// metadata: default NameIDPersistent; NameIDUnspecified leaves the
	// choice to the IdP (the AuthnRequest then names no format).
	NameIDFormat string

	Replay     ReplayCache
	HTTPClient *http.Client
	// Metrics records, for URL metadata, when the copy in use was fetched
	// and each failed refresh (nil: not recorded).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
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

// NameID formats.
const (
	NameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
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
	urls := map[string]string{"ACSURL": c.ACSURL, "MetadataURL": c.MetadataURL}
	if c.SLOURL != "" {
		urls["SLOURL"] = c.SLOURL
	}
	for name, v := range urls {
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
	if err := c.encryptionDefaults(); err != nil {
		return err
	}
	if len(c.MFAValues) == 0 {
		c.MFAValues = broker.DefaultSAMLMFAValues
	}
	if c.NameIDFormat == "" {
		c.NameIDFormat = NameIDPersistent
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
