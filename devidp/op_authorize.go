package devidp

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/broker-dev/broker"
)

const opSessionCookie = "devop_session" // not devidp_session: cookies ignore ports

// The acr values of the OP's ID tokens: REFEDS single-factor for a
// password, REFEDS MFA with the second factor (User.OTP).
const (
	ACRPassword = "https://refeds.org/profile/sfa"
	ACRMFA      = "https://refeds.org/profile/mfa"
)

// opSession is an SSO session at the OP. Its map key (the cookie value)
// is secret; sid, the public id in ID and logout tokens, is another
// random value.
type opSession struct {
	user, sid string
	authTime  time.Time
	mfa       bool
	expires   time.Time
	clients   map[string]bool // clients that received tokens in this session
}

// serveAuthorize handles the authorization request. Errors that cannot be
// trusted to go back to the client (unknown client, unregistered
// redirect_uri) are shown here; the others go back as ?error=.
// prompt=login, max_age exceeded and acr_values naming an MFA value the
// session lacks all show the login form even with an SSO session
// (prompt=none: login_required).
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
	maxAge, maxAgeErr := parseMaxAge(q.Get("max_age"))
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
	case maxAgeErr:
		fail("invalid_request", "max_age must be a non-negative integer")
		return
	}
	req := authzRequest{client: c.ID, redirectURI: q.Get("redirect_uri"), state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scope: q.Get("scope"), mfa: asksMFA(q.Get("acr_values")), expires: o.now().Add(10 * time.Minute)}
	prompt := strings.Fields(q.Get("prompt"))
	if _, s, ok := o.session(r); ok && !slices.Contains(prompt, "login") &&
		(maxAge < 0 || !o.now().After(s.authTime.Add(time.Duration(maxAge)*time.Second))) && (!req.mfa || s.mfa) {
		back(url.Values{"code": {o.issueCode(req, s)}})
		return
	}
	if slices.Contains(prompt, "none") {
		fail("login_required", "the user must sign in (not signed in, max_age passed, or a second factor required)")
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

// parseMaxAge reads max_age: -1 when absent, bad when not a
// non-negative integer.
func parseMaxAge(s string) (seconds int64, bad bool) {
	if s == "" {
		return -1, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return -1, true
	}
	return n, false
}

// asksMFA reports whether acr_values names a multi-factor value.
func asksMFA(acrValues string) bool {
	for _, v := range strings.Fields(acrValues) {
		if slices.Contains(broker.DefaultOIDCMFAValues, v) {
			return true
		}
	}
	return false
}

// serveLogin checks the password. A person with a second factor gives it
// on this form (field otp, if the page has one) or on the next step
// (/login/otp); a person without one cannot meet a request for MFA
// (unmet_authentication_requirements back to the client).
func (o *OP) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	key := r.PostFormValue("req")
	req, ok := o.pendingRequest(key)
	if key != "" && !ok {
		o.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-in took too long or was already used. Start again from the application."})
		return
	}
	u, found := o.users.get(r.PostFormValue("username"))
	if !found || !equal(u.Password, r.PostFormValue("password")) {
		o.page(w, http.StatusUnauthorized, "login", map[string]any{"Req": key, "Error": "Wrong username or password."})
		return
	}
	switch otp := r.PostFormValue("otp"); {
	case u.OTP == "" && req.mfa:
		o.mu.Lock()
		delete(o.pending, key)
		o.mu.Unlock()
		o.back(w, r, req, url.Values{"error": {"unmet_authentication_requirements"}, "error_description": {"a second factor is required and the user has none"}})
	case u.OTP == "":
		o.signedIn(w, r, key, req, ok, u, false)
	case otp != "" && equal(u.OTP, otp):
		o.signedIn(w, r, key, req, ok, u, true)
	case otp != "":
		o.page(w, http.StatusUnauthorized, "login", map[string]any{"Req": key, "Error": "Wrong username, password or one-time code."})
	default:
		o.askOTP(w, key, req, u)
	}
}

func (o *OP) pendingRequest(key string) (authzRequest, bool) {
	if key == "" {
		return authzRequest{}, false
	}
	o.mu.Lock()
	req, ok := o.pending[key]
	o.mu.Unlock()
	return req, ok && !o.now().After(req.expires)
}

// back redirects to the client's redirect URI with params, state and iss.
func (o *OP) back(w http.ResponseWriter, r *http.Request, req authzRequest, params url.Values) {
	params.Set("iss", o.issuer)
	if req.state != "" {
		params.Set("state", req.state)
	}
	http.Redirect(w, r, req.redirectURI+"?"+params.Encode(), http.StatusFound)
}

// signedIn starts or renews the SSO session of u and answers the pending
// request (or shows the OP's home page when there is none). Signing in
// again as the same person keeps the session (sid) with a new auth_time;
// signing in as someone else ends the previous session first.
func (o *OP) signedIn(w http.ResponseWriter, r *http.Request, key string, req authzRequest, hasReq bool, u User, mfa bool) {
	now := o.now()
	cookieKey, prev, had := o.session(r)
	if had && prev.user != u.Username {
		o.endSession(r.Context(), cookieKey)
		had = false
	}
	var s opSession
	o.mu.Lock()
	if cur, ok := o.sessions[cookieKey]; had && ok {
		cur.authTime, cur.mfa = now, mfa
		s = *cur
	} else {
		cookieKey = randomID(32)
		sess := &opSession{user: u.Username, sid: randomID(16), authTime: now, mfa: mfa, expires: now.Add(o.cfg.SessionLifetime), clients: map[string]bool{}}
		o.sessions[cookieKey] = sess
		s = *sess
	}
	delete(o.pending, key)
	o.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: opSessionCookie, Value: cookieKey, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
		MaxAge: int(s.expires.Sub(now).Seconds())})
	if !hasReq {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	o.back(w, r, req, url.Values{"code": {o.issueCode(req, s)}})
}

