package web

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
)

// Current is the signed-in session of a request.
type Current struct {
	ID      string // server-side session id
	Session *access.Session
	Browser Browser
	// Stale: the attributes are older than server.reauth_after; the IdP
	// must be asked again before a role or admin access is granted.
	Stale bool
}

// ctxStoreDown holds the store's EUNAVAILABLE error when the session of
// this request could not be loaded.
const ctxStoreDown = "store_down"

// Current loads the signed-in session, or returns ok=false. When the
// store is unavailable, the page the request renders is the 503 instead.
func (f *Frame) Current(c echo.Context) (*Current, bool) {
	b := f.LoadBrowser(c.Request())
	if b.ID == "" {
		return &Current{Browser: b}, false
	}
	ctx := c.Request().Context()
	sess, err := f.cfg.Sessions.Load(ctx, b.ID)
	if err != nil {
		switch {
		case broker.ErrorReason(err) == access.ReasonSessionIdle:
			// Ended just now for want of use: the page that shows the
			// sign-in (TakeFlash) says why, once, and forgets the id.
			b.ID, b.Next, b.Flash = "", "", broker.ErrorMessage(err)
		case broker.ErrorCode(err) == broker.EUNAVAILABLE:
			// The store is down, the person may well be signed in: the
			// page rendered for this request becomes the 503 (Render).
			c.Set(ctxStoreDown, err)
			f.log.ErrorContext(ctx, "load session", "request_id", RequestID(c), "err", err)
		case broker.ErrorCode(err) != broker.ENOTFOUND:
			f.log.ErrorContext(ctx, "load session", "request_id", RequestID(c), "err", err)
		}
		return &Current{Browser: b}, false
	}
	return &Current{ID: b.ID, Session: sess, Browser: b, Stale: f.cfg.Sessions.Stale(sess)}, true
}

// SaveSession writes the server-side session back, keeping its expiry.
func (f *Frame) SaveSession(c echo.Context, cur *Current) {
	ctx := c.Request().Context()
	if err := f.cfg.Sessions.Save(ctx, cur.ID, cur.Session); err != nil {
		f.log.ErrorContext(ctx, "update session", "request_id", RequestID(c), "err", err)
	}
}

// TakeFlash returns the one-time message and clears it from the cookie.
func (f *Frame) TakeFlash(c echo.Context, b Browser) string {
	if b.Flash == "" {
		return ""
	}
	msg := b.Flash
	b.Flash = ""
	_ = f.SaveBrowser(c.Response(), c.Request(), b)
	return msg
}

// SetFlash sets a one-time message on a signed-in browser.
func (f *Frame) SetFlash(c echo.Context, msg string) error {
	b := f.LoadBrowser(c.Request())
	if b.ID == "" {
		return nil
	}
	b.Flash = msg
	return f.SaveBrowser(c.Response(), c.Request(), b)
}

// DisplayName is how a person is named on pages.
func DisplayName(id *broker.Identity) string {
	for _, k := range []string{"displayName", "name", "email", "mail"} {
		if v := id.First(k); v != "" {
			return v
		}
	}
	return id.Subject
}

// BoundedParam returns v, or "" when it is longer than max.
func BoundedParam(v string, max int) string {
	if len(v) > max {
		return ""
	}
	return v
}

// WriteJSON answers with indented JSON.
func WriteJSON(c echo.Context, status int, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return c.JSONBlob(status, b)
}

// ReadJSON decodes a JSON request body strictly: unknown fields, data
// after the value and a body over the size limit are errors (EINVALID,
// ETOOLARGE) with a message for the client.
func ReadJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if broker.ErrorCode(err) == broker.ETOOLARGE {
			return ErrBodyTooLarge
		}
		return broker.Wrap(err, broker.EINVALID, "json_invalid", "The request body is not valid JSON for this endpoint: "+err.Error())
	}
	// Only the end of the body may follow the value: Token sees a stray
	// "}" or "]" that More would not, and a body cut at the size limit.
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil && broker.ErrorCode(err) == broker.ETOOLARGE:
		return ErrBodyTooLarge
	default:
		return broker.Errorf(broker.EINVALID, "json_invalid", "The request body has data after the JSON value.")
	}
}
