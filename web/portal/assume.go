package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/web"
)

// continueTo opens the role remembered at sign-in (see signIn). The
// single-use token in the URL ties this GET to that sign-in, so another
// site cannot make the browser assume a role.
func (h *Handler) continueTo(c echo.Context) error {
	cur, ok := h.Current(c)
	if !ok {
		return web.NotSignedIn
	}
	next, ok := decodeContinuation(cur.Browser.Next)
	if !ok || !web.TokensEqual(next.Token, c.QueryParam("t")) {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	cur.Browser.Next = ""
	if err := h.SaveBrowser(c.Response(), c.Request(), cur.Browser); err != nil {
		return err
	}
	return h.assume(c, cur, next.Grant, next.Destination, false)
}

// assume runs access.Assume and answers with a 302 to the console login
// URL. When the upstream credential is used up or expired, it renews an
// OIDC ID token with the refresh token if it has one; otherwise, if
// mayReauth, the browser goes through the IdP again (silently, if it still
// has a session there) and comes back to this role.
func (h *Handler) assume(c echo.Context, cur *web.Current, grantKey, dest string, mayReauth bool) error {
	data := cur.Data
	out, err := h.runAssume(c, cur, grantKey, dest)
	if err != nil && h.canRefresh(data, err) {
		if rerr := h.refreshUpstream(c, cur); rerr == nil {
			out, err = h.runAssume(c, cur, grantKey, dest)
		} else {
			h.Log().InfoContext(c.Request().Context(), "refresh failed, signing in again", "request_id", web.RequestID(c), "err", rerr)
		}
	}
	if err != nil {
		if p, ok := h.reauthProvider(data, err); ok && mayReauth {
			return h.reauthPage(c, cur, p, grantKey, dest)
		}
		return err
	}
	if len(out.Notices) > 0 {
		var msgs []string
		for _, n := range out.Notices {
			msgs = append(msgs, n.Message)
		}
		b := cur.Browser
		b.Flash = strings.Join(msgs, " ")
		_ = h.SaveBrowser(c.Response(), c.Request(), b)
	}
	return c.Redirect(http.StatusFound, out.ConsoleURL)
}

func (h *Handler) runAssume(c echo.Context, cur *web.Current, grantKey, dest string) (*access.Outcome, error) {
	r, data := c.Request(), cur.Data
	out, err := h.cfg.Access.Assume(r.Context(), access.AssumeInput{
		Identity: &data.Identity, GrantKey: grantKey, Destination: dest,
		Upstream: access.Upstream{SAMLResponse: data.SAMLResponse, Used: data.Used, IDToken: data.IDToken, IDTokenExpires: data.IDTokenExpires},
		Meta:     access.Meta{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: r.UserAgent()},
	})
	if out != nil && out.UsedUpstream && (err == nil || broker.ErrorCode(err) != broker.EINVALID) {
		// Presented to AWS: it will not take it again, whatever the outcome.
		data.Used = true
		h.SaveData(c, cur)
	}
	return out, err
}

func (h *Handler) canRefresh(data *web.SessionData, err error) bool {
	if data.Identity.Protocol != broker.ProtocolOIDC || data.RefreshToken == "" || broker.ErrorCode(err) != broker.EEXPIRED {
		return false
	}
	r := broker.ErrorReason(err)
	return r == access.ReasonUpstreamTokenExpired || r == "sts_expired_token"
}

// refreshUpstream gets a fresh ID token with the refresh token kept
// server-side and stores both (the refresh token may have rotated).
func (h *Handler) refreshUpstream(c echo.Context, cur *web.Current) error {
	data := cur.Data
	p, ok := h.cfg.Providers.Get(data.Identity.Provider)
	if !ok || p.OIDC == nil {
		return broker.Errorf(broker.ENOTFOUND, "provider_unknown", "")
	}
	ctx := c.Request().Context()
	res, err := p.OIDC.Refresh(ctx, data.RefreshToken, data.Identity.Subject)
	if err != nil {
		data.RefreshToken = ""
		h.SaveData(c, cur)
		return err
	}
	data.IDToken, data.IDTokenExpires, data.RefreshToken = res.IDToken, res.Expires, res.RefreshToken
	data.Identity.Expires = res.Expires
	h.SaveData(c, cur)
	h.Log().InfoContext(ctx, "refreshed upstream ID token", "request_id", web.RequestID(c), "provider", p.ID, "subject", data.Identity.Subject)
	return nil
}

// reauthProvider says whether signing in again with the person's IdP can
// fix err, and with which provider.
func (h *Handler) reauthProvider(data *web.SessionData, err error) (web.Provider, bool) {
	if broker.ErrorCode(err) != broker.EEXPIRED {
		return web.Provider{}, false
	}
	p, ok := h.cfg.Providers.Get(data.Identity.Provider)
	if !ok {
		return web.Provider{}, false
	}
	switch broker.ErrorReason(err) {
	case access.ReasonUpstreamUsed, access.ReasonUpstreamExpired, access.ReasonUpstreamMissing, "sts_expired_token":
		return p, p.SAML != nil && data.Identity.Protocol == broker.ProtocolSAML
	case access.ReasonUpstreamTokenExpired:
		return p, p.OIDC != nil && data.Identity.Protocol == broker.ProtocolOIDC
	}
	return web.Provider{}, false
}

// reauthPage is a page that moves on by itself rather than a redirect: a
// redirect chain started by a form POST is bound by CSP form-action, which
// does not (and should not) list every IdP. With an IdP session the round
// trip is invisible.
func (h *Handler) reauthPage(c echo.Context, cur *web.Current, p web.Provider, grantKey, dest string) error {
	q := url.Values{"grant": {grantKey}}
	if dest != "" {
		q.Set("destination", dest)
	}
	pd := h.Page(c, "Signing you in again")
	pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(&cur.Data.Identity), cur.Browser.CSRF
	if p.OIDC != nil {
		q.Set("prompt", "none")
		pd.Message = "Your sign-in with " + p.Label + " has expired, so the broker is renewing it for this role."
	} else {
		pd.Message = "AWS accepts each sign-in from " + p.Label + " once, so the broker is getting a fresh one for this role."
	}
	pd.Refresh = p.LoginPath() + "?" + q.Encode()
	return h.Render(c, http.StatusOK, "reauth.html", pd)
}
