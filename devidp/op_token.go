package devidp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tokenError is an OAuth 2.0 error response.
func tokenError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="demo OP"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// authenticate checks the client with the method it is registered for.
func (o *OP) authenticate(r *http.Request) (Client, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both are form-urlencoded before going into Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	c, ok := o.clients[id]
	if !ok {
		return Client{}, false
	}
	switch c.AuthMethod {
	case "client_secret_basic":
		return c, basic && equal(c.Secret, secret)
	case "client_secret_post":
		return c, !basic && r.PostFormValue("client_secret") != "" && equal(c.Secret, secret)
	case "none":
		return c, !basic && r.PostFormValue("client_secret") == ""
	}
	return Client{}, false
}

func (o *OP) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	c, ok := o.authenticate(r)
	if !ok {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch r.PostFormValue("grant_type") {
	case "authorization_code":
		o.exchangeCode(w, r, c)
	case "refresh_token":
		o.refreshGrant(w, r, c)
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "use authorization_code or refresh_token")
	}
}

func (o *OP) exchangeCode(w http.ResponseWriter, r *http.Request, c Client) {
	code := r.PostFormValue("code")
	o.mu.Lock()
	g, ok := o.codes[code]
	if ok && g.used {
		// A code presented twice: refuse, and revoke what it produced (RFC 6749 §4.1.2).
		for k, t := range o.access {
			if t.family == g.family {
				delete(o.access, k)
			}
		}
		for k, t := range o.refresh {
			if t.family == g.family {
				delete(o.refresh, k)
			}
		}
		ok = false
	}
	if ok {
		g.used = true
		// The client now holds tokens of this SSO session: it hears of
		// the session's end (back-channel logout).
		if sess := o.sessionBySID(g.sid); sess != nil && g.client == c.ID {
			sess.clients[c.ID] = true
		}
	}
	o.mu.Unlock()
	switch {
	case !ok || o.now().After(g.expires):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, expired or already used code")
		return
	case g.client != c.ID || g.redirectURI != r.PostFormValue("redirect_uri"):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client or redirect_uri")
		return
	case g.challenge != "" || r.PostFormValue("code_verifier") != "":
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if g.challenge == "" || !equal(base64.RawURLEncoding.EncodeToString(sum[:]), g.challenge) {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		}
	}
	o.tokens(w, *g, true)
}

func (o *OP) refreshGrant(w http.ResponseWriter, r *http.Request, c Client) {
	rt := r.PostFormValue("refresh_token")
	o.mu.Lock()
	g, ok := o.refresh[rt]
	delete(o.refresh, rt) // rotation: a refresh token works once
	o.mu.Unlock()
	if !ok || g.client != c.ID || o.now().After(g.expires) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, expired or already used refresh token")
		return
	}
	ng := *g
	ng.nonce = "" // no nonce in a refreshed ID token
	o.tokens(w, ng, false)
}

// tokens answers a token request with an access token, an ID token and,
// for scope offline_access, a refresh token.
func (o *OP) tokens(w http.ResponseWriter, g grant, withNonce bool) {
	now := o.now()
	at := randomID(24)
	ag := g
	ag.expires = now.Add(time.Hour)
	idt, err := o.idToken(g, now, withNonce)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", "could not sign the ID token")
		return
	}
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 3600, "id_token": idt, "scope": g.scope}
	o.mu.Lock()
	o.access[at] = &ag
	if o.cfg.RefreshTokens && slices.Contains(strings.Fields(g.scope), "offline_access") {
		rt := randomID(32)
		rg := g
		rg.expires = now.Add(30 * 24 * time.Hour)
		o.refresh[rt] = &rg
		resp["refresh_token"] = rt
	}
	o.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (o *OP) idToken(g grant, now time.Time, withNonce bool) (string, error) {
	u, _ := o.users.get(g.user)
	claims := o.claims(u)
	claims["iss"], claims["aud"] = o.issuer, g.client
	claims["iat"], claims["exp"], claims["auth_time"] = now.Unix(), now.Add(o.cfg.IDTokenLifetime).Unix(), g.authTime.Unix()
	claims["sid"], claims["amr"], claims["acr"] = g.sid, []string{"pwd"}, ACRPassword
	if g.mfa {
		claims["amr"], claims["acr"] = []string{"pwd", "otp", "mfa"}, ACRMFA
	}
	if withNonce && g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := o.signer.Sign(b)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// SubjectOf is the OP's sub for a username: "user-" + username. Like a
// real OP's subject it is not the bare login name, and it always has the
// 6 characters STS requires of a web identity token's sub (6–255), so the
// demo OP's own ID tokens work with AssumeRoleWithWebIdentity even for
// "bob".
func SubjectOf(username string) string { return "user-" + username }

// claims are a user's identity claims: standard ones, groups, a nested
// Keycloak-style realm_access.roles and the user's extra attributes.
func (o *OP) claims(u User) map[string]any {
	c := map[string]any{"sub": SubjectOf(u.Username), "preferred_username": u.Username}
	if u.Email != "" {
		c["email"], c["email_verified"] = u.Email, true
	}
	if u.DisplayName != "" {
		c["name"] = u.DisplayName
	}
	if len(u.Groups) > 0 {
		c["groups"] = u.Groups
		c["realm_access"] = map[string]any{"roles": u.Groups}
	}
	for k, v := range u.Attributes {
		c[k] = v
	}
	return c
}

func (o *OP) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	o.mu.Lock()
	g, found := o.access[tok]
	o.mu.Unlock()
	if !ok || !found || o.now().After(g.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	u, _ := o.users.get(g.user)
	writeJSON(w, http.StatusOK, o.claims(u))
}
