package devidp

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const opSessionCookie = "devop_session" // not devidp_session: cookies ignore ports

// serveAuthorize handles the authorization request. Errors that cannot be
// trusted to go back to the client (unknown client, unregistered
// redirect_uri) are shown here; the others go back as ?error=.
func (o *OP) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ok := o.clients[q.Get("client_id")]
	if !ok || !slices.Contains(c.RedirectURIs, q.Get("redirect_uri")) {
		o.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "Unknown client or unregistered redirect_uri."})
		return
	}
	back := func(params url.Values) {
		if s := q.Get("state"); s != "" {
			params.Set("state", s)
		}
		params.Set("iss", o.issuer)
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+params.Encode(), http.StatusFound)
	}
	fail := func(code, desc string) { back(url.Values{"error": {code}, "error_description": {desc}}) }
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only the authorization code flow is supported")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "scope must include openid")
		return
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case c.AuthMethod == "none" && q.Get("code_challenge") == "":
		fail("invalid_request", "public clients must use PKCE")
		return
	case len(q.Get("code_challenge")) > 0 && (len(q.Get("code_challenge")) < 43 || len(q.Get("code_challenge")) > 128):
		fail("invalid_request", "code_challenge has the wrong length")
		return
	}
	req := authzRequest{client: c.ID, redirectURI: q.Get("redirect_uri"), state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scope: q.Get("scope"), expires: o.now().Add(10 * time.Minute)}
	prompt := strings.Fields(q.Get("prompt"))
	if user, ok := o.sessionUser(r); ok && !slices.Contains(prompt, "login") {
		back(url.Values{"code": {o.issueCode(req, user.Username)}})
		return
	}
	if slices.Contains(prompt, "none") {
		fail("login_required", "the user is not signed in")
		return
	}
	key := randomID(16)
	o.mu.Lock()
	now := o.now()
	for k, v := range o.pending {
		if now.After(v.expires) {
			delete(o.pending, k)
		}
	}
	o.pending[key] = req
	o.mu.Unlock()
	o.page(w, http.StatusOK, "login", map[string]any{"Req": key})
}

func (o *OP) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	key := r.PostFormValue("req")
	o.mu.Lock()
	req, ok := o.pending[key]
	o.mu.Unlock()
	if key != "" && (!ok || o.now().After(req.expires)) {
		o.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-in took too long or was already used. Start again from the application."})
		return
	}
	u, found := o.users.get(r.PostFormValue("username"))
	if !found || !equal(u.Password, r.PostFormValue("password")) {
		o.page(w, http.StatusUnauthorized, "login", map[string]any{"Req": key, "Error": "Wrong username or password."})
		return
	}
	sid := randomID(32)
	o.mu.Lock()
	o.sessions[sid] = ssoSession{user: u.Username, expires: o.now().Add(o.cfg.SessionLifetime)}
	delete(o.pending, key)
	o.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: opSessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
		MaxAge: int(o.cfg.SessionLifetime.Seconds())})
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	params := url.Values{"code": {o.issueCode(req, u.Username)}, "iss": {o.issuer}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	http.Redirect(w, r, req.redirectURI+"?"+params.Encode(), http.StatusFound)
}

func (o *OP) issueCode(req authzRequest, user string) string {
	code := randomID(24)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes[code] = &grant{family: code, client: req.client, user: user, nonce: req.nonce, scope: req.scope, challenge: req.challenge,
		redirectURI: req.redirectURI, authTime: o.now(), expires: o.now().Add(time.Minute)}
	return code
}

func (o *OP) sessionUser(r *http.Request) (User, bool) {
	c, err := r.Cookie(opSessionCookie)
	if err != nil {
		return User{}, false
	}
	o.mu.Lock()
	s, ok := o.sessions[c.Value]
	o.mu.Unlock()
	if !ok || o.now().After(s.expires) {
		return User{}, false
	}
	u, ok := o.users.get(s.user)
	return u, ok
}

func (o *OP) serveLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(opSessionCookie); err == nil {
		o.mu.Lock()
		delete(o.sessions, c.Value)
		o.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: opSessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (o *OP) serveHome(w http.ResponseWriter, r *http.Request) {
	if u, ok := o.sessionUser(r); ok {
		o.page(w, http.StatusOK, "apps", map[string]any{"User": u.DisplayName})
		return
	}
	o.page(w, http.StatusOK, "login", map[string]any{})
}

// page renders a page. Its CSP lets the login form's POST end in a
// redirect to a registered client: browsers hold the whole redirect chain
// of a form submission to form-action.
func (o *OP) page(w http.ResponseWriter, status int, name string, data map[string]any) {
	actions := []string{"'self'"}
	for _, c := range o.cfg.Clients {
		for _, r := range c.RedirectURIs {
			if or := origin(r); !slices.Contains(actions, or) {
				actions = append(actions, or)
			}
		}
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+strings.Join(actions, " ")+"; base-uri 'none'; frame-ancestors 'none'")
	(&IdP{pages: o.pages, log: o.log}).page(w, status, name, data)
}
