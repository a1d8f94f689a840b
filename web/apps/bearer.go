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

// roleRef reads a role named in an API request body: an account and a
// role (name, path/name, label), or a role ARN alone; EINVALID role_missing
// otherwise.
func roleRef(account, role, via string) (access.RoleRef, error) {
	if role == "" || (account == "" && !strings.HasPrefix(role, "arn:")) {
		return access.RoleRef{}, broker.Errorf(broker.EINVALID, "role_missing",
			`Name the role: {"account": "ID or alias", "role": "name"} or {"role": "ARN"}.`)
	}
	return access.RoleRef{Account: account, Role: role, Via: broker.Downstream(via)}, nil
}

// accessMeta is the request, for the audit log.
func accessMeta(c echo.Context) access.Meta {
	return access.Meta{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: c.Request().UserAgent()}
}
