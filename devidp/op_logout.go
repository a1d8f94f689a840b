package devidp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0).
const (
	backchannelEvent   = "http://schemas.openid.net/event/backchannel-logout"
	backchannelTimeout = 5 * time.Second
	logoutTokenTTL     = 2 * time.Minute
	maxIDTokenHint     = 16 << 10
)

// serveEndSession is the end session endpoint (OpenID Connect
// RP-Initiated Logout 1.0), GET or POST:
//
//	id_token_hint             optional; must be an ID token this OP signed (expired is fine)
//	client_id                 optional; must be in the hint's aud when both are given
//	post_logout_redirect_uri  must be registered for the client, else an error page
//	state                     echoed to post_logout_redirect_uri
//
// With a valid hint the hint's session (its sid, else the browser's
// session if it is the hint's sub) ends at once; without one the browser's
// session ends after the person confirms (POST confirm=yes). Ending a
// session revokes its tokens and sends logout tokens to the clients that
// got tokens in it; then the browser goes to post_logout_redirect_uri, or
// sees a signed-out page.
func (o *OP) serveEndSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		o.page(w, http.StatusBadRequest, "error", map[string]any{"Message": "Unreadable logout request."})
		return
	}
	f := r.Form
	hintRaw, clientID, redirect, state := f.Get("id_token_hint"), f.Get("client_id"), f.Get("post_logout_redirect_uri"), f.Get("state")
	refuse := func(msg string) { o.page(w, http.StatusBadRequest, "error", map[string]any{"Message": msg}) }
	var hint *idTokenHint
	if hintRaw != "" {
		var err error
		if hint, err = o.verifyHint(hintRaw); err != nil {
			o.log.Info("devop: end session: id_token_hint refused", "err", err)
			refuse("The id_token_hint was not issued by this OP.")
			return
		}
		switch {
		case clientID == "" && len(hint.Aud) == 1:
			clientID = hint.Aud[0]
		case clientID != "" && !slices.Contains(hint.Aud, clientID):
			refuse("The id_token_hint was issued to another client than client_id.")
			return
		}
	}
	c, known := o.clients[clientID]
	switch {
	case clientID != "" && !known:
		refuse("Unknown client.")
		return
	case redirect != "" && !known:
		refuse("A post_logout_redirect_uri needs client_id or id_token_hint.")
		return
	case redirect != "" && !slices.Contains(c.PostLogoutRedirectURIs, redirect):
		refuse("The post_logout_redirect_uri is not registered for this client.")
		return
	}
	cookieKey, sess, hasSession := o.session(r)
	switch {
	case hint != nil:
		o.endHinted(r.Context(), hint, cookieKey, sess, hasSession)
	case hasSession && (r.Method != http.MethodPost || r.PostForm.Get("confirm") != "yes"):
		o.page(w, http.StatusOK, "op-logout-confirm", map[string]any{"ClientID": clientID, "Redirect": redirect, "State": state})
		return
	case hasSession:
		o.endSession(r.Context(), cookieKey)
	}
	if _, _, still := o.session(r); !still {
		http.SetCookie(w, &http.Cookie{Name: opSessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	}
	if redirect == "" {
		o.page(w, http.StatusOK, "op-signed-out", map[string]any{})
		return
	}
	if state != "" {
		redirect = appendQuery(redirect, url.Values{"state": {state}})
	}
	http.Redirect(w, r, redirect, http.StatusFound)
}

// endHinted ends the session the hint names: by sid, else the browser's
// session when it is the hint's subject's.
func (o *OP) endHinted(ctx context.Context, hint *idTokenHint, cookieKey string, sess opSession, hasSession bool) {
	if hint.SID != "" {
		o.mu.Lock()
		key := ""
		for k, s := range o.sessions {
			if s.sid == hint.SID {
				key = k
			}
		}
		o.mu.Unlock()
		if key != "" {
			o.endSession(ctx, key)
		}
		return
	}
	if hasSession && SubjectOf(sess.user) == hint.Sub {
		o.endSession(ctx, cookieKey)
	}
}

func appendQuery(u string, v url.Values) string {
	if strings.Contains(u, "?") {
		return u + "&" + v.Encode()
	}
	return u + "?" + v.Encode()
}

// idTokenHint is what the end session endpoint reads of an id_token_hint.
type idTokenHint struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	SID string   `json:"sid"`
	Aud audience `json:"aud"`
}

