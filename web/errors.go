package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
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

// handleError is echo's error handler: the user sees a safe message and the
// request id; the log gets the private cause.
func (f *Frame) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		err = fromHTTPError(he)
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

	if strings.HasPrefix(c.Request().URL.Path, "/api/") || c.Request().Header.Get("Accept") == "application/json" {
		_ = c.JSON(status, map[string]string{"error": code, "reason": broker.ErrorReason(err), "message": broker.ErrorMessage(err), "request_id": rid})
		return
	}
	data := f.Page(c, "Something went wrong")
	data.Status = status
	data.Error = broker.ErrorMessage(err)
	data.Reason = broker.ErrorReason(err)
	data.RequestID = rid
	data.SignInAgain = code == broker.EEXPIRED || code == broker.EUNAUTHORIZED || code == broker.EREPLAY
	switch code {
	case broker.EUNAUTHORIZED, broker.EEXPIRED, broker.EREPLAY:
		data.Title = "Sign-in failed"
	case broker.EFORBIDDEN:
		data.Title = "Not allowed"
	case broker.ENOTFOUND:
		data.Title = "Not found"
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = f.Render(c, status, "error.html", data)
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
