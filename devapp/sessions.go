package devapp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Lifetimes and bounds of what the app keeps in memory.
const (
	sessionLifetime = 8 * time.Hour
	loginLifetime   = 10 * time.Minute
	maxEntries      = 10000 // sessions, and logins in flight: oldest dropped beyond
	sessionCookie   = "demoapp_session"
	loginCookie     = "demoapp_login"
)

// claims are the ID token's claims the app shows.
type claims struct {
	Sub    string   `json:"sub"`
	Name   string   `json:"name"`
	Email  string   `json:"email"`
	Nonce  string   `json:"nonce"`
	Groups []string `json:"groups"`
	Roles  []role   `json:"aws_roles"`
}

// role is one entry of the broker's aws_roles claim.
type role struct {
	Account      string `json:"account"`
	AccountLabel string `json:"account_label"`
	RoleARN      string `json:"role_arn"`
	Label        string `json:"label"`
}

// session is a signed-in person: the tokens stay here, the browser has
// only the random id.
type session struct {
	mu      sync.Mutex // one refresh at a time: the broker rotates refresh tokens
	tok     *oauth2.Token
	claims  claims
	csrf    string
	expires time.Time
}

// pending is a sign-in in flight, keyed by its state.
type pending struct {
	verifier, nonce string
	expires         time.Time
}

type sessions struct {
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]*session
	logins   map[string]pending
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, sessions: map[string]*session{}, logins: map[string]pending{}}
}

// startLogin records a sign-in in flight and returns its state.
func (s *sessions) startLogin(verifier, nonce string) string {
	state := randomID()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	prune(s.logins, now, func(p pending) time.Time { return p.expires })
	s.logins[state] = pending{verifier: verifier, nonce: nonce, expires: now.Add(loginLifetime)}
	return state
}

// useLogin returns the sign-in of state once.
func (s *sessions) useLogin(state string) (pending, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.logins[state]
	delete(s.logins, state)
	if !ok || !s.now().Before(p.expires) {
		return pending{}, false
	}
	return p, true
}

// start keeps a new session and returns its id.
func (s *sessions) start(tok *oauth2.Token, c claims) string {
	id := randomID()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	prune(s.sessions, now, func(x *session) time.Time { return x.expires })
	s.sessions[id] = &session{tok: tok, claims: c, csrf: randomID(), expires: now.Add(sessionLifetime)}
	return id
}

// get is the live session of the request's cookie.
func (s *sessions) get(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.sessions[c.Value]
	if x == nil || !s.now().Before(x.expires) {
		delete(s.sessions, c.Value)
		return "", nil
	}
	return c.Value, x
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// prune drops expired entries and, beyond maxEntries, the oldest ones.
func prune[V any](m map[string]V, now time.Time, expires func(V) time.Time) {
	for k, v := range m {
		if !now.Before(expires(v)) {
			delete(m, k)
		}
	}
	for len(m) >= maxEntries {
		var oldest string
		var at time.Time
		for k, v := range m {
			if oldest == "" || expires(v).Before(at) {
				oldest, at = k, expires(v)
			}
		}
		delete(m, oldest)
	}
}

// validCSRF compares the form's token with the session's.
func (x *session) validCSRF(r *http.Request) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(x.csrf)) == 1
}

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *App) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	} else {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}