// audience is aud as a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// verifyHint checks an id_token_hint is an ID token this OP signed. Its
// expiry is not checked: the spec lets an expired ID token be the hint.
func (o *OP) verifyHint(raw string) (*idTokenHint, error) {
	if len(raw) > maxIDTokenHint {
		return nil, errors.New("id_token_hint too large")
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(&o.key.PublicKey)
	if err != nil {
		return nil, err
	}
	var h idTokenHint
	if err := json.Unmarshal(payload, &h); err != nil {
		return nil, err
	}
	if h.Iss != o.issuer || h.Sub == "" {
		return nil, errors.New("id_token_hint of another issuer, or without sub")
	}
	return &h, nil
}

func (o *OP) serveLogout(w http.ResponseWriter, r *http.Request) {
	if key, _, ok := o.session(r); ok {
		o.endSession(r.Context(), key)
	}
	http.SetCookie(w, &http.Cookie{Name: opSessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sessionBySID finds a live session by its sid; o.mu must be held.
func (o *OP) sessionBySID(sid string) *opSession {
	for _, s := range o.sessions {
		if s.sid == sid && sid != "" {
			return s
		}
	}
	return nil
}

// endSession ends the SSO session with the cookie value key: it is
// forgotten, the codes and tokens issued in it are revoked, and every
// client that received tokens in it and has a BackchannelLogoutURI gets a
// logout token. The deliveries run in parallel and take at most
// backchannelTimeout, whatever the browser does meanwhile.
func (o *OP) endSession(ctx context.Context, key string) {
	o.mu.Lock()
	s, ok := o.sessions[key]
	if !ok {
		o.mu.Unlock()
		return
	}
	delete(o.sessions, key)
	for _, m := range []map[string]*grant{o.codes, o.access, o.refresh} {
		for k, g := range m {
			if g.sid == s.sid {
				delete(m, k)
			}
		}
	}
	var targets []Client
	for id := range s.clients {
		if c := o.clients[id]; c.BackchannelLogoutURI != "" {
			targets = append(targets, c)
		}
	}
	user, sid := s.user, s.sid
	o.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backchannelTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range targets {
		wg.Go(func() { o.sendLogoutToken(ctx, c, SubjectOf(user), sid) })
	}
	wg.Wait()
}

// sendLogoutToken POSTs a logout token to the client's back-channel
// logout URI. Failures are logged (never the token) and not retried.
func (o *OP) sendLogoutToken(ctx context.Context, c Client, sub, sid string) {
	tok, err := o.logoutToken(c.ID, sub, sid)
	if err != nil {
		o.log.Error("devop: back-channel logout: sign", "client", c.ID, "err", err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		o.log.Warn("devop: back-channel logout", "client", c.ID, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := o.hc.Do(req)
	if err != nil {
		o.log.Warn("devop: back-channel logout: not delivered", "client", c.ID, "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		o.log.Warn("devop: back-channel logout: refused", "client", c.ID, "status", resp.StatusCode)
		return
	}
	o.log.Info("devop: back-channel logout delivered", "client", c.ID)
}

// logoutToken signs a logout token (typ logout+jwt) for the client.
func (o *OP) logoutToken(client, sub, sid string) (string, error) {
	now := o.now()
	b, err := json.Marshal(map[string]any{"iss": o.issuer, "aud": client, "iat": now.Unix(), "exp": now.Add(logoutTokenTTL).Unix(),
		"jti": randomID(16), "sub": sub, "sid": sid, "events": map[string]any{backchannelEvent: map[string]any{}}})
	if err != nil {
		return "", err
	}
	jws, err := o.logoutS.Sign(b)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
