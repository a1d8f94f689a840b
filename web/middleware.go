package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
)

const ctxRequestID = "request_id"

func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		c.Set(ctxRequestID, id)
		c.Response().Header().Set("X-Request-Id", id)
		return next(c)
	}
}

func requestIDOf(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// accessLog writes one structured line per request: never the query string
// (it may carry a SAMLRequest) nor any body.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		r := c.Request()
		s.log.InfoContext(r.Context(), "http request",
			"request_id", requestIDOf(c), "method", r.Method, "path", r.URL.Path,
			"status", c.Response().Status, "bytes", c.Response().Size,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", c.RealIP())
		return nil
	}
}

func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "request_id", requestIDOf(c), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				err = broker.Wrap(fmt.Errorf("panic: %v", v), broker.EINTERNAL, "panic", "")
			}
		}()
		return next(c)
	}
}

func contentSecurityPolicy(formActions []string) string {
	fa := "'self'"
	if len(formActions) > 0 {
		fa += " " + strings.Join(formActions, " ")
	}
	return "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
		"form-action " + fa + "; frame-ancestors 'none'; base-uri 'none'"
}

func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.secure {
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
func (s *Server) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.cfg.MaxBodyBytes {
			return broker.Errorf(broker.ETOOLARGE, "body_too_large", "The request is too large.")
		}
		r.Body = &limitedBody{rc: r.Body, left: s.cfg.MaxBodyBytes}
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
			return 0, errBodyTooLarge
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

var errBodyTooLarge = broker.Errorf(broker.ETOOLARGE, "body_too_large", "The request is too large.")

// requireCSRF checks the form's csrf_token against the session's token and,
// when the browser sends them, Origin / Sec-Fetch-Site.
func (s *Server) requireCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
			return broker.Errorf(broker.EFORBIDDEN, "csrf_cross_site", "This form was sent from another site. Go back to the portal and try again.")
		}
		if o := r.Header.Get("Origin"); o != "" && o != "null" && o != s.origin() {
			return broker.Errorf(broker.EFORBIDDEN, "csrf_origin", "This form was sent from another site. Go back to the portal and try again.")
		}
		_, b := s.loadBrowser(r)
		if err := parseForm(r); err != nil {
			return err
		}
		if !tokensEqual(b.CSRF, r.PostFormValue("csrf_token")) {
			return broker.Errorf(broker.EFORBIDDEN, "csrf_token", "Your form expired or was not sent from this portal. Reload the page and try again.")
		}
		return next(c)
	}
}

func (s *Server) origin() string { return s.base.Scheme + "://" + s.base.Host }

// parseForm parses a POST form and turns a body over the limit into 413.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		if broker.ErrorCode(err) == broker.ETOOLARGE {
			return errBodyTooLarge
		}
		if strings.Contains(err.Error(), "too large") {
			return errBodyTooLarge
		}
		return broker.Wrap(err, broker.EINVALID, "form_invalid", "The form could not be read.")
	}
	return nil
}
