package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"

	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/web"
)

// Messages shown after sign-out. The portal session always ends; what
// happens at the IdP depends on what it offers.
const (
	msgSignedOutLocal = "You are signed out of the portal. AWS console sessions you opened last until they expire; sign out of them in the console."
	msgConsoleLasts   = " AWS console sessions you opened last until they expire; sign out of them in the console."
)

// signedOutLocal says what a sign-out that stayed in the portal ended and
// what it did not: the IdP's session, which signs the person in again
// without a password, and the console sessions.
func signedOutLocal(idp string) string {
	return "You are signed out of the portal. You are still signed in at " + idp +
		", which gives the broker no way to sign you out there: on a shared computer, sign out at " + idp +
		" too or close the browser; the next person to sign in here would otherwise be signed in as you without a password." + msgConsoleLasts
}

// logout ends the portal session, then, when the person's IdP offers it,
// signs them out there too: SAML single logout (a LogoutRequest, answered
// at /saml/ID/slo) or OIDC RP-initiated logout (the end-session endpoint,
// which comes back to the portal). The portal session ends first, whatever
// the IdP does.
func (h *Handler) logout(c echo.Context) error {
	r := c.Request()
	cur, signedIn := h.Current(c)
	h.dropSwitch(c, cur.Browser) // a sign-in waiting at /switch ends too
	if b := cur.Browser; b.ID != "" {
		if err := h.cfg.Sessions.End(r.Context(), b.ID, meta(c)); err != nil {
			return err
		}
	}
	if signedIn {
		if p, ok := h.cfg.Providers.Get(cur.Session.Identity.Provider); ok {
			if p.SAML != nil && p.SAML.SingleLogoutSupported() {
				if done, err := h.samlLogout(c, p, &cur.Session.Identity); done || err != nil {
					return err
				}
			}
			if p.OIDC != nil {
				if done, err := h.oidcLogout(c, p); done || err != nil {
					return err
				}
			}
		}
	}
	msg := msgSignedOutLocal
	if signedIn {
		if p, ok := h.cfg.Providers.Get(cur.Session.Identity.Provider); ok {
			msg = signedOutLocal(p.Label)
		}
	}
	if err := h.SaveBrowser(c.Response(), r, web.Browser{Flash: msg}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// samlLogout sends a LogoutRequest for the session's NameID and
// SessionIndex and remembers its id for the IdP's answer. done is false
// when the request could not be built (logged): the sign-out stays local.
func (h *Handler) samlLogout(c echo.Context, p web.Provider, id *broker.Identity) (done bool, err error) {
	r := c.Request()
	out, reqID, err := p.SAML.LogoutRequest(id, web.RandomToken(18))
	if err != nil {
		h.Log().WarnContext(r.Context(), "single logout request not sent", "request_id", web.RequestID(c), "provider", p.ID, "err", err)
		return false, nil
	}
	pending := append(h.loadPending(r, h.logoutCookie), pendingRequest{ID: reqID, Provider: p.ID, Expires: h.Now().Add(pendingTTL)})
	if err := h.savePending(c.Response(), r, h.logoutCookie, pending); err != nil {
		return true, err
	}
	if err := h.SaveBrowser(c.Response(), r, web.Browser{}); err != nil {
		return true, err
	}
	return true, h.outbound(c, out, "Signing you out of "+p.Label, "You are signed out of the portal. Signing you out of "+p.Label+" too…")
}

// oidcLogout sends the browser to the OP's end-session endpoint, which
// comes back to the portal. No id_token_hint is sent: a URL ends up in
// histories and logs, and for pass-through roles the ID token is a live
// AWS credential until it expires; the OP identifies the client by
// client_id and may ask the person to confirm.
func (h *Handler) oidcLogout(c echo.Context, p web.Provider) (done bool, err error) {
	r := c.Request()
	u, err := p.OIDC.EndSessionURL(r.Context(), "", h.URL("/"), "")
	if err != nil || u == "" {
		if err != nil {
			h.Log().WarnContext(r.Context(), "end-session URL not built", "request_id", web.RequestID(c), "provider", p.ID, "err", err)
		}
		return false, nil
	}
	flash := "You are signed out of the portal, and " + p.Label + " was asked to end its session." + msgConsoleLasts
	if err := h.SaveBrowser(c.Response(), r, web.Browser{Flash: flash}); err != nil {
		return true, err
	}
	pd := h.Page(c, "Signing you out of "+p.Label)
	pd.Message = "You are signed out of the portal. Signing you out of " + p.Label + " too…"
	pd.Refresh = u
	return true, h.Render(c, http.StatusOK, "reauth.html", pd)
}

// autopostPage carries a protocol message to another site by POST.
type autopostPage struct {
	web.Page
	Action string
	Fields map[string]string
}

// outbound sends a SAML message on its binding: a page that moves on to
// the Redirect URL (a redirect straight from a form POST would be bound by
// this site's CSP form-action), or a page that posts the form, with
// form-action opened to that one origin.
func (h *Handler) outbound(c echo.Context, out *saml.Outbound, title, message string) error {
	pd := h.Page(c, title)
	pd.Message = message
	if out.RedirectURL != "" {
		pd.Refresh = out.RedirectURL
		return h.Render(c, http.StatusOK, "reauth.html", pd)
	}
	if err := h.AllowFormAction(c, out.PostURL); err != nil {
		return err
	}
	return h.Render(c, http.StatusOK, "autopost.html", autopostPage{Page: pd, Action: out.PostURL, Fields: out.Fields})
}

// samlSLO receives the IdP's single logout messages on either binding: the
// LogoutResponse to a LogoutRequest this browser sent at sign-out, or the
// IdP's own LogoutRequest (the person signed out at the IdP or in another
// app), which ends the broker sessions it names and is answered.
func (h *Handler) samlSLO(c echo.Context) error {
	p, err := h.provider(c, true)
	if err != nil {
		return err
	}
	r := c.Request()
	pending := h.loadPending(r, h.logoutCookie)
	var ids []string
	for _, pr := range pending {
		if pr.Provider == p.ID {
			ids = append(ids, pr.ID)
		}
	}
	msg, err := p.SAML.ParseLogout(r, ids)
	if err != nil {
		return err
	}
	if res := msg.Response; res != nil {
		rest := pending[:0]
		for _, pr := range pending {
			if pr.ID != res.InResponseTo {
				rest = append(rest, pr)
			}
		}
		if err := h.savePending(c.Response(), r, h.logoutCookie, rest); err != nil {
			return err
		}
		flash := "You are signed out of the portal and of " + p.Label + "." + msgConsoleLasts
		if !res.Success {
			flash = "You are signed out of the portal, but " + p.Label + " did not confirm that it ended its own session (" + res.StatusCode + "): sign out there too." + msgConsoleLasts
			h.Log().WarnContext(r.Context(), "single logout not confirmed by the IdP", "request_id", web.RequestID(c), "provider", p.ID, "status", res.StatusCode)
		}
		b := h.LoadBrowser(r)
		b.Flash = flash
		if err := h.SaveBrowser(c.Response(), r, b); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return h.idpLogout(c, p, msg)
}

// idpLogout ends the sessions an IdP's LogoutRequest names (by NameID and,
// when it lists them, SessionIndex) and answers it.
func (h *Handler) idpLogout(c echo.Context, p web.Provider, msg *saml.LogoutMessage) error {
	r := c.Request()
	ctx := r.Context()
	req := msg.Request
	if err := p.SAML.RememberLogoutRequest(ctx, req); err != nil {
		return err
	}
	ended, err := 0, error(nil)
	if len(req.SessionIndexes) == 0 {
		ended, err = h.cfg.Sessions.EndUpstream(ctx, p.ID, req.NameID, "", "saml_slo", meta(c))
	}
	for _, idx := range req.SessionIndexes {
		n, e := h.cfg.Sessions.EndUpstream(ctx, p.ID, req.NameID, idx, "saml_slo", meta(c))
		ended += n
		if e != nil {
			err = e
		}
	}
	if err != nil {
		h.Log().ErrorContext(ctx, "single logout: sessions not ended", "request_id", web.RequestID(c), "provider", p.ID, "err", err)
	}
	// This browser's cookie, if its session just ended, goes too (a
	// cross-site POST carries no SameSite=Lax cookie: then the session is
	// gone from the store, which is what counts).
	if b := h.LoadBrowser(r); b.ID != "" {
		if _, ok := h.Current(c); !ok {
			_ = h.SaveBrowser(c.Response(), r, web.Browser{Flash: "You were signed out by " + p.Label + "." + msgConsoleLasts})
		}
	}
	h.Log().InfoContext(ctx, "single logout from the IdP", "request_id", web.RequestID(c), "provider", p.ID, "ended", ended)
	out, rerr := p.SAML.LogoutResponse(req, err == nil, msg.RelayState)
	if rerr != nil {
		return rerr
	}
	return h.outbound(c, out, "Signed out", "You are signed out of the portal. Returning to "+p.Label+"…")
}

// oidcBackchannelLogout is the OP's back-channel logout (OpenID Connect
// Back-Channel Logout 1.0): a server-to-server POST of a signed logout
// token naming a subject and/or session (sid). It answers 200 once the
// sessions are ended, 400 with an OAuth error for a token it refuses, and
// 503 when the OP's keys cannot be had; never a page, never a cookie.
func (h *Handler) oidcBackchannelLogout(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	p, err := h.provider(c, false)
	if err != nil {
		return backchannelError(c, http.StatusNotFound, err)
	}
	r := c.Request()
	ctx := r.Context()
	if err := web.ParseForm(r); err != nil {
		return backchannelError(c, http.StatusBadRequest, err)
	}
	lt, err := p.OIDC.VerifyLogoutToken(ctx, r.PostFormValue("logout_token"))
	if err != nil {
		status := http.StatusBadRequest
		if code := broker.ErrorCode(err); code == broker.EUPSTREAM || code == broker.EUNAVAILABLE {
			status = http.StatusServiceUnavailable
		}
		h.Log().WarnContext(ctx, "back-channel logout refused", "request_id", web.RequestID(c), "provider", p.ID,
			"reason", broker.ErrorReason(err), "err", err)
		return backchannelError(c, status, err)
	}
	if err := h.cfg.Sessions.UseOnce(ctx, "oidc-logout:"+p.ID, lt.JTI, lt.Expires); err != nil {
		h.Log().WarnContext(ctx, "back-channel logout token not used", "request_id", web.RequestID(c), "provider", p.ID, "err", err)
		if broker.ErrorCode(err) == broker.EREPLAY {
			return backchannelError(c, http.StatusBadRequest, broker.Wrap(err, broker.EREPLAY, "logout_token_replay", "This logout token was already used."))
		}
		return backchannelError(c, http.StatusServiceUnavailable, err)
	}
	if _, err := h.cfg.Sessions.EndUpstream(ctx, p.ID, lt.Subject, lt.SID, "oidc_backchannel", meta(c)); err != nil {
		h.Log().ErrorContext(ctx, "back-channel logout: sessions not ended", "request_id", web.RequestID(c), "provider", p.ID, "err", err)
		return backchannelError(c, http.StatusServiceUnavailable, err)
	}
	return c.NoContent(http.StatusOK)
}

// backchannelError answers an OP in OAuth error form.
func backchannelError(c echo.Context, status int, err error) error {
	code := "invalid_request"
	if status >= 500 {
		code = "temporarily_unavailable"
	}
	return c.JSON(status, map[string]string{"error": code, "error_description": broker.ErrorMessage(err)})
}
