package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
)

// continueTo opens the role remembered at sign-in (see signIn). The
// single-use token in the URL ties this GET to that sign-in, so another
// site cannot make the browser assume a role.
func (s *Server) continueTo(c echo.Context) error {
	sid, data, b, ok := s.current(c)
	if !ok {
		return broker.Errorf(broker.EUNAUTHORIZED, "not_signed_in", "Your portal session has ended. Sign in again.")
	}
	parts := strings.SplitN(b.Next, "\n", 3)
	if len(parts) != 3 || !tokensEqual(parts[0], c.QueryParam("t")) {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	sess, _ := s.loadBrowser(c.Request())
	b.Next = ""
	if err := s.saveBrowser(c.Response(), c.Request(), sess, b); err != nil {
		return err
	}
	return s.assume(c, sid, data, b, parts[1], parts[2], false)
}

// assume runs access.Assume and answers with a 302 to the console login
// URL. When the upstream credential is used up or expired, it renews an
// OIDC ID token with the refresh token if it has one; otherwise, if
// mayReauth, the browser goes through the IdP again (silently, if it still
// has a session there) and comes back to this role.
func (s *Server) assume(c echo.Context, sid string, data *sessionData, b browserSession, grantKey, dest string, mayReauth bool) error {
	out, err := s.runAssume(c, sid, data, grantKey, dest)
	if err != nil && s.canRefresh(data, err) {
		if rerr := s.refreshUpstream(c, sid, data); rerr == nil {
			out, err = s.runAssume(c, sid, data, grantKey, dest)
		} else {
			s.log.InfoContext(c.Request().Context(), "refresh failed, signing in again", "request_id", requestIDOf(c), "err", rerr)
		}
	}
	if err != nil {
		if p, ok := s.reauthProvider(data, err); ok && mayReauth {
			return s.reauthPage(c, data, b, p, grantKey, dest)
		}
		return err
	}
	if len(out.Notices) > 0 {
		var msgs []string
		for _, n := range out.Notices {
			msgs = append(msgs, n.Message)
		}
		r := c.Request()
		sess, _ := s.loadBrowser(r)
		b.Flash = strings.Join(msgs, " ")
		_ = s.saveBrowser(c.Response(), r, sess, b)
	}
	return c.Redirect(http.StatusFound, out.ConsoleURL)
}

func (s *Server) runAssume(c echo.Context, sid string, data *sessionData, grantKey, dest string) (*access.Outcome, error) {
	r := c.Request()
	out, err := s.cfg.Access.Assume(r.Context(), access.AssumeInput{
		Identity: &data.Identity, GrantKey: grantKey, Destination: dest,
		Upstream: access.Upstream{SAMLResponse: data.SAMLResponse, Used: data.Used, IDToken: data.IDToken, IDTokenExpires: data.IDTokenExpires},
		Meta:     access.Meta{RequestID: requestIDOf(c), RemoteAddr: c.RealIP(), UserAgent: r.UserAgent()},
	})
	if out != nil && out.UsedUpstream && (err == nil || broker.ErrorCode(err) != broker.EINVALID) {
		// Presented to AWS: it will not take it again, whatever the outcome.
		data.Used = true
		s.saveData(r.Context(), sid, data)
	}
	return out, err
}

// saveData writes the server-side session back, keeping its expiry.
func (s *Server) saveData(ctx context.Context, sid string, data *sessionData) {
	st, err := s.cfg.Sessions.GetSession(ctx, sid)
	if err == nil {
		err = s.cfg.Sessions.UpdateSession(ctx, sid, data.marshal(), st.ExpiresAt)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "update session", "err", err)
	}
}

func (s *Server) canRefresh(data *sessionData, err error) bool {
	if data.Identity.Protocol != broker.ProtocolOIDC || data.RefreshToken == "" || broker.ErrorCode(err) != broker.EEXPIRED {
		return false
	}
	r := broker.ErrorReason(err)
	return r == access.ReasonUpstreamTokenExpired || r == "sts_expired_token"
}

// refreshUpstream gets a fresh ID token with the refresh token kept
// server-side and stores both (the refresh token may have rotated).
func (s *Server) refreshUpstream(c echo.Context, sid string, data *sessionData) error {
	p, ok := s.providers[data.Identity.Provider]
	if !ok || p.OIDC == nil {
		return broker.Errorf(broker.ENOTFOUND, "provider_unknown", "")
	}
	ctx := c.Request().Context()
	res, err := p.OIDC.Refresh(ctx, data.RefreshToken, data.Identity.Subject)
	if err != nil {
		data.RefreshToken = ""
		s.saveData(ctx, sid, data)
		return err
	}
	data.IDToken, data.IDTokenExpires, data.RefreshToken = res.IDToken, res.Expires, res.RefreshToken
	data.Identity.Expires = res.Expires
	s.saveData(ctx, sid, data)
	s.log.InfoContext(ctx, "refreshed upstream ID token", "request_id", requestIDOf(c), "provider", p.ID, "subject", data.Identity.Subject)
	return nil
}

// reauthProvider says whether signing in again with the person's IdP can
// fix err, and with which provider.
func (s *Server) reauthProvider(data *sessionData, err error) (Provider, bool) {
	if broker.ErrorCode(err) != broker.EEXPIRED {
		return Provider{}, false
	}
	p, ok := s.providers[data.Identity.Provider]
	if !ok {
		return Provider{}, false
	}
	switch broker.ErrorReason(err) {
	case access.ReasonUpstreamUsed, access.ReasonUpstreamExpired, access.ReasonUpstreamMissing, "sts_expired_token":
		return p, p.SAML != nil && data.Identity.Protocol == broker.ProtocolSAML
	case access.ReasonUpstreamTokenExpired:
		return p, p.OIDC != nil && data.Identity.Protocol == broker.ProtocolOIDC
	}
	return Provider{}, false
}

// reauthPage is a page that moves on by itself rather than a redirect: a
// redirect chain started by a form POST is bound by CSP form-action, which
// does not (and should not) list every IdP. With an IdP session the round
// trip is invisible.
func (s *Server) reauthPage(c echo.Context, data *sessionData, b browserSession, p Provider, grantKey, dest string) error {
	q := url.Values{"grant": {grantKey}}
	if dest != "" {
		q.Set("destination", dest)
	}
	pd := s.page(c, "Signing you in again")
	pd.SignedIn, pd.User, pd.CSRF = true, displayName(&data.Identity), b.CSRF
	if p.OIDC != nil {
		q.Set("prompt", "none")
		pd.Message = "Your sign-in with " + p.Label + " has expired, so the broker is renewing it for this role."
	} else {
		pd.Message = "AWS accepts each sign-in from " + p.Label + " once, so the broker is getting a fresh one for this role."
	}
	pd.Refresh = p.loginPath() + "?" + q.Encode()
	return s.render(c, http.StatusOK, "reauth.html", pd)
}
