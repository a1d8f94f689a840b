package localaws

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Federation endpoint limits.
const (
	signinTokenLifetime = 15 * time.Minute
	maxFederationBody   = 64 << 10
	maxSessionParam     = 16 << 10
	consoleMemory       = time.Hour // expired console sessions are told apart from unknown ones this long
)

// handleFederation serves /federation over GET and POST.
func (s *Server) handleFederation(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFederationBody)
	if err := r.ParseForm(); err != nil {
		s.plainError(w, r, http.StatusBadRequest, "malformed_request", "The request parameters are not a valid URL-encoded form (or are too large).")
		return
	}
	for k, v := range r.Form {
		if len(v) > 1 {
			s.plainError(w, r, http.StatusBadRequest, "duplicate_parameter", "The parameter "+clip(k)+" is given more than once.")
			return
		}
	}
	switch r.Form.Get("Action") {
	case "getSigninToken":
		s.getSigninToken(w, r)
	case "login":
		s.login(w, r)
	default:
		s.plainError(w, r, http.StatusBadRequest, "unknown_action", "Action must be getSigninToken or login.")
	}
}

// getSigninToken exchanges live credentials issued by this server for a
// single-use sign-in token valid 15 minutes. The console session it leads
// to lasts SessionDuration seconds (900..43200) from now, or, without it,
// until the credentials expire (IAM User Guide, custom federation broker).
func (s *Server) getSigninToken(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	if st := r.Form.Get("SessionType"); st != "" && st != "json" {
		s.plainError(w, r, http.StatusBadRequest, "session_type_invalid", `SessionType must be "json".`)
		return
	}
	raw := r.Form.Get("Session")
	if raw == "" || len(raw) > maxSessionParam {
		s.plainError(w, r, http.StatusBadRequest, "session_missing", `Session is required: the URL-encoded JSON {"sessionId","sessionKey","sessionToken"} of temporary credentials.`)
		return
	}
	var sess struct {
		SessionID    string `json:"sessionId"`
		SessionKey   string `json:"sessionKey"`
		SessionToken string `json:"sessionToken"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sess); err != nil || sess.SessionID == "" || sess.SessionKey == "" || sess.SessionToken == "" || dec.More() {
		s.plainError(w, r, http.StatusBadRequest, "session_malformed", `Session must be JSON with exactly sessionId, sessionKey and sessionToken.`)
		return
	}
	cs, state := s.checkCredentials(sess.SessionID, sess.SessionKey, sess.SessionToken, now)
	switch state {
	case credUnknown:
		s.plainError(w, r, http.StatusBadRequest, "session_invalid", "The Session credentials are not valid: they were not issued by this STS, or the key, secret and token do not belong together.")
		return
	case credExpired:
		s.plainError(w, r, http.StatusBadRequest, "session_expired", "The Session credentials have expired: assume the role again to get fresh ones.")
		return
	}
	consoleExpires := cs.expires
	if v := r.Form.Get("SessionDuration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minDuration || n > maxDuration {
			s.plainError(w, r, http.StatusBadRequest, "session_duration_invalid", "SessionDuration must be an integer number of seconds between 900 and 43200.")
			return
		}
		consoleExpires = now.Add(time.Duration(n) * time.Second).UTC().Truncate(time.Second)
	}
	id, err := randToken()
	if err != nil {
		s.plainError(w, r, http.StatusInternalServerError, "random_failed", "The sign-in token could not be generated.")
		return
	}
	tok, err := s.sealer.seal(purposeSigninToken, sealedSignin{ID: id, Expires: now.Add(signinTokenLifetime), ConsoleExpires: consoleExpires,
		Session: sealedFrom(cs), SessionToken: cs.sessionToken}, 0)
	if err != nil {
		s.plainError(w, r, http.StatusInternalServerError, "random_failed", "The sign-in token could not be generated.")
		return
	}
	s.log.InfoContext(r.Context(), "localaws: sign-in token issued", "request_id", requestIDFrom(r.Context()),
		"access_key_id", cs.accessKeyID[:8]+"…", "role_arn", cs.roleARN, "console_expires", consoleExpires)
	body, _ := json.Marshal(map[string]string{"SigninToken": tok}) // a map of strings always marshals
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// login consumes a sign-in token, opens a console session (an HttpOnly
// cookie) and redirects to /console. The token is only consumed when the
// whole request is acceptable.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	token, dest, issuer := r.Form.Get("SigninToken"), r.Form.Get("Destination"), r.Form.Get("Issuer")
	if issuer != "" && !validIssuer(issuer) {
		s.pageError(w, r, http.StatusBadRequest, "issuer_invalid", "Sign-in failed", "Issuer must be an absolute http(s) URL of the portal.", "")
		return
	}
	if token == "" {
		s.pageError(w, r, http.StatusBadRequest, "token_missing", "Sign-in failed", "The sign-in link has no SigninToken.", issuer)
		return
	}
	var tok sealedSignin
	if !s.sealer.open(purposeSigninToken, token, &tok) || !now.Before(tok.Expires) {
		s.pageError(w, r, http.StatusBadRequest, "token_expired_or_used", "Sign-in link expired",
			"This sign-in link has expired or was already used: links are valid once, for 15 minutes. Go back to the portal and sign in again.", issuer)
		return
	}
	if !validDestination(dest, tok.Session.Partition) {
		s.pageError(w, r, http.StatusBadRequest, "destination_invalid", "Sign-in failed",
			"Destination must be an AWS console URL (https://console.aws.amazon.com/… or https://REGION.console.aws.amazon.com/… in the credentials' partition).", issuer)
		return
	}
	if !s.usedTokens.putIfAbsent(tok.ID, struct{}{}, tok.Expires, now) {
		s.pageError(w, r, http.StatusBadRequest, "token_expired_or_used", "Sign-in link expired",
			"This sign-in link has expired or was already used: links are valid once, for 15 minutes. Go back to the portal and sign in again.", issuer)
		return
	}
	id, err := randToken()
	if err != nil {
		s.pageError(w, r, http.StatusInternalServerError, "random_failed", "Sign-in failed", "The console session could not be created.", issuer)
		return
	}
	session := tok.Session.issued(tok.SessionToken)
	cs := &consoleSession{session: session, expires: tok.ConsoleExpires, destination: dest, issuer: issuer}
	s.consoles.putIfAbsent(id, cs, cs.expires.Add(consoleMemory), now)
	http.SetCookie(w, &http.Cookie{
		Name: consoleCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.baseURL != nil && s.baseURL.Scheme == "https",
		MaxAge: int(cs.expires.Add(consoleMemory).Sub(now) / time.Second),
	})
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "localaws: console login", slog.String("request_id", requestIDFrom(r.Context())),
		slog.String("role_arn", session.roleARN), slog.String("session_name", session.sessionName), slog.Time("console_expires", cs.expires))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, s.urlFor("/console"), http.StatusFound)
}

// plainError answers a getSigninToken-style request with a text error.
func (s *Server) plainError(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	s.log.InfoContext(r.Context(), "localaws: federation request refused", "request_id", requestIDFrom(r.Context()), "reason", reason, "status", status)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}
