package saml

import (
	"context"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

// ServiceProvider is the SP for one upstream IdP. It is safe for
// concurrent use; metadata refreshes swap an immutable state.
type ServiceProvider struct {
	cfg      Config
	log      *slog.Logger
	acs      url.URL
	metadata url.URL
	slo      url.URL       // zero when SLOURL is not set
	state    metadataState // Load hides a copy past its validUntil
	lastErr  atomic.Pointer[error]
	refresh  refresher
	sigAlgs  map[string]bool
	digAlgs  map[string]bool
	recips   map[string]bool
	auds     map[string]bool
	// encPolicy is the encryption allow-list (encryption.go).
	encPolicy encryptionPolicy
	// certNow is when the IdP's signing certificate must be valid: cfg.Now
	// (tests of third-party fixtures signed with long-expired certificates
	// set it apart).
	certNow func() time.Time
	// crewjamOnly has every Response verified by crewjam's
	// ParseXMLResponse, the path before issue 15 (the differential test).
	crewjamOnly bool
	// goxmldsigOnly has the direct path verify every signature with
	// goxmldsig's Validate instead of verifyInTree (the differential test).
	goxmldsigOnly bool
	// inTree counts the signatures verifyInTree accepted (for the tests).
	inTree atomic.Int64
}

// spState is one version of the IdP metadata and the crewjam SP built on it.
type spState struct {
	md *saml.EntityDescriptor
	sp saml.ServiceProvider // template: copied per request, never mutated
	// certs are md's signing certificates, parsed once (direct.go); nil
	// when crewjam would refuse them.
	certs []*x509.Certificate
}

// New validates cfg and loads the IdP metadata. A file or inline metadata
// must load; a URL that cannot be fetched now leaves the SP not ready
// (Ready reports why) and Run keeps trying.
func New(ctx context.Context, cfg Config) (*ServiceProvider, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	sp := &ServiceProvider{cfg: cfg, log: cfg.Logger, sigAlgs: set(cfg.SignatureAlgorithms), digAlgs: set(cfg.DigestAlgorithms),
		recips: set(cfg.Recipients), auds: set(cfg.Audiences), certNow: cfg.Now}
	sp.state.now = cfg.Now
	sp.encPolicy, _ = newEncryptionPolicy(cfg.EncryptionAlgorithms) // checked by setDefaults
	acs, _ := url.Parse(cfg.ACSURL)
	mdu, _ := url.Parse(cfg.MetadataURL)
	sp.acs, sp.metadata = *acs, *mdu
	if cfg.SLOURL != "" {
		slo, _ := url.Parse(cfg.SLOURL) // checked by setDefaults
		sp.slo = *slo
	}
	if err := sp.Refresh(ctx); err != nil && cfg.IDPMetadataURL == "" {
		return nil, err
	}
	return sp, nil
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func (sp *ServiceProvider) install(md *saml.EntityDescriptor) {
	tmpl := saml.ServiceProvider{
		EntityID:          sp.cfg.EntityID,
		MetadataURL:       sp.metadata,
		AcsURL:            sp.acs,
		IDPMetadata:       md,
		HTTPClient:        sp.cfg.HTTPClient,
		AllowIDPInitiated: sp.cfg.AllowIDPInitiated,
		SignatureVerifier: verifier{sig: sp.sigAlgs, dig: sp.digAlgs, enc: sp.encPolicy, now: func() time.Time { return sp.certNow() }},
		// crewjam's own SHA-1 refusal, as a second lock behind the allow-lists.
		RejectSHA1Signatures: !allowsSHA1(sp.sigAlgs, sp.digAlgs),
		// Its own CBC refusal, as a second lock behind checkEncryption.
		RequireSignedResponseForCBC: true,
		ValidateAudienceRestriction: sp.checkAudience,
		AuthnNameIDFormat:           saml.NameIDFormat(sp.cfg.NameIDFormat),
		SloURL:                      sp.slo,
	}
	if sp.cfg.Key != nil {
		// Key decrypts first, then each retired key.
		tmpl.Key, tmpl.Certificate = sp.cfg.Key, sp.cfg.Certificate
		tmpl.DecryptionKeys = sp.cfg.PreviousKeys
		// Logout messages are signed whenever there is a key (slo.go).
		tmpl.LogoutSignatureMethod = dsig.RSASHA256SignatureMethod
	}
	if sp.cfg.SignRequests {
		tmpl.SignatureMethod = dsig.RSASHA256SignatureMethod
	}
	sp.state.Store(&spState{md: md, sp: tmpl, certs: signingCerts(md)})
}

// allowsSHA1 reports whether the allow-lists name a SHA-1 based algorithm.
func allowsSHA1(sig, dig map[string]bool) bool {
	for _, a := range []string{RSASHA1, dsig.ECDSASHA1SignatureMethod, DigestSHA1,
		"http://www.w3.org/2000/09/xmldsig#dsa-sha1", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"} {
		if sig[a] || dig[a] {
			return true
		}
	}
	return false
}

// Ready reports whether usable IdP metadata is loaded (not past its validUntil).
func (sp *ServiceProvider) Ready() error {
	if sp.state.Load() != nil {
		return nil
	}
	return sp.notReady()
}

// IDPEntityID returns the IdP's entity ID ("" before metadata loaded).
func (sp *ServiceProvider) IDPEntityID() string {
	if st := sp.state.Load(); st != nil {
		return st.md.EntityID
	}
	return ""
}

// Metadata returns the SP's EntityDescriptor, what the IdP reads: the
// entity ID, the ACS (HTTP-POST), the SingleLogoutService at SLOURL
// (HTTP-Redirect and HTTP-POST) when one is set, the NameID format,
// WantAssertionsSigned, and with a key: the certificate for encryption
// with the allowed EncryptionMethods, AES-GCM first (only the current
// certificate: PreviousKeys only decrypt), and for signing when
// AuthnRequests or logout messages are signed.
func (sp *ServiceProvider) Metadata() ([]byte, error) {
	tmpl := saml.ServiceProvider{EntityID: sp.cfg.EntityID, MetadataURL: sp.metadata, AcsURL: sp.acs, AuthnNameIDFormat: saml.NameIDFormat(sp.cfg.NameIDFormat),
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding}, Clock: dsig.NewFakeClockAt(sp.cfg.Now())}
	if sp.cfg.Key != nil {
		tmpl.Key, tmpl.Certificate = sp.cfg.Key, sp.cfg.Certificate
	}
	if sp.cfg.SignRequests {
		tmpl.SignatureMethod = dsig.RSASHA256SignatureMethod
	}
	if sp.cfg.SLOURL != "" {
		tmpl.SloURL = sp.slo
		tmpl.LogoutBindings = []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding}
		if sp.cfg.Key != nil {
			tmpl.LogoutSignatureMethod = dsig.RSASHA256SignatureMethod
		}
	}
	md := tmpl.Metadata()
	for i := range md.SPSSODescriptors {
		kds := md.SPSSODescriptors[i].KeyDescriptors
		for j := range kds {
			if kds[j].Use == "encryption" {
				kds[j].EncryptionMethods = sp.encPolicy.advertised()
			}
		}
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("saml: %s: metadata: %w", sp.cfg.ID, err)
	}
	return append([]byte(xml.Header), b...), nil
}

