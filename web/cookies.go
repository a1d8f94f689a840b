package web

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// sessionCookie is the browser session: a random server-side session id,
// the CSRF token, a one-time message and the post-sign-in continuation.
const sessionCookie = "broker_session"

// sessionCookieName is the session cookie's name: on https with the
// __Host- prefix, so browsers take it only when it is Secure, for Path=/
// and without Domain: a sibling subdomain (or a man in the middle on
// plain http) cannot plant a session cookie of its own.
func sessionCookieName(secure bool) string {
	if secure {
		return "__Host-" + sessionCookie
	}
	return sessionCookie
}

// CookieOptions describe one signed, encrypted cookie.
type CookieOptions struct {
	Name     string
	Path     string
	MaxAge   time.Duration
	SameSite http.SameSite
}

// Cookie is a signed and encrypted cookie of string values (gorilla/sessions
// with keys derived from the session keys).
type Cookie struct {
	store *sessions.CookieStore
	name  string
	log   *slog.Logger
}

// NewCookieStore builds a cookie codec: one codec pair per configured key,
// each derived with HKDF so one secret gives separate MAC and AES keys.
func (f *Frame) NewCookieStore(o CookieOptions) (*Cookie, error) {
	var pairs [][]byte
	for _, k := range f.keys {
		hashKey, err := hkdf.Key(sha256.New, k, nil, "broker cookie mac", 32)
		if err != nil {
			return nil, err
		}
		blockKey, err := hkdf.Key(sha256.New, k, nil, "broker cookie aes", 32)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, hashKey, blockKey)
	}
	st := sessions.NewCookieStore(pairs...)
	for _, c := range st.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(cookieSerializer{})
		}
	}
	st.Options = &sessions.Options{Path: o.Path, MaxAge: int(o.MaxAge.Seconds()), HttpOnly: true, Secure: f.secure, SameSite: o.SameSite}
	st.MaxAge(st.Options.MaxAge)
	name := o.Name
	if name == "" {
		name = sessionCookie
	}
	log := f.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cookie{store: st, name: name, log: log}, nil
}

// cookieSerializer writes a cookie's values, strings only (Put sets
// nothing else), as one JSON object. gorilla's default, gob, describes the
// map's types in every cookie and compiles a decoder for them on every
// request it reads. Cookies written with gob (before 30 Nov 2026) still
// read: a gob stream of these values opens with its type message (0x0d),
// never with '{'.
type cookieSerializer struct{}

func (cookieSerializer) Serialize(src any) ([]byte, error) {
	m, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("web: cookie values are a %T, want map[any]any", src)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		ks, ok1 := k.(string)
		vs, ok2 := v.(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("web: cookie value %v (%T) is not a string", k, v)
		}
		out[ks] = vs
	}
	return json.Marshal(out)
}

func (cookieSerializer) Deserialize(src []byte, dst any) error {
	p, ok := dst.(*map[any]any)
	if !ok {
		return undecodable{fmt.Errorf("web: cookie values decode into a %T, want *map[any]any", dst)}
	}
	if len(src) > 0 && src[0] != '{' {
		if err := (securecookie.GobEncoder{}).Deserialize(src, dst); err != nil {
			return undecodable{err}
		}
		return nil
	}
	var in map[string]string
	if err := json.Unmarshal(src, &in); err != nil {
		return undecodable{err}
	}
	if *p == nil {
		*p = make(map[any]any, len(in))
	}
	for k, v := range in {
		(*p)[k] = v
	}
	return nil
}

// undecodable is a cookie's content that did not decode. securecookie
// deserializes only after the MAC verified and the value decrypted, so a
// cookie with this error was written with one of our keys.
type undecodable struct{ err error }

func (u undecodable) Error() string { return "cookie content undecodable: " + u.err.Error() }

