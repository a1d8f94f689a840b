package apps

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	brokerapps "github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/web"
)

// ReasonScope: the access token lacks the scope the API needs (403).
const ReasonScope = "access_token_scope"

// bearer reads the request's app access token (Authorization: Bearer) and
// checks it allows scope, which lets the app have what (in words, for the
// message). Every API answer is personal: no-store. A missing, invalid,
// expired or revoked token is apps.VerifyBearer's EUNAUTHORIZED (401) with
// WWW-Authenticate: Bearer error="invalid_token" (RFC 6750); a token
// without the scope is EFORBIDDEN ReasonScope (403).
func (h *Handler) bearer(c echo.Context, scope, what string) (*brokerapps.Bearer, error) {
	c.Response().Header().Set("Cache-Control", "no-store")
	r := c.Request()
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		raw = ""
	}
	b, err := h.cfg.Bearers.VerifyBearer(r.Context(), strings.TrimSpace(raw))
	if err != nil {
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return nil, err
	}
	if !b.Allows(scope) {
		return nil, broker.Errorf(broker.EFORBIDDEN, ReasonScope,
			"This access token does not allow %s: the app must ask for the scope %s (and be allowed it).", what, scope)
	}
	return b, nil
}

// roleBody is how the credentials and console request bodies name a role
// and a duration: an account and a role (name, path/name, label), or a
// role ARN alone; Via picks saml or web-identity when the role is granted
// both ways; Duration is a Go duration ("1h") or seconds, empty = the
// role's.
type roleBody struct {
	Account  string        `json:"account"`
	Role     string        `json:"role"`
	Via      string        `json:"via,omitempty"`
	Duration durationValue `json:"duration,omitempty"`
}

func (b *roleBody) body() *roleBody { return b }

// roleCall starts a request that asks for a role with an app's access
// token: the bearer must carry aws:credentials (what names the action in
// its refusal), the JSON body is read into in, and its role must be named
// (EINVALID role_missing otherwise).
func (h *Handler) roleCall(c echo.Context, what string, in interface{ body() *roleBody }) (*brokerapps.Bearer, access.RoleRef, error) {
	bearer, err := h.bearer(c, brokerapps.ScopeAWSCredentials, what)
	if err != nil {
		return nil, access.RoleRef{}, err
	}
	if err := web.ReadJSON(c, in); err != nil {
		return nil, access.RoleRef{}, err
	}
	b := in.body()
	if b.Role == "" || (b.Account == "" && !strings.HasPrefix(b.Role, "arn:")) {
		return nil, access.RoleRef{}, broker.Errorf(broker.EINVALID, "role_missing",
			`Name the role: {"account": "ID or alias", "role": "name"} or {"role": "ARN"}.`)
	}
	return bearer, access.RoleRef{Account: b.Account, Role: b.Role, Via: broker.Downstream(b.Via)}, nil
}

// accessMeta is the request, for the audit log.
func accessMeta(c echo.Context) access.Meta {
	return access.Meta{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: c.Request().UserAgent()}
}
