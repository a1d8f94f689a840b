package localaws

import (
	"net/http"
	"time"
)

const consoleCookie = "localaws_console"

// consoleSession is a signed-in console session (cookie value → session).
type consoleSession struct {
	session     *issuedSession
	expires     time.Time
	destination string
	issuer      string
}

// consoleView is what the console page shows.
type consoleView struct {
	Account        string
	RoleName       string
	RoleARN        string
	AssumedRoleARN string
	SessionName    string
	SourceIdentity string
	Expiry         string // RFC 3339, UTC
	ExpiryUnix     int64
	Destination    string
	Region         string
	Issuer         string
}

// handleConsole shows the console page of the session named by the cookie:
// 401 "No console session" without one, 401 "expired" after its end.
func (s *Server) handleConsole(w http.ResponseWriter, r *http.Request) {
	cs, expired := s.consoleFromCookie(r)
	switch {
	case cs == nil:
		s.pageError(w, r, http.StatusUnauthorized, "no_console_session", "No console session",
			"No console session: sign in through your portal to open the console.", "")
		return
	case expired:
		s.pageError(w, r, http.StatusUnauthorized, "console_session_expired", "Console session expired",
			"Your console session has expired. Return to the portal to sign in again.", cs.issuer)
		return
	}
	exp := cs.expires.UTC()
	s.render(w, r, http.StatusOK, "console", consoleView{
		Account: cs.session.accountID, RoleName: cs.session.roleName, RoleARN: cs.session.roleARN,
		AssumedRoleARN: cs.session.assumedRoleARN, SessionName: cs.session.sessionName,
		SourceIdentity: cs.session.sourceIdentity,
		Expiry:         exp.Format(time.RFC3339), ExpiryUnix: exp.Unix(),
		Destination: cs.destination, Region: regionOf(cs.destination), Issuer: cs.issuer,
	})
}

// handleSignOut ends the console session and shows a page linking back to
// the portal (Issuer).
func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	issuer := ""
	if c, err := r.Cookie(consoleCookie); err == nil {
		if cs, ok := s.consoles.take(c.Value, s.now()); ok {
			issuer = cs.issuer
		}
	}
	http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.baseURL != nil && s.baseURL.Scheme == "https"})
	s.render(w, r, http.StatusOK, "message", messageView{Title: "Signed out", Message: "You have signed out of the console.", Issuer: issuer})
}

// consoleFromCookie returns the request's console session and whether it
// has expired; nil when there is none.
func (s *Server) consoleFromCookie(r *http.Request) (*consoleSession, bool) {
	c, err := r.Cookie(consoleCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, false
	}
	now := s.now()
	cs, ok := s.consoles.get(c.Value, now)
	if !ok {
		return nil, false
	}
	return cs, !now.Before(cs.expires)
}
