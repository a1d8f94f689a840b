package apps

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	brokerapps "github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/ratelimit"
)

// LoginPath is the login bridge's route (apps.Config.LoginPath).
const LoginPath = "/apps/login"

// maxIDLen bounds the id parameter (the ids are 43 characters).
const maxIDLen = 128

// Provider is the OpenID Provider for apps (*apps.Provider).
type Provider interface {
	Handler() http.Handler
	Request(ctx context.Context, id string) (*brokerapps.Request, error)
	Complete(ctx context.Context, id string, person *broker.Identity, authTime time.Time, m brokerapps.Meta) (string, error)
	Deny(w http.ResponseWriter, r *http.Request, id, description string)
	LoginRequired(w http.ResponseWriter, r *http.Request, id string)
	LoginRequiredBecause(w http.ResponseWriter, r *http.Request, id, description string)
	LookupDevice(ctx context.Context, userCode string, person *broker.Identity, m brokerapps.Meta) (*brokerapps.DeviceRequest, error)
	DecideDevice(ctx context.Context, userCode string, approve bool, person *broker.Identity, authTime time.Time, m brokerapps.Meta) error
	NeedsConsent(ctx context.Context, id string, person *broker.Identity) (*brokerapps.ConsentRequest, error)
	GrantConsent(ctx context.Context, id string, person *broker.Identity, m brokerapps.Meta) error
	RefuseConsent(ctx context.Context, id string, person *broker.Identity, m brokerapps.Meta)
	ConsentRequired(w http.ResponseWriter, r *http.Request, id string)
	Consents(ctx context.Context, person *broker.Identity) ([]brokerapps.Consent, error)
	RevokeConsent(ctx context.Context, clientID string, person *broker.Identity, m brokerapps.Meta) error
	// Registry is where admins register apps (the admin UI and API).
	Registry() *brokerapps.Registry
}

// Config configures the handler.
type Config struct {
	Frame     *web.Frame
	Providers *web.Providers
	OP        Provider
	// Credentials and Bearers serve the API for apps (roles, credentials,
	// console); nil: not mounted.
	Credentials Credentials
	Bearers     Bearers
	// SignInLimit bounds /oauth/authorize and the bridge per client address; nil: no limit.
	SignInLimit *ratelimit.Limiter
	// DeviceLimit bounds the device page's code checks per client
	// address; nil: DeviceLimit (10 a minute).
	DeviceLimit *ratelimit.Limiter
}

// Handler serves the OP's endpoints and the login bridge.
type Handler struct {
	*web.Frame
	cfg Config
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Frame == nil || cfg.Providers == nil || cfg.OP == nil {
		return nil, errors.New("web/apps: Frame, Providers and OP are required")
	}
	return &Handler{Frame: cfg.Frame, cfg: cfg}, nil
}

// Mount adds the routes.
func (h *Handler) Mount(e *echo.Echo) {
	op := echo.WrapHandler(h.cfg.OP.Handler())
	limit := ratelimit.Middleware(h.cfg.SignInLimit, "signin")
	e.GET(LoginPath, h.login, limit)
	e.Any(brokerapps.PathAuthorize, op, limit)
	e.Any(brokerapps.PathCallback, h.callbackFromOutside)
	e.Any("/oauth/*", op)
	h.mountDevice(e)
	h.mountConsent(e)
	if h.cfg.Credentials != nil && h.cfg.Bearers != nil {
		e.GET(RolesPath, h.roles)
		e.POST(CredentialsPath, h.credentials)
		e.POST(ConsolePath, h.console)
	}
}

var (
	errRequestUnknown = broker.Errorf(broker.ENOTFOUND, brokerapps.ReasonRequestNotFound,
		"This sign-in request has expired or was already used. Go back to the app and sign in again.")
	errCallbackDirect = broker.Errorf(broker.ENOTFOUND, "app_callback_direct",
		"This address is used by the broker itself, not opened directly. Go back to the app and sign in again.")
)

func (h *Handler) callbackFromOutside(echo.Context) error { return errCallbackDirect }