func (o *OP) issueCode(req authzRequest, s opSession) string {
	code := randomID(24)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes[code] = &grant{family: code, client: req.client, user: s.user, nonce: req.nonce, scope: req.scope, challenge: req.challenge,
		redirectURI: req.redirectURI, sid: s.sid, mfa: s.mfa, authTime: s.authTime, expires: o.now().Add(time.Minute)}
	return code
}

// session is the browser's live SSO session: its cookie value and a copy.
func (o *OP) session(r *http.Request) (string, opSession, bool) {
	c, err := r.Cookie(opSessionCookie)
	if err != nil {
		return "", opSession{}, false
	}
	o.mu.Lock()
	s, ok := o.sessions[c.Value]
	var cp opSession
	if ok {
		cp = *s
	}
	o.mu.Unlock()
	if !ok || o.now().After(cp.expires) {
		return "", opSession{}, false
	}
	if _, ok := o.users.get(cp.user); !ok {
		return "", opSession{}, false
	}
	return c.Value, cp, true
}

func (o *OP) serveHome(w http.ResponseWriter, r *http.Request) {
	if _, s, ok := o.session(r); ok {
		u, _ := o.users.get(s.user)
		o.page(w, http.StatusOK, "apps", map[string]any{"User": u.DisplayName})
		return
	}
	o.page(w, http.StatusOK, "login", map[string]any{})
}

// page renders a page. Its CSP lets the login form's POST end in a
// redirect to a registered client (and the logout confirmation's in a
// registered post-logout URI): browsers hold the whole redirect chain of a
// form submission to form-action.
func (o *OP) page(w http.ResponseWriter, status int, name string, data map[string]any) {
	actions := []string{"'self'"}
	for _, c := range o.cfg.Clients {
		for _, r := range append(append([]string(nil), c.RedirectURIs...), c.PostLogoutRedirectURIs...) {
			if or := origin(r); !slices.Contains(actions, or) {
				actions = append(actions, or)
			}
		}
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+strings.Join(actions, " ")+"; base-uri 'none'; frame-ancestors 'none'")
	(&IdP{pages: o.pages, log: o.log}).page(w, status, name, data)
}

// otpStep is a sign-in whose password was right, waiting for the second
// factor (POST /login/otp).
type otpStep struct {
	key     string // the pending authorization request, "" for none
	req     authzRequest
	hasReq  bool
	user    string
	tries   int
	expires time.Time
}

// askOTP shows the second-factor step: optional unless the request asks
// for MFA.
func (o *OP) askOTP(w http.ResponseWriter, key string, req authzRequest, u User) {
	token := randomID(16)
	now := o.now()
	o.mu.Lock()
	for k, v := range o.otps {
		if now.After(v.expires) {
			delete(o.otps, k)
		}
	}
	o.otps[token] = &otpStep{key: key, req: req, hasReq: key != "", user: u.Username, expires: now.Add(5 * time.Minute)}
	o.mu.Unlock()
	o.page(w, http.StatusOK, "op-otp", map[string]any{"Login": token, "Required": req.mfa})
}

// serveOTP checks the second factor: right ⇒ signed in with MFA; left
// empty where it is optional ⇒ signed in with the password only; wrong
// five times ⇒ the step is spent.
func (o *OP) serveOTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	token, otp := r.PostFormValue("login"), r.PostFormValue("otp")
	o.mu.Lock()
	st, ok := o.otps[token]
	var step otpStep
	if ok {
		step = *st
	}
	o.mu.Unlock()
	u, found := o.users.get(step.user)
	if !ok || !found || o.now().After(step.expires) {
		o.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-in took too long or was already used. Start again from the application."})
		return
	}
	mfa := otp != "" && equal(u.OTP, otp)
	if !mfa && (otp != "" || step.req.mfa) {
		o.mu.Lock()
		st.tries++
		spent := st.tries >= 5
		if spent {
			delete(o.otps, token)
		}
		o.mu.Unlock()
		if spent {
			o.page(w, http.StatusUnauthorized, "error", map[string]any{"Message": "Too many wrong one-time codes. Start again from the application."})
			return
		}
		msg := "Wrong one-time code."
		if otp == "" {
			msg = "This application needs your one-time code."
		}
		o.page(w, http.StatusUnauthorized, "op-otp", map[string]any{"Login": token, "Required": step.req.mfa, "Error": msg})
		return
	}
	o.mu.Lock()
	_, still := o.otps[token]
	delete(o.otps, token)
	o.mu.Unlock()
	if !still {
		o.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-in was already used. Start again from the application."})
		return
	}
	if step.hasReq {
		if _, live := o.pendingRequest(step.key); !live {
			o.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "This sign-in took too long or was already used. Start again from the application."})
			return
		}
	}
	o.signedIn(w, r, step.key, step.req, step.hasReq, u, mfa)
}
