package devidp

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// Single logout at /saml/slo (HTTP-Redirect and HTTP-POST):
//
//	SP-initiated: the SP's LogoutRequest (its signature checked when the
//	  SP's Certificate is configured) ends the SSO session it names; the
//	  LogoutResponse is POSTed to the SP's SLOURL. The IdP does not pass the
//	  logout on to the other SPs of the session.
//	IdP-initiated: "sign out" (POST /logout) ends the SSO session and
//	  POSTs a signed LogoutRequest to each SP that received an assertion in
//	  it and has an SLOURL, one after another, each LogoutResponse coming
//	  back to /saml/slo (RelayState names the chain), then "signed out".

const sloLifetime = 5 * time.Minute

// logoutChain is an IdP-initiated logout under way.
type logoutChain struct {
	user, index string    // NameID and SessionIndex the SPs were given
	queue       []string  // SPs still to sign out
	current     string    // the SP signed out now
	pending     string    // the ID of the LogoutRequest sent to current
	results     []sloDone // SPs done
	expires     time.Time
}

type sloDone struct{ SP, Result string }

func (p *IdP) serveLogout(w http.ResponseWriter, r *http.Request) {
	sid, s, _, ok := p.session(r)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.mu.Lock()
	delete(p.sessions, sid)
	p.mu.Unlock()
	var queue []string
	for e := range s.sps {
		if p.sps[e].SLOURL != "" {
			queue = append(queue, e)
		}
	}
	p.log.Info("devidp: signed out", "username", s.user, "sps", len(queue))
	if len(queue) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	sort.Strings(queue)
	key := p.startChain(&logoutChain{user: s.user, index: s.index, queue: queue})
	p.nextLogout(w, key)
}

// startChain keeps c under a random key, the RelayState of its messages.
func (p *IdP) startChain(c *logoutChain) string {
	key := randomID(16)
	c.expires = p.now().Add(10 * time.Minute)
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.logouts {
		if p.now().After(v.expires) {
			delete(p.logouts, k)
		}
	}
	p.logouts[key] = c
	return key
}

// nextLogout POSTs the chain's next LogoutRequest, or shows the end.
func (p *IdP) nextLogout(w http.ResponseWriter, key string) {
	p.mu.Lock()
	c, ok := p.logouts[key]
	if !ok {
		p.mu.Unlock()
		p.page(w, http.StatusOK, "signed-out", map[string]any{})
		return
	}
	if len(c.queue) == 0 {
		delete(p.logouts, key)
		results := c.results
		p.mu.Unlock()
		p.page(w, http.StatusOK, "signed-out", map[string]any{"Apps": results})
		return
	}
	c.current, c.queue = c.queue[0], c.queue[1:]
	sp, user, index := p.sps[c.current], c.user, c.index
	req := p.logoutRequest(sp, user, index)
	c.pending = req.SelectAttrValue("ID", "")
	p.mu.Unlock()
	b64, err := p.signEncode(req)
	if err != nil {
		p.log.Error("devidp: sign LogoutRequest", "err", err)
		http.Error(w, "could not build the logout request", http.StatusInternalServerError)
		return
	}
	p.autoPost(w, sp.SLOURL, "SAMLRequest", b64, key, "Signing you out of "+sp.EntityID+"…")
}

// logoutRequest is an (unsigned) LogoutRequest to sp for the session.
func (p *IdP) logoutRequest(sp ServiceProvider, user, index string) *etree.Element {
	now := p.now()
	req := p.protocolMessage("LogoutRequest", sp.SLOURL, now)
	req.CreateAttr("NotOnOrAfter", samlTime(now.Add(sloLifetime)))
	n := req.CreateElement("saml:NameID")
	n.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
	n.SetText(user)
	if index != "" {
		req.CreateElement("samlp:SessionIndex").SetText(index)
	}
	return req
}

// LogoutRequestFor starts an IdP-initiated logout of username from one SP
// without a browser at the IdP: it returns the HTTP-Redirect URL (the
// query signed RSA-SHA256) of a LogoutRequest to the SP's SLOURL naming
// username and the SessionIndex of their SSO session that served the SP,
// if any. The SP's LogoutResponse is taken at /saml/slo as in the
// front-channel chain. The IdP's own sessions are left alone.
func (p *IdP) LogoutRequestFor(spEntityID, username string) (string, error) {
	sp, ok := p.sps[spEntityID]
	if !ok || sp.SLOURL == "" {
		return "", fmt.Errorf("devidp: service provider %q is unknown or has no SLOURL", spEntityID)
	}
	if _, ok := p.users.get(username); !ok {
		return "", fmt.Errorf("devidp: unknown user %q", username)
	}
	index := ""
	p.mu.Lock()
	for _, s := range p.sessions {
		if s.user == username && s.sps[spEntityID] {
			index = s.index
		}
	}
	p.mu.Unlock()
	c := &logoutChain{user: username, index: index, current: spEntityID}
	req := p.logoutRequest(sp, username, index)
	c.pending = req.SelectAttrValue("ID", "")
	key := p.startChain(c)
	return p.redirectURL(sp.SLOURL, "SAMLRequest", req, key)
}

