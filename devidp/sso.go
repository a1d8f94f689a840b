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
	"time"

	"github.com/crewjam/saml"
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
	pa := pendingAuthn{sp: sp.EntityID, requestID: req.ID, acs: sp.ACSURL, relayState: relay, expires: p.now().Add(10 * time.Minute)}
	if user, ok := p.sessionUser(r); ok {
		p.respond(w, pa, user)
		return
	}
	p.loginForm(w, http.StatusOK, p.park(pa), "")
}

func (p *IdP) serveIdPInitiated(w http.ResponseWriter, r *http.Request) {
	sp, ok := p.sps[r.URL.Query().Get("sp")]
	if !ok {
		p.page(w, http.StatusNotFound, "error", map[string]any{"Message": "There is no application with this name."})
		return
	}
	pa := pendingAuthn{sp: sp.EntityID, acs: sp.ACSURL, relayState: r.URL.Query().Get("RelayState"), expires: p.now().Add(10 * time.Minute)}
	if user, ok := p.sessionUser(r); ok {
		p.respond(w, pa, user)
		return
	}
	p.loginForm(w, http.StatusOK, p.park(pa), "")
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
		p.loginForm(w, http.StatusUnauthorized, key, "Wrong username or password.")
		return
	}
	sid := randomID(32)
	p.mu.Lock()
	p.sessions[sid] = ssoSession{user: u.Username, expires: p.now().Add(p.cfg.SessionLifetime)}
	delete(p.pending, key)
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil, MaxAge: int(p.cfg.SessionLifetime.Seconds())})
	p.log.Info("devidp: signed in", "username", u.Username)
	if !hasPending {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.respond(w, pa, u)
}

func (p *IdP) serveLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		p.mu.Lock()
		delete(p.sessions, c.Value)
		p.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *IdP) sessionUser(r *http.Request) (User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return User{}, false
	}
	p.mu.Lock()
	s, ok := p.sessions[c.Value]
	p.mu.Unlock()
	if !ok || p.now().After(s.expires) {
		return User{}, false
	}
	u, ok := p.users.get(s.user)
	return u, ok
}

func (p *IdP) serveApps(w http.ResponseWriter, r *http.Request) {
	u, ok := p.sessionUser(r)
	if !ok {
		p.loginForm(w, http.StatusOK, "", "")
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

// respond signs a Response for the pending sign-in and renders the page
// that posts it to the SP.
func (p *IdP) respond(w http.ResponseWriter, pa pendingAuthn, u User) {
	sp := p.sps[pa.sp]
	b64, err := p.response(sp, u, pa.requestID, p.now(), "", "", 0)
	if err != nil {
		p.log.Error("devidp: build response", "err", err)
		http.Error(w, "could not build the response", http.StatusInternalServerError)
		return
	}
	nonce := randomID(16)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+nonce+"'; form-action "+origin(sp.ACSURL)+"; base-uri 'none'; frame-ancestors 'none'")
	p.page(w, http.StatusOK, "post", map[string]any{"ACS": sp.ACSURL, "SAMLResponse": b64, "RelayState": pa.relayState, "Nonce": nonce})
}

func origin(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "'none'"
	}
	return pu.Scheme + "://" + pu.Host
}
