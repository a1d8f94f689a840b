package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
)

// StatusOf maps an error code to the HTTP status.
func StatusOf(code string) int {
	switch code {
	case broker.EINVALID:
		return http.StatusBadRequest
	case broker.EUNAUTHORIZED, broker.EEXPIRED, broker.EREPLAY:
		return http.StatusUnauthorized
	case broker.EFORBIDDEN:
		return http.StatusForbidden
	case broker.ENOTFOUND:
		return http.StatusNotFound
	case broker.ECONFLICT:
		return http.StatusConflict
	case broker.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case broker.ETOOMANY:
		return http.StatusTooManyRequests
	case broker.EUPSTREAM:
		return http.StatusBadGateway
	case broker.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// RetryAfterUnavailable is the Retry-After (seconds) of a 503: a store
// fail-over or an AWS hiccup is usually over within it.
const RetryAfterUnavailable = "30"

// handleError is echo's error handler: the person sees the safe message
// (what happened, who must act), what to do for its kind of error and the
// request id; the log gets the reason and the private cause. The reason
// is not shown on the page: it is for the log and the audit record (JSON
// clients still get it, to branch on).
func (f *Frame) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		err = fromHTTPError(he)
	}
	if down, ok := c.Get(ctxStoreDown).(error); ok {
		// The session could not be read: a "not signed in" or any other
		// error the handler drew from that is not the truth.
		err = down
	}
	code := broker.ErrorCode(err)
	status := StatusOf(code)
	rid := RequestID(c)
	level := f.log.Warn
	if status >= 500 {
		level = f.log.Error
	}
	level("request failed", "request_id", rid, "path", c.Request().URL.Path, "status", status,
		"code", code, "reason", broker.ErrorReason(err), "err", err)

	if status == http.StatusServiceUnavailable {
		// A dependency (the store, AWS, an IdP) is down for now: say when
		// to try again, to people, scripts and proxies alike.
		c.Response().Header().Set("Retry-After", RetryAfterUnavailable)
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") || c.Request().Header.Get("Accept") == "application/json" {
		_ = c.JSON(status, map[string]string{"error": code, "reason": broker.ErrorReason(err), "message": broker.ErrorMessage(err), "request_id": rid})
		return
	}
	data := errorPage{Page: f.Page(c, "Something went wrong"), WhatToDo: whatToDo(code)}
	data.Status = status
	data.Error = broker.ErrorMessage(err)
	data.RequestID = rid
	data.SignInAgain = code == broker.EEXPIRED || code == broker.EUNAUTHORIZED || code == broker.EREPLAY
	f.signedInHeader(c, &data.Page)
	switch code {
	case broker.EUNAUTHORIZED, broker.EEXPIRED, broker.EREPLAY:
		data.Title = "Sign-in failed"
	case broker.EFORBIDDEN:
		data.Title = "Not allowed"
	case broker.ENOTFOUND:
		data.Title = "Not found"
	case broker.EUNAVAILABLE:
		data.Title = "Temporarily unavailable"
	}
	if r, ok := access.SetupRefusalOf(err); ok {
		// Nothing the person does can change the account's setup.
		adv := r.Advice(f.cfg.ExternalURL)
		data.Setup, data.SignInAgain = &adv, false
		data.Title, data.WhatToDo = "AWS refused this role", whatToDoSetup
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = f.Render(c, status, "error.html", data)
}

// errorPage is the error page: the layout's fields and what to do.
type errorPage struct {
	Page
	WhatToDo string
	// Setup: AWS refused the role for a reason of the account's setup;
	// the page shows an administrator what to create.
	Setup *access.SetupAdvice
}

const whatToDoSetup = "Contact your administrator: only they can change the AWS account. Give them the request id shown below and the details under “For your administrator”."

// signedInHeader fills the header's signed-in part (who, sign out), so
// every error page shows who is signed in.
func (f *Frame) signedInHeader(c echo.Context, p *Page) {
	cur, ok := f.Current(c)
	if !ok || cur.Session == nil {
		return
	}
	p.SignedIn, p.User, p.CSRF = true, DisplayName(&cur.Session.Identity), cur.Browser.CSRF
}

// whatToDo is the error page's line on what to do. The message above it
// says what happened and who must act, as the package that refused knows
// it; this line adds only what is true of every error of its kind, and
// how to get help.
func whatToDo(code string) string {
	const help = "If you ask your administrator for help, give them the request id shown below: it leads to the details in the broker's log."
	switch code {
	case broker.ETOOMANY:
		return "Wait as long as the message above says, then try again. " + help
	case broker.EUNAVAILABLE:
		return "Nothing needs fixing on your side: this is temporary. Try again in a minute. " + help
	case broker.EUPSTREAM:
		return "Nothing needs fixing on your side. " + help
	case broker.EINTERNAL:
		return "This is a fault in the broker, not on your side. " + help
	}
	return help
}

func fromHTTPError(he *echo.HTTPError) error {
	switch he.Code {
	case http.StatusNotFound:
		return broker.Errorf(broker.ENOTFOUND, "route_not_found", "There is no page at this address.")
	case http.StatusMethodNotAllowed:
		return broker.Errorf(broker.EINVALID, "method_not_allowed", "This address does not accept that kind of request.")
	case http.StatusRequestEntityTooLarge:
		return ErrBodyTooLarge
	}
	if he.Code >= 400 && he.Code < 500 {
		return broker.Errorf(broker.EINVALID, "bad_request", "The request could not be understood.")
	}
	return broker.Wrap(he, broker.EINTERNAL, "http_error", "")
}
