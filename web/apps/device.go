package apps

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	brokerapps "github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/ratelimit"
)

// The verification page of the device flow (RFC 8628):
//
//	GET  /device[?user_code=]   signed in: the form for the code (prefilled from
//	                            verification_uri_complete); otherwise the sign-in
//	                            page, ?return=/device?user_code=…
//	POST /device (CSRF)         user_code ──> the app's name, the scopes it asks and
//	                            who is signed in, with Allow and Deny
//	POST /device (CSRF)         user_code + decision=allow|deny ──> done
//
// Typed codes are checked on POST only (CSRF, rate limited per address),
// so another site cannot make a signed-in browser try codes.

// DeviceLimit is the default rate limit of code checks per client address.
var DeviceLimit = ratelimit.Limit{PerMinute: 10, Burst: 5}

// maxUserCodeParam bounds the user_code parameter.
const maxUserCodeParam = 32

type devicePage struct {
	web.Page
	UserCode   string
	Problem    string
	Request    *brokerapps.DeviceRequest
	ScopeTexts []string
	Provider   string
	Done       string
}

// scopeTexts says what each scope lets the app do, for the person.
var scopeTexts = map[string]string{
	brokerapps.ScopeOpenID:         "know who you are (your broker identity)",
	brokerapps.ScopeProfile:        "see your name",
	brokerapps.ScopeEmail:          "see your email address",
	brokerapps.ScopeGroups:         "see your groups",
	brokerapps.ScopeOfflineAccess:  "stay signed in until you sign it out (refresh tokens)",
	brokerapps.ScopeAWSRoles:       "see the AWS roles the rules give you",
	brokerapps.ScopeAWSCredentials: "get AWS credentials for the roles the rules give you",
}

func (h *Handler) mountDevice(e *echo.Echo) {
	limit := h.cfg.DeviceLimit
	if limit == nil {
		limit = ratelimit.New(DeviceLimit, 0, h.Now)
	}
	e.GET(brokerapps.DevicePath, h.device)
	e.POST(brokerapps.DevicePath, h.devicePost, ratelimit.Middleware(limit, "device"), h.RequireCSRF)
}

// deviceSignIn sends a person who is not signed in (or whose sign-in must
// be verified again) to sign in, and back to the page with the code.
func (h *Handler) deviceSignIn(c echo.Context, cur *web.Current, signedIn bool, code string) error {
	ret := brokerapps.DevicePath
	if code != "" {
		ret += "?" + url.Values{"user_code": {code}}.Encode()
	}
	q := url.Values{"return": {ret}}
	if signedIn {
		if p, ok := h.cfg.Providers.Get(cur.Session.Identity.Provider); ok {
			return c.Redirect(http.StatusFound, p.LoginPath()+"?"+q.Encode())
		}
	}
	return c.Redirect(http.StatusFound, "/?"+q.Encode())
}

func (h *Handler) device(c echo.Context) error {
	code := web.BoundedParam(c.QueryParam("user_code"), maxUserCodeParam)
	if n := brokerapps.NormalizeUserCode(code); n != "" {
		code = brokerapps.FormatUserCode(n)
	}
	cur, signedIn := h.Current(c)
	if !signedIn || cur.Stale {
		return h.deviceSignIn(c, cur, signedIn, code)
	}
	pd := h.devicePage(c, cur)
	pd.UserCode = code
	return h.Render(c, http.StatusOK, "device.html", pd)
}

func (h *Handler) devicePage(c echo.Context, cur *web.Current) devicePage {
	pd := devicePage{Page: h.Page(c, "Connect a device")}
	pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(&cur.Session.Identity), cur.Browser.CSRF
	if p, ok := h.cfg.Providers.Get(cur.Session.Identity.Provider); ok {
		pd.Provider = p.Label
	}
	return pd
}

func (h *Handler) devicePost(c echo.Context) error {
	code := web.BoundedParam(c.FormValue("user_code"), maxUserCodeParam)
	cur, signedIn := h.Current(c)
	if !signedIn || cur.Stale {
		return h.deviceSignIn(c, cur, signedIn, code)
	}
	r := c.Request()
	ctx := r.Context()
	person := &cur.Session.Identity
	meta := brokerapps.Meta{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: r.UserAgent()}
	pd := h.devicePage(c, cur)
	pd.UserCode = code
	decision := c.FormValue("decision")
	if decision != "allow" && decision != "deny" {
		req, err := h.cfg.OP.LookupDevice(ctx, code, person, meta)
		if err != nil {
			return h.deviceProblem(c, pd, err)
		}
		pd.Request, pd.UserCode = req, req.UserCode
		for _, s := range req.Scopes {
			if t, ok := scopeTexts[s]; ok {
				pd.ScopeTexts = append(pd.ScopeTexts, t)
			}
		}
		return h.Render(c, http.StatusOK, "device.html", pd)
	}
	err := h.cfg.OP.DecideDevice(ctx, code, decision == "allow", person, brokerapps.AuthTime(cur.Session.VerifiedAt(), cur.Session.Identity.AuthnInstant), meta)
	if err != nil {
		if broker.ErrorCode(err) == broker.EFORBIDDEN {
			h.Log().InfoContext(ctx, "device approval refused", "request_id", meta.RequestID, "reason", broker.ErrorReason(err))
			return err
		}
		return h.deviceProblem(c, pd, err)
	}
	pd.Done = "Done: the device was refused. You can close this page."
	if decision == "allow" {
		pd.Done = "Done: the device is signed in as you. Go back to it; you can close this page."
	}
	return h.Render(c, http.StatusOK, "device.html", pd)
}

// deviceProblem shows the form again with what was wrong with the code
// (400 malformed, 404 unknown, expired or used); other errors go to the
// error page.
func (h *Handler) deviceProblem(c echo.Context, pd devicePage, err error) error {
	status := http.StatusBadRequest
	switch broker.ErrorCode(err) {
	case broker.EINVALID:
	case broker.ENOTFOUND:
		status = http.StatusNotFound
	default:
		return err
	}
	h.Log().InfoContext(c.Request().Context(), "device code refused", "request_id", web.RequestID(c), "reason", broker.ErrorReason(err))
	pd.Problem = broker.ErrorMessage(err)
	return h.Render(c, status, "device.html", pd)
}
