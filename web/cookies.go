package web

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
)

const (
	oidcCookie    = "broker_oidc_requests"
	sessionCookie = "broker_session"
	// requestCookie tracks SAML requests this browser started. It must reach
	// the ACS on the IdP's cross-site POST, so on https it is SameSite=None.
	requestCookie = "broker_saml_requests"
	maxPending    = 5
	pendingTTL    = 10 * time.Minute
)

// cookieStores builds the gorilla stores: one codec pair per configured key,
// each derived with HKDF so one secret gives separate MAC and AES keys.
func cookieStores(keys [][]byte, secure bool, lifetime time.Duration) (sess, req, oidcReq *sessions.CookieStore, err error) {
	var pairs [][]byte
	for _, k := range keys {
		hashKey, err := hkdf.Key(sha256.New, k, nil, "broker cookie mac", 32)
		if err != nil {
			return nil, nil, nil, err
		}
		blockKey, err := hkdf.Key(sha256.New, k, nil, "broker cookie aes", 32)
		if err != nil {
			return nil, nil, nil, err
		}
		pairs = append(pairs, hashKey, blockKey)
	}
	sess = sessions.NewCookieStore(pairs...)
	sess.Options = &sessions.Options{Path: "/", MaxAge: int(lifetime.Seconds()), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	sess.MaxAge(sess.Options.MaxAge)
	req = sessions.NewCookieStore(pairs...)
	sameSite := http.SameSiteLaxMode
	if secure {
		sameSite = http.SameSiteNoneMode
	}
	req.Options = &sessions.Options{Path: "/saml/", MaxAge: int(pendingTTL.Seconds()), HttpOnly: true, Secure: secure, SameSite: sameSite}
	req.MaxAge(req.Options.MaxAge)
	// The OIDC callback is a top-level GET: SameSite=Lax cookies arrive.
	oidcReq = sessions.NewCookieStore(pairs...)
	oidcReq.Options = &sessions.Options{Path: "/oidc/", MaxAge: int(pendingTTL.Seconds()), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	oidcReq.MaxAge(oidcReq.Options.MaxAge)
	return sess, req, oidcReq, nil
}

// pendingRequest is a sign-in this browser started: a SAML AuthnRequest
// (ID) or an OIDC authorization request (ID = state, with nonce and PKCE
// verifier).
type pendingRequest struct {
	ID       string    `json:"id"`
	Nonce    string    `json:"n,omitempty"`
	Verifier string    `json:"v,omitempty"`
	Silent   bool      `json:"s,omitempty"`
	Provider string    `json:"p"`
	Relay    string    `json:"r"`
	Expires  time.Time `json:"e"`
	// Continue: what to do after sign-in (open this role, land here).
	Grant       string `json:"g,omitempty"`
	Destination string `json:"d,omitempty"`
}

func (s *Server) loadPending(r *http.Request) []pendingRequest {
	return s.loadPendingFrom(r, s.reqStore, requestCookie)
}

func (s *Server) savePending(w http.ResponseWriter, r *http.Request, list []pendingRequest) error {
	return s.savePendingTo(w, r, s.reqStore, requestCookie, list)
}

func (s *Server) loadPendingFrom(r *http.Request, store *sessions.CookieStore, name string) []pendingRequest {
	sess, _ := store.New(r, name)
	raw, _ := sess.Values["p"].(string)
	var list []pendingRequest
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &list)
	}
	now := s.now()
	live := list[:0]
	for _, p := range list {
		if now.Before(p.Expires) {
			live = append(live, p)
		}
	}
	return live
}

func (s *Server) savePendingTo(w http.ResponseWriter, r *http.Request, store *sessions.CookieStore, name string, list []pendingRequest) error {
	if len(list) > maxPending {
		list = list[len(list)-maxPending:]
	}
	sess, _ := store.New(r, name)
	b, _ := json.Marshal(list)
	sess.Values["p"] = string(b)
	if len(list) == 0 {
		sess.Options.MaxAge = -1
	}
	return sess.Save(r, w)
}

// browserSession is what the session cookie holds.
type browserSession struct {
	ID    string // server-side session id ("" = signed out)
	CSRF  string
	Flash string
	// Next is a role to open once the browser comes back to /continue:
	// token, grant key and destination on three lines, single use.
	Next string
}

func (s *Server) loadBrowser(r *http.Request) (*sessions.Session, browserSession) {
	sess, _ := s.sessStore.New(r, sessionCookie)
	var b browserSession
	b.ID, _ = sess.Values["sid"].(string)
	b.CSRF, _ = sess.Values["csrf"].(string)
	b.Flash, _ = sess.Values["flash"].(string)
	b.Next, _ = sess.Values["next"].(string)
	return sess, b
}

func (s *Server) saveBrowser(w http.ResponseWriter, r *http.Request, sess *sessions.Session, b browserSession) error {
	sess.Values["sid"] = b.ID
	sess.Values["csrf"] = b.CSRF
	for k, v := range map[string]string{"flash": b.Flash, "next": b.Next} {
		if v != "" {
			sess.Values[k] = v
		} else {
			delete(sess.Values, k)
		}
	}
	return sess.Save(r, w)
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("web: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokensEqual(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
