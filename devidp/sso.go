package devidp

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

const sessionCookie = "devidp_session"

// parseAuthnRequest reads a SAMLRequest from the HTTP-Redirect binding
// (deflated) or the HTTP-POST binding (plain base64) and checks it.
func (p *IdP) parseAuthnRequest(r *http.Request) (*saml.AuthnRequest, ServiceProvider, error) {
	var raw []byte
	if r.Method == http.MethodGet {
		b, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("SAMLRequest"))
		if err != nil {
			return nil, ServiceProvider{}, fmt.Errorf("SAMLRequest is not base64")
		}
		if raw, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 64<<10)); err != nil {
			return nil, ServiceProvider{}, fmt.Errorf("SAMLRequest is not deflated")
		}
	} else {
		b, err := base64.StdEncoding.DecodeString(r.PostFormValue("SAMLRequest"))
		if err != nil {
			return nil, ServiceProvider{}, fmt.Errorf("SAMLRequest is not base64")
		}
		raw = b
	}
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || bytes.Contains(raw, []byte("<!ENTITY")) {
		return nil, ServiceProvider{}, fmt.Errorf("SAMLRequest holds a DTD")
	}
	var req saml.AuthnRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		return nil, ServiceProvider{}, fmt.Errorf("SAMLRequest is not an AuthnRequest")
	}
	if req.ID == "" || req.Issuer == nil {
		return nil, ServiceProvider{}, fmt.Errorf("AuthnRequest without ID or Issuer")
	}
	sp, ok := p.sps[req.Issuer.Value]
	if !ok {
		return nil, ServiceProvider{}, fmt.Errorf("unknown service provider %q", req.Issuer.Value)
	}
	if req.AssertionConsumerServiceURL != "" && req.AssertionConsumerServiceURL != sp.ACSURL {
		return nil, ServiceProvider{}, fmt.Errorf("ACS URL %q is not the one registered for %s", req.AssertionConsumerServiceURL, sp.EntityID)
	}
	if d := p.now().Sub(req.IssueInstant); d > 5*time.Minute || d < -5*time.Minute {
		return nil, ServiceProvider{}, fmt.Errorf("AuthnRequest issued at %s is too old or in the future", req.IssueInstant)
	}
	return &req, sp, nil
}

func (p *IdP) serveSSO(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	req, sp, err := p.parseAuthnRequest(r)
	if err != nil {
		p.log.Warn("devidp: bad AuthnRequest", "err", err)
		p.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-in request cannot be used: " + err.Error()})
		return
	}
	relay := r.FormValue("RelayState")
	pa := pendingAuthn{sp: sp.EntityID, requestID: req.ID, acs: sp.ACSURL, relayState: relay, expires: p.now().Add(10 * time.Minute),
		force: req.ForceAuthn != nil && *req.ForceAuthn, mfa: asksSAMLMFA(req.RequestedAuthnContext)}
	p.authenticate(w, r, pa)
}

// asksMFA reports whether a RequestedAuthnContext names a multi-factor
// class: the IdP then asserts MobileTwoFactorContract or refuses.
func asksSAMLMFA(rac *saml.RequestedAuthnContext) bool {
	if rac == nil {
		return false
	}
	for _, c := range rac.AuthnContextClassRefs {
		if slices.Contains(broker.DefaultSAMLMFAValues, strings.TrimSpace(c)) {
			return true
		}
	}
	return false
}

// authenticate answers from the SSO session when it is enough (no
// ForceAuthn; a second factor when one is asked for), refuses with
// NoAuthnContext when the person has no second factor to give, and asks
// for the password (and OTP) otherwise.
func (p *IdP) authenticate(w http.ResponseWriter, r *http.Request, pa pendingAuthn) {
	if sid, s, u, ok := p.session(r); ok && !pa.force {
		switch {
		case !pa.mfa || s.mfa:
			p.respond(w, pa, u, sid)
			return
		case u.OTP == "":
			p.refuseNoAuthnContext(w, pa, u.Username)
			return
		}
	}
	p.loginForm(w, http.StatusOK, p.park(pa), "", pa.mfa)
}

