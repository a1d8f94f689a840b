package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
)

const ctxRequestID = "request_id"

func (f *Frame) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, _ := c.Request().Context().Value(requestIDKey{}).(string)
		if id == "" {
			id = NewRequestID()
		}
		c.Set(ctxRequestID, id)
		// In the request's context too: every line logged with it carries
		// the id (LogHandler).
		c.SetRequest(c.Request().WithContext(WithRequestID(c.Request().Context(), id)))
		c.Response().Header().Set("X-Request-Id", id)
		return next(c)
	}
}

// NewRequestID returns a fresh random request id (16 hex digits).
func NewRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RequestID is the id of the request, in its logs, audit records and pages.
func RequestID(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// accessLog writes one structured line per request: never the query string
// (it may carry a SAMLRequest) nor any body.
func (f *Frame) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := f.now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		r := c.Request()
		f.log.InfoContext(r.Context(), "http request",
			"request_id", RequestID(c), "method", r.Method, "path", r.URL.Path,
			"status", c.Response().Status, "bytes", c.Response().Size,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", c.RealIP())
		return nil
	}
}

func (f *Frame) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				f.log.ErrorContext(c.Request().Context(), "panic in handler", "request_id", RequestID(c), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				err = broker.Wrap(fmt.Errorf("panic: %v", v), broker.EINTERNAL, "panic", "")
			}
		}()
		return next(c)
	}
}

// AllowFormAction lets this response's page post a form to target's
// origin (a protocol message to an IdP over HTTP-POST): the page's
// Content-Security-Policy form-action gains that one origin.
func (f *Frame) AllowFormAction(c echo.Context, target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return broker.Errorf(broker.EINTERNAL, "form_target_invalid", "")
	}
	origins := append(append([]string(nil), f.cfg.FormActionOrigins...), u.Scheme+"://"+u.Host)
	c.Response().Header().Set("Content-Security-Policy", contentSecurityPolicy(origins))
	return nil
}

func contentSecurityPolicy(formActions []string) string {
	fa := "'self'"
	if len(formActions) > 0 {
		fa += " " + strings.Join(formActions, " ")
	}
	return "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
		"form-action " + fa + "; frame-ancestors 'none'; base-uri 'none'"
}

func (f *Frame) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", f.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if f.secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			// Pages carry identities, role lists, CSRF tokens and redirects
			// to credential-bearing URLs: never cache them.
			h.Set("Cache-Control", "no-store")
			h.Set("Pragma", "no-cache")
		}
		return next(c)
	}
}

// bodyLimit refuses bodies over MaxBodyBytes with 413, whether or not the
// client declared a Content-Length.
func (f *Frame) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > f.cfg.MaxBodyBytes {
			return broker.Errorf(broker.ETOOLARGE, "body_too_large", "The request is too large.")
		}
		r.Body = &limitedBody{rc: r.Body, left: f.cfg.MaxBodyBytes}
		return next(c)
	}
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more than allowed proves the body is too large.
		var one [1]byte
		if n, _ := l.rc.Read(one[:]); n > 0 {
			return 0, ErrBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// ErrBodyTooLarge is the error for a request body over the limit.
var ErrBodyTooLarge = broker.Errorf(broker.ETOOLARGE, "body_too_large", "The request is too large.")

// RequireCSRF checks the form's csrf_token against the session's token and,
// when the browser sends them, Origin / Sec-Fetch-Site.
func (f *Frame) RequireCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
			return broker.Errorf(broker.EFORBIDDEN, "csrf_cross_site", "This form was sent from another site. Go back to the portal and try again.")
		}
		if o := r.Header.Get("Origin"); o != "" && o != "null" && o != f.Origin() {
			return broker.Errorf(broker.EFORBIDDEN, "csrf_origin", "This form was sent from another site. Go back to the portal and try again.")
		}
		b := f.LoadBrowser(r)
		if err := ParseForm(r); err != nil {
			return err
		}
		if !TokensEqual(b.CSRF, r.PostFormValue("csrf_token")) {
			return broker.Errorf(broker.EFORBIDDEN, "csrf_token", "Your form expired or was not sent from this portal. Reload the page and try again.")
		}
		return next(c)
	}
}

// ParseForm parses a POST form and turns a body over the limit into 413.
func ParseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		if broker.ErrorCode(err) == broker.ETOOLARGE {
			return ErrBodyTooLarge
		}
		if strings.Contains(err.Error(), "too large") {
			return ErrBodyTooLarge
		}
		return broker.Wrap(err, broker.EINVALID, "form_invalid", "The form could not be read.")
	}
	return nil
}