// LoginOptions shape an AuthnRequest.
type LoginOptions struct {
	// ForceAuthn asks the IdP to authenticate the person again, whatever
	// session it has (ForceAuthn="true").
	ForceAuthn bool
	// AuthnContexts, when set, become the RequestedAuthnContext
	// (Comparison "exact"): the IdP must authenticate the person with one
	// of these classes or answer NoAuthnContext. MFARequest gives the
	// provider's configured values.
	AuthnContexts []string
}

// MFARequest returns the AuthnContextClassRefs configured for a
// multi-factor sign-in (Config.MFARequest), nil when none are.
func (sp *ServiceProvider) MFARequest() []string {
	return append([]string(nil), sp.cfg.MFARequest...)
}

// LoginRedirect builds an SP-initiated AuthnRequest for the HTTP-Redirect
// binding (signed when SignRequests), with opts' ForceAuthn and
// RequestedAuthnContext. The caller keeps requestID to match the
// response's InResponseTo; relayState must be URL-safe.
func (sp *ServiceProvider) LoginRedirect(relayState string, opts LoginOptions) (redirectURL, requestID string, err error) {
	st := sp.state.Load()
	if st == nil {
		return "", "", broker.Wrap(sp.Ready(), broker.EUNAVAILABLE, "metadata_unavailable", "Sign-in with this identity provider is not available right now. Try again in a few minutes.")
	}
	if relayState != url.QueryEscape(relayState) {
		return "", "", fmt.Errorf("saml: relay state must be URL-safe")
	}
	tmpl := st.sp
	tmpl.Clock = dsig.NewFakeClockAt(sp.cfg.Now())
	if opts.ForceAuthn {
		force := true
		tmpl.ForceAuthn = &force
	}
	if len(opts.AuthnContexts) > 0 {
		tmpl.RequestedAuthnContext = &saml.RequestedAuthnContext{Comparison: "exact",
			AuthnContextClassRefs: append([]string(nil), opts.AuthnContexts...)}
	}
	dest := tmpl.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if dest == "" {
		return "", "", broker.Errorf(broker.EUNAVAILABLE, "no_redirect_binding", "This identity provider does not accept sign-in requests from the broker (no HTTP-Redirect endpoint in its metadata). Use its own portal to sign in.")
	}
	req, err := tmpl.MakeAuthenticationRequest(dest, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", "", fmt.Errorf("saml: %s: authn request: %w", sp.cfg.ID, err)
	}
	u, err := req.Redirect(relayState, &tmpl)
	if err != nil {
		return "", "", fmt.Errorf("saml: %s: authn request: %w", sp.cfg.ID, err)
	}
	return u.String(), req.ID, nil
}