func (p *IdP) serveIdPInitiated(w http.ResponseWriter, r *http.Request) {
	sp, ok := p.sps[r.URL.Query().Get("sp")]
	if !ok {
		p.page(w, http.StatusNotFound, "error", map[string]any{"Message": "There is no application with this name."})
		return
	}
	pa := pendingAuthn{sp: sp.EntityID, acs: sp.ACSURL, relayState: r.URL.Query().Get("RelayState"), expires: p.now().Add(10 * time.Minute)}
	p.authenticate(w, r, pa)
}

// park keeps a pending sign-in server-side under a random key.
func (p *IdP) park(pa pendingAuthn) string {
	key := randomID(16)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for k, v := range p.pending {
		if now.After(v.expires) {
			delete(p.pending, k)
		}
	}
	p.pending[key] = pa
	return key
}

func (p *IdP) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	key := r.PostFormValue("req")
	p.mu.Lock()
	pa, hasPending := p.pending[key]
	p.mu.Unlock()
	if key != "" && (!hasPending || p.now().After(pa.expires)) {
		p.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-in took too long or was already used. Go back to the application and start again."})
		return
	}
	u, ok := p.users.get(r.PostFormValue("username"))
	if !ok || !equal(u.Password, r.PostFormValue("password")) {
		p.log.Info("devidp: wrong username or password", "username", r.PostFormValue("username"))
		p.loginForm(w, http.StatusUnauthorized, key, "Wrong username or password.", pa.mfa)
		return
	}
	mfa := false
	if otp := strings.TrimSpace(r.PostFormValue("otp")); otp != "" {
		if u.OTP == "" || !equal(u.OTP, otp) {
			p.log.Info("devidp: wrong one-time code", "username", u.Username)
			p.loginForm(w, http.StatusUnauthorized, key, "Wrong one-time code.", pa.mfa)
			return
		}
		mfa = true
	}
	if hasPending && pa.mfa && !mfa {
		if u.OTP == "" {
			p.mu.Lock()
			delete(p.pending, key)
			p.mu.Unlock()
			p.refuseNoAuthnContext(w, pa, u.Username)
			return
		}
		p.loginForm(w, http.StatusUnauthorized, key, "This application asks for your one-time code too.", true)
		return
	}
	sid := p.signIn(w, r, u, mfa)
	p.mu.Lock()
	delete(p.pending, key)
	p.mu.Unlock()
	if !hasPending {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.respond(w, pa, u, sid)
}

// signIn records that u authenticated now (with the OTP when mfa): the
// browser's session when it is u's, renewed (the SPs it served keep
// their SessionIndex), else a new one. It returns the session id.
func (p *IdP) signIn(w http.ResponseWriter, r *http.Request, u User, mfa bool) string {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, err := r.Cookie(sessionCookie); err == nil {
		if s, ok := p.sessions[c.Value]; ok && s.user == u.Username && now.Before(s.expires) {
			s.authnInstant, s.mfa = now, mfa
			p.log.Info("devidp: signed in again", "username", u.Username, "mfa", mfa)
			return c.Value
		}
	}
	sid := randomID(32)
	p.sessions[sid] = &ssoSession{user: u.Username, expires: now.Add(p.cfg.SessionLifetime), index: "_" + randomID(16),
		authnInstant: now, mfa: mfa, sps: map[string]bool{}}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil, MaxAge: int(p.cfg.SessionLifetime.Seconds())})
	p.log.Info("devidp: signed in", "username", u.Username, "mfa", mfa)
	return sid
}

