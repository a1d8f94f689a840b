package issuer

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

// SAMLConfig configures the broker's SAML IdP.
type SAMLConfig struct {
	EntityID          string    // e.g. https://broker.example.com/idp/saml/metadata
	SSOURL            string    // SingleSignOnService location advertised in metadata (IAM requires one)
	Signing           KeyPair   // current key (Key required)
	Previous          []KeyPair // certificates still published during a rotation
	AssertionLifetime time.Duration
	Now               func() time.Time
	Logger            *slog.Logger
}

// SAML mints signed SAML Responses for AWS.
type SAML struct {
	cfg    SAMLConfig
	now    func() time.Time
	signer *Signer
}

// Namespaces and fixed values of the documents this package writes.
const (
	nsProtocol      = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion     = "urn:oasis:names:tc:SAML:2.0:assertion"
	statusSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
	bearer          = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	nameIDPersist   = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	nameIDTransient = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	attrNameFormat  = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	authnPassword   = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	skew            = 60 * time.Second
)

// NewSAML validates cfg and returns the issuer.
func NewSAML(cfg SAMLConfig) (*SAML, error) {
	if cfg.EntityID == "" {
		return nil, errors.New("issuer: EntityID is required")
	}
	if cfg.Signing.Key == nil || cfg.Signing.Certificate == nil {
		return nil, errors.New("issuer: a signing key and certificate are required")
	}
	if cfg.AssertionLifetime == 0 {
		cfg.AssertionLifetime = 5 * time.Minute
	}
	if cfg.AssertionLifetime < time.Minute || cfg.AssertionLifetime > time.Hour {
		return nil, errors.New("issuer: AssertionLifetime must be between 1m and 1h")
	}
	if cfg.SSOURL == "" {
		cfg.SSOURL = strings.TrimSuffix(cfg.EntityID, "/metadata") + "/sso"
	}
	signer, err := NewSigner(cfg.Signing)
	if err != nil {
		return nil, err
	}
	s := &SAML{cfg: cfg, now: cfg.Now, signer: signer}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Metadata returns the IdP EntityDescriptor to register as an IAM SAML
// provider: the signing certificates (current and previous), NameID
// formats, SingleSignOnService locations and validUntil
// (MetadataValidUntil).
func (s *SAML) Metadata() ([]byte, error) {
	var keys []saml.KeyDescriptor
	for _, kp := range append([]KeyPair{s.cfg.Signing}, s.cfg.Previous...) {
		if kp.Certificate == nil {
			continue
		}
		keys = append(keys, saml.KeyDescriptor{Use: "signing", KeyInfo: saml.KeyInfo{
			X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(kp.Certificate.Raw)}}},
		}})
	}
	ed := saml.EntityDescriptor{
		EntityID:   s.cfg.EntityID,
		ValidUntil: s.MetadataValidUntil(),
		IDPSSODescriptors: []saml.IDPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{
				RoleDescriptor: saml.RoleDescriptor{ProtocolSupportEnumeration: nsProtocol, KeyDescriptors: keys},
				NameIDFormats:  []saml.NameIDFormat{nameIDPersist, nameIDTransient},
			},
			WantAuthnRequestsSigned: new(bool),
			SingleSignOnServices: []saml.Endpoint{
				{Binding: saml.HTTPPostBinding, Location: s.cfg.SSOURL},
				{Binding: saml.HTTPRedirectBinding, Location: s.cfg.SSOURL},
			},
		}},
	}
	b, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("issuer: metadata: %w", err)
	}
	return append([]byte(xml.Header), b...), nil
}

// MetadataValidUntil is the validUntil of the IdP metadata: the current
// signing certificate's notAfter, the same in every copy served, so the
// broker knows the date IAM keeps. IAM records a provider's metadata
// validUntil as the provider's expiry: the metadata must be uploaded
// again before then (a new signing key needs that anyway).
func (s *SAML) MetadataValidUntil() time.Time {
	return s.cfg.Signing.Certificate.NotAfter.UTC()
}

// MetadataRenewal is how long before MetadataValidUntil the broker warns
// (readiness, logs, admin page) that the metadata registered in IAM must
// be uploaded again.
const MetadataRenewal = 30 * 24 * time.Hour

// MetadataExpiryWarning returns what to tell the operator when the IdP
// metadata's validUntil is within MetadataRenewal of now or has passed,
// and "" otherwise.
func (s *SAML) MetadataExpiryWarning(now time.Time) string {
	until := s.MetadataValidUntil()
	day := until.Format("2006-01-02")
	switch {
	case !now.Before(until):
		return "The broker's SAML IdP metadata expired on " + day + " (its validUntil, the signing certificate's end): IAM treats the SAML provider as expired. Renew the signing certificate, then upload the new metadata (broker idp-metadata) to every account's SAML provider."
	case until.Sub(now) <= MetadataRenewal:
		return "The broker's SAML IdP metadata expires on " + day + " (its validUntil, the signing certificate's end), which IAM records as the SAML provider's expiry. Renew the signing certificate and upload the new metadata (broker idp-metadata) to every account's SAML provider before then."
	}
	return ""
}

// SAMLRequest says what to put in one assertion.
type SAMLRequest struct {
	Subject           string
	SubjectFormat     string // default persistent
	Role              broker.RolePair
	RoleSessionName   string
	SessionDuration   time.Duration // optional, 900s..43200s
	Recipient         string        // default partition.Default().SAMLEndpoint()
	Audience          string        // default urn:amazon:webservices
	PrincipalTags     map[string]string
	TransitiveTagKeys []string
	SourceIdentity    string
	AuthnInstant      time.Time // default Now
}

// IssuedSAML is a minted Response.
type IssuedSAML struct {
	Base64       string // the whole signed Response, for SAMLAssertion
	AssertionID  string
	NotOnOrAfter time.Time
}

func invalid(reason, format string, args ...any) error {
	return broker.Errorf(broker.EINVALID, reason, "The broker could not build a sign-in for this role: "+format+". Contact your administrator.", args...)
}

// validate checks the request against AWS's rules before anything is signed.
func (r *SAMLRequest) validate() error {
	if r.Subject == "" || len(r.Subject) > 256 {
		return invalid("subject_invalid", "the subject is empty or longer than 256 characters")
	}
	if _, err := broker.ParseRolePair(r.Role.String()); err != nil {
		return invalid("role_invalid", "%v", err)
	}
	if !broker.RoleSessionNameRe.MatchString(r.RoleSessionName) {
		return invalid("session_name_invalid", "the session name %q is not 2..64 of A-Z a-z 0-9 _ + = , . @ -", r.RoleSessionName)
	}
	if d := r.SessionDuration; d != 0 && (d < 900*time.Second || d > 43200*time.Second) {
		return invalid("session_duration_invalid", "the session duration %s is outside 15m..12h", d)
	}
	if err := broker.ValidateSessionTags(r.PrincipalTags, r.TransitiveTagKeys); err != nil {
		return invalid("tag_limit", "%v", err)
	}
	if r.SourceIdentity != "" && !broker.RoleSessionNameRe.MatchString(r.SourceIdentity) {
		return invalid("source_identity_invalid", "the source identity %q is not 2..64 of A-Z a-z 0-9 _ + = , . @ -", r.SourceIdentity)
	}
	if !partition.IsSAMLEndpoint(r.Recipient) {
		return invalid("recipient_invalid", "%q is not an AWS SAML sign-in endpoint", r.Recipient)
	}
	return nil
}

func newID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return "_" + hex.EncodeToString(b)
}

func samlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
