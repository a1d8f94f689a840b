package meta

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
)

// goParams are the parameters of a /go link (web/portal) that an
// IdP-initiated sign-in at /idp/saml/sso passes on; anything else (a
// SAMLRequest, RelayState) is dropped: AWS sends no AuthnRequests.
var goParams = []string{"account", "role", "via", "region", "destination"}

// idpSSO is the SingleSignOnService the broker's IdP metadata advertises
// (IAM requires one): IdP-initiated sign-in to AWS from the broker. With
// role= it is a /go deep link (the portal resolves the role among the
// person's, signs them in first if needed, and asks before opening a role
// from a link another site made); without, the portal's role list. Both
// bindings the metadata names (HTTP-Redirect, HTTP-POST) arrive here; a
// POST's body is not read.
func (h *Handler) idpSSO(c echo.Context) error {
	if h.cfg.IDPMetadata == nil {
		return broker.Errorf(broker.ENOTFOUND, "issuer_not_configured", "This broker does not act as a SAML identity provider.")
	}
	in := c.Request().URL.Query()
	if in.Get("role") == "" {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	q := url.Values{}
	for _, k := range goParams {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	return c.Redirect(http.StatusSeeOther, "/go?"+q.Encode())
}