// login is the bridge: it completes the app's auth request with the
// portal session, or sends the person to sign in first and back here.
func (h *Handler) login(c echo.Context) error {
	id := web.BoundedParam(c.QueryParam("id"), maxIDLen)
	if id == "" {
		return errRequestUnknown
	}
	r := c.Request()
	ctx := r.Context()
	req, err := h.cfg.OP.Request(ctx, id)
	if err != nil {
		return err
	}
	cur, signedIn := h.Current(c)
	fresh := signedIn && req.FreshEnough(cur.Session.VerifiedAt(), cur.Session.Identity.AuthnInstant, h.Now())
	if signedIn && !cur.Stale && req.IdPIgnoredFresh(cur.Session.VerifiedAt(), cur.Session.Identity.AuthnInstant, h.Now()) {
		// The person signed in again for this request, and the IdP still
		// says they authenticated long before it: it reused its session
		// despite ForceAuthn / prompt=login. Going round again would loop.
		h.Log().InfoContext(ctx, "app sign-in: the IdP did not authenticate the person again", "request_id", web.RequestID(c),
			"client", req.ClientID, "provider", cur.Session.Identity.Provider, "idp_auth_time", cur.Session.Identity.AuthnInstant)
		h.cfg.OP.LoginRequiredBecause(c.Response(), r, id, "the identity provider did not ask the person to sign in again")
		return nil
	}
	if signedIn && fresh && !cur.Stale {
		// A third-party app asks the person first (consent.go).
		need, err := h.cfg.OP.NeedsConsent(ctx, id, &cur.Session.Identity)
		if err != nil {
			return err
		}
		switch {
		case need == nil:
			return h.complete(c, id, cur)
		case req.PromptNone:
			h.cfg.OP.ConsentRequired(c.Response(), r, id)
			return nil
		}
		return h.showConsent(c, cur, id, need)
	}
	if req.PromptNone {
		h.cfg.OP.LoginRequired(c.Response(), r, id)
		return nil
	}
	q := url.Values{"return": {LoginPath + "?id=" + url.QueryEscape(id)}}
	if signedIn {
		// Ask the person's own IdP again: afresh (ForceAuthn, prompt=login)
		// when the app wants a newer sign-in than the session's; otherwise
		// (a stale session) the IdP may answer without asking.
		if !fresh {
			q.Set("fresh", "1")
		}
		if p, ok := h.cfg.Providers.Get(cur.Session.Identity.Provider); ok {
			return c.Redirect(http.StatusFound, p.LoginPath()+"?"+q.Encode())
		}
	} else if req.PromptLogin || req.MaxAge != nil {
		q.Set("fresh", "1")
	}
	// Not signed in (or the session's IdP is gone): the sign-in page keeps the return.
	return c.Redirect(http.StatusFound, "/?"+q.Encode())
}

// complete finishes the auth request for the signed-in person and runs
// the OP's callback in this response: 302 to the app with the code, or
// access_denied when the app's condition refuses the person.
func (h *Handler) complete(c echo.Context, id string, cur *web.Current) error {
	r := c.Request()
	next, err := h.cfg.OP.Complete(r.Context(), id, &cur.Session.Identity,
		brokerapps.AuthTime(cur.Session.VerifiedAt(), cur.Session.Identity.AuthnInstant),
		brokerapps.Meta{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: r.UserAgent()})
	if broker.ErrorCode(err) == broker.EFORBIDDEN {
		h.Log().InfoContext(r.Context(), "app sign-in refused", "request_id", web.RequestID(c), "reason", broker.ErrorReason(err))
		h.cfg.OP.Deny(c.Response(), r, id, broker.ErrorMessage(err))
		return nil
	}
	if err != nil {
		return err
	}
	u, err := url.Parse(next)
	if err != nil {
		return broker.Wrap(err, broker.EINTERNAL, "app_callback_url", "")
	}
	cb := r.Clone(r.Context())
	cb.Method, cb.Body, cb.ContentLength = http.MethodGet, http.NoBody, 0
	cb.URL = &url.URL{Path: brokerapps.PathCallback, RawQuery: u.RawQuery}
	cb.RequestURI = cb.URL.RequestURI()
	h.cfg.OP.Handler().ServeHTTP(c.Response(), cb)
	return nil
}