// undecodableCause is the decoding error of a cookie that was authentic
// but did not decode, or nil when err is something else (no cookie, a
// MAC that matches none of the keys, a value too long).
func undecodableCause(err error) error {
	errs := []error{err}
	if m, ok := err.(securecookie.MultiError); ok {
		errs = m
	}
	for _, e := range errs {
		var u undecodable
		if c, ok := e.(interface{ Cause() error }); ok && errors.As(c.Cause(), &u) {
			return u.err
		}
	}
	return nil
}

// Get returns the cookie's values; a missing or undecodable cookie has
// none. A cookie that no current key authenticates is logged at debug
// level (old keys retired, or tampering); one that is authentic but does
// not decode, which only a bug or a newer version writes, at warning
// level, with the decoder's error and never the value.
func (c *Cookie) Get(r *http.Request) map[string]string {
	sess, err := c.store.New(r, c.name)
	if err != nil && !errors.Is(err, http.ErrNoCookie) {
		if cause := undecodableCause(err); cause != nil {
			c.log.WarnContext(r.Context(), "cookie is authentic but does not decode; treated as absent",
				"cookie", c.name, "reason", "cookie_undecodable", "error", cause.Error())
		} else {
			c.log.DebugContext(r.Context(), "cookie not accepted; treated as absent",
				"cookie", c.name, "reason", "cookie_not_authentic", "error", err.Error())
		}
	}
	out := map[string]string{}
	for k, v := range sess.Values {
		ks, ok1 := k.(string)
		vs, ok2 := v.(string)
		if ok1 && ok2 {
			out[ks] = vs
		}
	}
	return out
}

// Retract takes back what Put set on w for this cookie, while w's headers
// are not yet written: an answer that refuses the request then leaves the
// browser's cookie as it was.
func (c *Cookie) Retract(w http.ResponseWriter) {
	h := w.Header()
	var kept []string
	for _, v := range h.Values("Set-Cookie") {
		if !strings.HasPrefix(v, c.name+"=") {
			kept = append(kept, v)
		}
	}
	h.Del("Set-Cookie")
	for _, v := range kept {
		h.Add("Set-Cookie", v)
	}
}

// Put replaces the cookie's values; empty values are left out, and a cookie
// with no values left is deleted.
func (c *Cookie) Put(w http.ResponseWriter, r *http.Request, values map[string]string) error {
	// A new session, not c.store.New: that would decode the request's
	// cookie only for its values to be dropped here.
	sess := sessions.NewSession(c.store, c.name)
	opts := *c.store.Options
	sess.Options = &opts
	sess.IsNew = true
	for k, v := range values {
		if v != "" {
			sess.Values[k] = v
		}
	}
	if len(sess.Values) == 0 {
		sess.Options.MaxAge = -1
	}
	return sess.Save(r, w)
}

// Browser is what the session cookie holds.
type Browser struct {
	ID    string // server-side session id ("" = signed out)
	CSRF  string
	Flash string
	// Next is the role to open once the browser comes back to /continue
	// (single use); its encoding belongs to the portal.
	Next string
	// Switch is a sign-in of someone else that arrived unasked and waits
	// for the person's choice; its encoding belongs to the portal.
	Switch string
}

// LoadBrowser reads the session cookie.
func (f *Frame) LoadBrowser(r *http.Request) Browser {
	v := f.sessStore.Get(r)
	return Browser{ID: v["sid"], CSRF: v["csrf"], Flash: v["flash"], Next: v["next"], Switch: v["switch"]}
}

// SaveBrowser writes the session cookie.
func (f *Frame) SaveBrowser(w http.ResponseWriter, r *http.Request, b Browser) error {
	return f.sessStore.Put(w, r, map[string]string{"sid": b.ID, "csrf": b.CSRF, "flash": b.Flash, "next": b.Next, "switch": b.Switch})
}

// RandomToken returns n random bytes, base64url encoded.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("web: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// TokensEqual compares two secrets in constant time; empty never matches.
func TokensEqual(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
