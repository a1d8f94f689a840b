package portal

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/web"
)

// samlLogin starts an SP-initiated sign-in: the AuthnRequest id and an
// opaque RelayState go into the request cookie, the browser to the IdP.
// What to do afterwards (?grant=, ?destination=) is remembered server-side
// of the IdP, never sent as a URL the IdP could change.
func (h *Handler) samlLogin(c echo.Context) error {
	p, err := h.provider(c, true)
	if err != nil {
		return err
	}
	if err := p.SAML.Ready(); err != nil {
		return broker.Wrap(err, broker.EUNAVAILABLE, "metadata_unavailable",
			"Sign-in with "+p.Label+" is not available right now: its metadata could not be loaded. Try again in a few minutes.")
	}
	relay := web.RandomToken(18)
	// ?mfa=1: a rule or the admin condition needs a multi-factor sign-in:
	// a fresh one (ForceAuthn), with the configured authentication context.
	mfa := c.QueryParam("mfa") == "1"
	opts := saml.LoginOptions{}
	if mfa {
		opts = saml.LoginOptions{ForceAuthn: true, AuthnContexts: p.SAML.MFARequest()}
	}
	// ?fresh=1: an app asked for a fresh sign-in (prompt=login, max_age):
	// the IdP must authenticate the person again (ForceAuthn).
	if c.QueryParam("fresh") == "1" {
		opts.ForceAuthn = true
	}
	redirect, reqID, err := p.SAML.LoginRedirect(relay, opts)
	if err != nil {
		return err
	}
	grantKey, dest := web.BoundedParam(c.QueryParam("grant"), 600), web.BoundedParam(c.QueryParam("destination"), 2000)
	pending := append(h.loadPending(c.Request(), h.reqCookie), pendingRequest{
		ID: reqID, Provider: p.ID, Relay: relay, Expires: h.Now().Add(pendingTTL),
		Grant: grantKey, Destination: dest, Confirm: h.linkNeedsConfirm(c, grantKey, dest),
		Return: localReturn(c.QueryParam("return")), MFA: mfa,
	})
	if err := h.savePending(c.Response(), c.Request(), h.reqCookie, pending); err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, redirect)
}

// samlACS receives the IdP's Response, verifies it, and signs the person in.
func (h *Handler) samlACS(c echo.Context) error {
	p, err := h.provider(c, true)
	if err != nil {
		return err
	}
	r := c.Request()
	if err := web.ParseForm(r); err != nil {
		return h.signInFailed(c, p.ID, err)
	}
	pending := h.loadPending(r, h.reqCookie)
	var ids []string
	for _, pr := range pending {
		if pr.Provider == p.ID {
			ids = append(ids, pr.ID)
		}
	}
	res, err := p.SAML.ParseResponse(r.Context(), saml.ACSInput{
		SAMLResponse: r.PostFormValue("SAMLResponse"),
		RequestIDs:   ids,
		CurrentURL:   h.URL("/saml/" + p.ID + "/acs"),
		// The assertion ID is burned with the session and its audit
		// record, in one transaction (access.Sessions.Start).
		DeferReplay: true,
	})
	if err != nil {
		return h.signInFailed(c, p.ID, err)
	}
	// The request this answers (if any) is done: drop it from the cookie.
	var cont pendingRequest
	rest := pending[:0]
	for _, pr := range pending {
		if res.InResponseTo != "" && pr.ID == res.InResponseTo {
			cont = pr
			continue
		}
		rest = append(rest, pr)
	}
	if err := h.savePending(c.Response(), r, h.reqCookie, rest); err != nil {
		return err
	}
	sess := access.NewSAMLSession(res.Identity, res.ResponseXML,
		access.WithOneTime(res.ReplayNamespace, res.AssertionID, res.ReplayExpires, res.ReplayRefusal))
	if res.InResponseTo == "" {
		// IdP-initiated: a RelayState may name a console deep link (Okta,
		// Entra "default relay state"). It is only ever used as a console
		// Destination, validated against the role's partition, never as a
		// redirect target of the broker. The POST comes from another site
		// by nature, and the tile click at the IdP is consent to sign in,
		// not to open a role the broker picked: any role is confirmed.
		if rs := r.PostFormValue("RelayState"); strings.HasPrefix(rs, "https://") && len(rs) <= 2000 {
			cont.Destination = rs
		}
		// Nobody here asked for it, and the browser's session cookie
		// (SameSite=Lax) does not come with another site's POST: it goes
		// on to /arrive, which sees who is signed in (switch.go).
		return h.arrival(c, sess, cont)
	}
	err = h.signIn(c, sess, cont)
	if broker.ErrorCode(err) == broker.EUNAVAILABLE {
		// The store could not write: nothing was accepted (the assertion
		// ID is burned only with the session), so the browser keeps the
		// request this answers and the same Response can be posted again
		// once the store is back (the 503 page says to try again).
		h.reqCookie.Retract(c.Response())
	}
	return err
}

// signInFailed audits a failed sign-in and shows the error.
func (h *Handler) signInFailed(c echo.Context, provider string, err error) error {
	h.cfg.Sessions.Failed(c.Request().Context(), provider, err, meta(c))
	return err
}
