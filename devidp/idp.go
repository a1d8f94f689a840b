package devidp

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
)

// User is a demo person.
type User struct {
	Username    string
	Password    string
	Email       string
	DisplayName string
	Groups      []string
	AWSRoles    []broker.RolePair   // the Role attribute for AWS-shaped SPs
	Attributes  map[string][]string // sent as they are
	// OTP, when set, is the person's second factor: the login forms ask
	// for it, and a sign-in with it is asserted as multi-factor (SAML
	// AuthnContextClassRef, OIDC amr/acr).
	OTP string
}

// ServiceProvider is an SP this IdP knows.
type ServiceProvider struct {
	EntityID        string
	ACSURL          string
	AWS             bool          // AWS-shaped assertions (pass-through to STS)
	SessionDuration time.Duration // AWS only; 0 = no SessionDuration attribute
	// SLOURL is the SP's SingleLogoutService (HTTP-Redirect or HTTP-POST;
	// the IdP POSTs): where "sign out" sends a LogoutRequest and where a
	// LogoutResponse to the SP's own LogoutRequest goes. Empty: no single
	// logout with this SP.
	SLOURL string
	// Certificate, when set, must have signed the SP's logout messages
	// (LogoutRequest, LogoutResponse), which are then refused unsigned.
	// Nil: they are read without a signature check, as a demo IdP may.
	Certificate *x509.Certificate
}

// Config configures the IdP.
type Config struct {
	BaseURL string // e.g. http://127.0.0.1:8081; EntityID = BaseURL + "/saml/metadata"
	// EntityID, when set, replaces BaseURL + "/saml/metadata": a load
	// generator impersonating an IdP another SP already trusts.
	EntityID          string
	Users             []User
	ServiceProviders  []ServiceProvider
	Signing           *issuer.KeyPair // nil = generate one
	AssertionLifetime time.Duration   // default 5m
	SessionLifetime   time.Duration   // SSO session, default 8h
	Now               func() time.Time
	Logger            *slog.Logger
}

// IdP is the demo identity provider. It is an http.Handler.
type IdP struct {
	cfg      Config
	entityID string
	kp       issuer.KeyPair
	signer   *issuer.Signer
	users    *directory
	sps      map[string]ServiceProvider
	mux      *http.ServeMux
	pages    *template.Template
	log      *slog.Logger
	now      func() time.Time

	mu       sync.Mutex
	sessions map[string]*ssoSession
	pending  map[string]pendingAuthn
	logouts  map[string]*logoutChain // IdP-initiated single logouts under way, by RelayState
}

// ssoSession is a person's session at the IdP.
type ssoSession struct {
	user         string
	expires      time.Time
	index        string          // the SessionIndex asserted to SPs
	authnInstant time.Time       // when the person last entered their password
	mfa          bool            // they entered their OTP too
	sps          map[string]bool // SPs that received an assertion in this session
}

// pendingAuthn is a sign-in waiting for the login form.
type pendingAuthn struct {
	sp         string // SP entity ID
	requestID  string // "" for IdP-initiated
	acs        string
	relayState string
	expires    time.Time
	force      bool // ForceAuthn: the password again, whatever the session
	mfa        bool // the SP asked for a multi-factor AuthnContext
}

// New builds the IdP.
func New(cfg Config) (*IdP, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("devidp: BaseURL must be an absolute URL")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.AssertionLifetime == 0 {
		cfg.AssertionLifetime = 5 * time.Minute
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 8 * time.Hour
	}
	p := &IdP{cfg: cfg, entityID: cfg.EntityID, sps: map[string]ServiceProvider{},
		log: cfg.Logger, now: cfg.Now, sessions: map[string]*ssoSession{}, pending: map[string]pendingAuthn{}, logouts: map[string]*logoutChain{}}
	if p.entityID == "" {
		p.entityID = cfg.BaseURL + "/saml/metadata"
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if cfg.Signing != nil {
		p.kp = *cfg.Signing
	} else if p.kp, err = issuer.GenerateKeyPair("demo IdP", 365*24*time.Hour, p.now()); err != nil {
		return nil, err
	}
	if p.signer, err = issuer.NewSigner(p.kp); err != nil {
		return nil, err
	}
	if p.users, err = newDirectory(cfg.Users); err != nil {
		return nil, err
	}
	for _, sp := range cfg.ServiceProviders {
		if _, err := url.Parse(sp.ACSURL); err != nil || sp.EntityID == "" {
			return nil, fmt.Errorf("devidp: service provider %q needs an entity ID and an ACS URL", sp.EntityID)
		}
		if u, err := url.Parse(sp.SLOURL); sp.SLOURL != "" && (err != nil || u.Host == "") {
			return nil, fmt.Errorf("devidp: service provider %q: SLOURL must be an absolute URL", sp.EntityID)
		}
		p.sps[sp.EntityID] = sp
	}
	if p.pages, err = template.New("").Parse(pagesHTML); err != nil {
		return nil, err
	}
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET /saml/metadata", p.serveMetadata)
	p.mux.HandleFunc("/saml/sso", p.serveSSO)
	p.mux.HandleFunc("GET /saml/idp-initiated", p.serveIdPInitiated)
	p.mux.HandleFunc("POST /login", p.serveLogin)
	p.mux.HandleFunc("POST /logout", p.serveLogout)
	p.mux.HandleFunc("/saml/slo", p.serveSLO)
	p.mux.HandleFunc("GET /{$}", p.serveApps)
	return p, nil
}

// ServeHTTP implements http.Handler.
func (p *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveHardened(w, r, p.mux, 256<<10)
}

// serveHardened bounds the body and sets the headers every page of the
// demo IdP and OP carries, then serves r with h.
func serveHardened(w http.ResponseWriter, r *http.Request, h http.Handler, maxBody int64) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	h.ServeHTTP(w, r)
}

// EntityID is the IdP's entity ID.
func (p *IdP) EntityID() string { return p.entityID }

// Certificate is the IdP's signing certificate.
func (p *IdP) Certificate() *x509.Certificate { return p.kp.Certificate }

// Metadata returns the IdP's EntityDescriptor.
func (p *IdP) Metadata() []byte {
	cert := base64.StdEncoding.EncodeToString(p.kp.Certificate.Raw)
	sso, slo := p.cfg.BaseURL+"/saml/sso", p.cfg.BaseURL+"/saml/slo"
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + template.HTMLEscapeString(p.entityID) + `">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>` + cert + `</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + slo + `"/>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + slo + `"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + sso + `"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + sso + `"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`)
}

func (p *IdP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Write(p.Metadata())
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