// redirectURL is dest carrying el by HTTP-Redirect, the query signed.
func (p *IdP) redirectURL(dest, param string, el *etree.Element, relayState string) (string, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	x, err := doc.WriteToBytes()
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(x)
	fw.Close()
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	q += "&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
	sum := sha256.Sum256([]byte(q))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.kp.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(dest, "?") {
		sep = "&"
	}
	return dest + sep + q + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)), nil
}

func (p *IdP) serveSLO(w http.ResponseWriter, r *http.Request) {
	m, err := p.readSLO(r)
	if err != nil {
		p.log.Warn("devidp: bad logout message", "err", err)
		p.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-out message cannot be used: " + err.Error()})
		return
	}
	if m.param == "SAMLRequest" {
		p.spLogout(w, r, m)
		return
	}
	p.chainAnswer(w, m)
}

// sloMessage is a logout message from an SP, verified when its
// certificate is known.
type sloMessage struct {
	param, relayState string
	sp                ServiceProvider
	xml               []byte
}

// readSLO reads a LogoutRequest or LogoutResponse by either binding and
// checks its issuer, destination, time and (when the SP's certificate is
// configured) signature.
func (p *IdP) readSLO(r *http.Request) (*sloMessage, error) {
	m := &sloMessage{}
	var signedOctets []byte
	var sigAlg, signature string
	switch r.Method {
	case http.MethodGet:
		raw := map[string]string{}
		for _, pair := range strings.Split(r.URL.RawQuery, "&") {
			k, v, _ := strings.Cut(pair, "=")
			if _, dup := raw[k]; dup {
				return nil, fmt.Errorf("query parameter %s given twice", k)
			}
			raw[k] = v
		}
		m.param = "SAMLRequest"
		if _, ok := raw["SAMLResponse"]; ok {
			m.param = "SAMLResponse"
		}
		val := func(k string) string { v, _ := url.QueryUnescape(raw[k]); return v }
		b, err := base64.StdEncoding.DecodeString(val(m.param))
		if err != nil {
			return nil, errors.New("the message is not base64")
		}
		if m.xml, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 64<<10)); err != nil {
			return nil, errors.New("the message is not deflated")
		}
		m.relayState, sigAlg, signature = val("RelayState"), val("SigAlg"), val("Signature")
		if sigAlg != "" {
			octets := m.param + "=" + raw[m.param]
			if rs, ok := raw["RelayState"]; ok {
				octets += "&RelayState=" + rs
			}
			signedOctets = []byte(octets + "&SigAlg=" + raw["SigAlg"])
		}
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			return nil, errors.New("unreadable form")
		}
		m.param = "SAMLRequest"
		if r.PostForm.Get("SAMLResponse") != "" {
			m.param = "SAMLResponse"
		}
		b, err := base64.StdEncoding.DecodeString(r.PostForm.Get(m.param))
		if err != nil {
			return nil, errors.New("the message is not base64")
		}
		m.xml, m.relayState = b, r.PostForm.Get("RelayState")
	default:
		return nil, fmt.Errorf("method %s", r.Method)
	}
	if bytes.Contains(m.xml, []byte("<!")) {
		return nil, errors.New("the message holds a markup declaration or comment")
	}
	var head struct {
		XMLName      xml.Name
		Destination  string    `xml:",attr"`
		IssueInstant time.Time `xml:",attr"`
		Issuer       string    `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	}
	if err := xml.Unmarshal(m.xml, &head); err != nil {
		return nil, errors.New("the message is not XML")
	}
	want := map[string]string{"SAMLRequest": "LogoutRequest", "SAMLResponse": "LogoutResponse"}[m.param]
	if head.XMLName.Space != nsProtocol || head.XMLName.Local != want {
		return nil, fmt.Errorf("%s holds a %s, not a %s", m.param, head.XMLName.Local, want)
	}
	sp, ok := p.sps[strings.TrimSpace(head.Issuer)]
	if !ok {
		return nil, fmt.Errorf("unknown service provider %q", head.Issuer)
	}
	m.sp = sp
	if head.Destination != p.cfg.BaseURL+"/saml/slo" {
		return nil, fmt.Errorf("Destination %q is not this IdP's", head.Destination)
	}
	if d := p.now().Sub(head.IssueInstant); d > 5*time.Minute || d < -5*time.Minute {
		return nil, fmt.Errorf("issued at %s: too old or in the future", head.IssueInstant)
	}
	if sp.Certificate == nil {
		return m, nil
	}
	if signedOctets != nil {
		if sigAlg != dsig.RSASHA256SignatureMethod {
			return nil, fmt.Errorf("SigAlg %q (RSA-SHA256 only)", sigAlg)
		}
		sig, err := base64.StdEncoding.DecodeString(signature)
		if err != nil || sp.Certificate.CheckSignature(x509.SHA256WithRSA, signedOctets, sig) != nil {
			return nil, errors.New("the query signature does not verify with the service provider's certificate")
		}
		return m, nil
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(m.xml); err != nil || doc.Root() == nil {
		return nil, errors.New("the message is not XML")
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{sp.Certificate}})
	vc.Clock = dsig.NewFakeClockAt(p.now())
	signed, err := vc.Validate(doc.Root())
	if err != nil {
		return nil, errors.New("the message is not signed by the service provider's certificate")
	}
	d := etree.NewDocument()
	d.SetRoot(signed)
	if m.xml, err = d.WriteToBytes(); err != nil { // read only what the signature covers
		return nil, err
	}
	return m, nil
}

// spLogout ends the SSO session an SP's LogoutRequest names and answers.
func (p *IdP) spLogout(w http.ResponseWriter, r *http.Request, m *sloMessage) {
	var req saml.LogoutRequest
	if err := xml.Unmarshal(m.xml, &req); err != nil || req.ID == "" || req.NameID == nil {
		p.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-out request cannot be used: it names no one."})
		return
	}
	if req.NotOnOrAfter != nil && !p.now().Before(*req.NotOnOrAfter) {
		p.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-out request has expired. Sign out again from the application."})
		return
	}
	indexes := map[string]bool{}
	for _, si := range req.AllSessionIndexes() {
		indexes[si.Value] = true
	}
	ended := 0
	cookie, _ := r.Cookie(sessionCookie)
	p.mu.Lock()
	for sid, s := range p.sessions {
		if s.user == strings.TrimSpace(req.NameID.Value) && s.sps[m.sp.EntityID] && (len(indexes) == 0 || indexes[s.index]) {
			delete(p.sessions, sid)
			ended++
			if cookie != nil && cookie.Value == sid {
				http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
			}
		}
	}
	p.mu.Unlock()
	p.log.Info("devidp: signed out by a service provider", "sp", m.sp.EntityID, "username", req.NameID.Value, "sessions", ended)
	if m.sp.SLOURL == "" {
		p.page(w, http.StatusOK, "signed-out", map[string]any{})
		return
	}
	// Success also when no session matched: the person has none left.
	resp := p.protocolMessage("LogoutResponse", m.sp.SLOURL, p.now())
	resp.CreateAttr("InResponseTo", req.ID)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", statusSuccess)
	b64, err := p.signEncode(resp)
	if err != nil {
		p.log.Error("devidp: sign LogoutResponse", "err", err)
		http.Error(w, "could not build the logout response", http.StatusInternalServerError)
		return
	}
	p.autoPost(w, m.sp.SLOURL, "SAMLResponse", b64, m.relayState, "Signing you out…")
}

// chainAnswer takes an SP's LogoutResponse in an IdP-initiated logout and
// moves on to the next SP.
func (p *IdP) chainAnswer(w http.ResponseWriter, m *sloMessage) {
	var resp saml.LogoutResponse
	if err := xml.Unmarshal(m.xml, &resp); err != nil {
		p.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-out answer cannot be read."})
		return
	}
	p.mu.Lock()
	c, ok := p.logouts[m.relayState]
	if !ok || c.current != m.sp.EntityID || c.pending == "" || resp.InResponseTo != c.pending {
		p.mu.Unlock()
		p.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-out answer does not belong to a sign-out under way."})
		return
	}
	result := "signed out"
	if resp.Status.StatusCode.Value != statusSuccess {
		result = "not signed out (" + resp.Status.StatusCode.Value + ")"
	}
	c.results = append(c.results, sloDone{SP: c.current, Result: result})
	c.current, c.pending = "", ""
	p.mu.Unlock()
	p.log.Info("devidp: service provider answered the logout", "sp", m.sp.EntityID, "result", result)
	p.nextLogout(w, m.relayState)
}