// session returns the browser's SSO session (a copy) and its person.
func (p *IdP) session(r *http.Request) (string, ssoSession, User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", ssoSession{}, User{}, false
	}
	p.mu.Lock()
	s, ok := p.sessions[c.Value]
	var cp ssoSession
	if ok {
		cp = *s
	}
	p.mu.Unlock()
	if !ok || p.now().After(cp.expires) {
		return "", ssoSession{}, User{}, false
	}
	u, ok := p.users.get(cp.user)
	return c.Value, cp, u, ok
}

func (p *IdP) sessionUser(r *http.Request) (User, bool) {
	_, _, u, ok := p.session(r)
	return u, ok
}

func (p *IdP) serveApps(w http.ResponseWriter, r *http.Request) {
	u, ok := p.sessionUser(r)
	if !ok {
		p.loginForm(w, http.StatusOK, "", "", false)
		return
	}
	var apps []map[string]string
	for _, sp := range p.cfg.ServiceProviders {
		label := sp.EntityID
		if sp.AWS {
			label += " (AWS app)"
		}
		apps = append(apps, map[string]string{"Label": label, "URL": "/saml/idp-initiated?sp=" + url.QueryEscape(sp.EntityID)})
	}
	p.page(w, http.StatusOK, "apps", map[string]any{"User": u.DisplayName, "Apps": apps})
}

// respond signs a Response for the pending sign-in in session sid
// (SessionIndex, AuthnInstant, and MobileTwoFactorContract when the OTP
// was entered), records the SP in the session for single logout, and
// renders the page that posts it to the SP.
func (p *IdP) respond(w http.ResponseWriter, pa pendingAuthn, u User, sid string) {
	sp := p.sps[pa.sp]
	p.mu.Lock()
	s, ok := p.sessions[sid]
	var au authn
	if ok {
		s.sps[sp.EntityID] = true
		au = authn{index: s.index, instant: s.authnInstant, class: ClassPassword}
		if s.mfa {
			au.class = ClassTwoFactor
		}
	}
	p.mu.Unlock()
	if !ok {
		p.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "Your session at the identity provider ended. Go back to the application and sign in again."})
		return
	}
	b64, err := p.response(sp, u, pa.requestID, p.now(), "", "", 0, au)
	if err != nil {
		p.log.Error("devidp: build response", "err", err)
		http.Error(w, "could not build the response", http.StatusInternalServerError)
		return
	}
	p.autoPost(w, sp.ACSURL, "SAMLResponse", b64, pa.relayState, "Signing you in…")
}

// refuseNoAuthnContext answers the SP with a Responder/NoAuthnContext
// Response: the person cannot give the second factor the SP asked for.
func (p *IdP) refuseNoAuthnContext(w http.ResponseWriter, pa pendingAuthn, username string) {
	sp := p.sps[pa.sp]
	p.log.Info("devidp: multi-factor sign-in asked for, and the person has no second factor", "username", username, "sp", sp.EntityID)
	b64, err := p.errorResponse(sp, pa.requestID, statusResponder, statusNoAuthnContext)
	if err != nil {
		p.log.Error("devidp: build response", "err", err)
		http.Error(w, "could not build the response", http.StatusInternalServerError)
		return
	}
	p.autoPost(w, sp.ACSURL, "SAMLResponse", b64, pa.relayState, "Your account has no second factor; returning to the application…")
}

// autoPost renders the page that POSTs a SAML message (field
// SAMLResponse or SAMLRequest) to action.
func (p *IdP) autoPost(w http.ResponseWriter, action, field, value, relayState, message string) {
	nonce := randomID(16)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+nonce+"'; form-action "+origin(action)+"; base-uri 'none'; frame-ancestors 'none'")
	p.page(w, http.StatusOK, "post", map[string]any{"ACS": action, "Field": field, "Value": value, "RelayState": relayState, "Nonce": nonce, "Message": message})
}

const (
	statusResponder      = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusNoAuthnContext = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
	statusSuccess        = "urn:oasis:names:tc:SAML:2.0:status:Success"
)

func origin(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "'none'"
	}
	return pu.Scheme + "://" + pu.Host
}
