package portal

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/web"
)

// oidcLogin starts the authorization code flow. State, nonce and the PKCE
// verifier are random, kept in an encrypted cookie bound to this browser,
// and used once. ?prompt=none asks for a silent sign-in.
func (h *Handler) oidcLogin(c echo.Context) error {
	p, err := h.provider(c, false)
	if err != nil {
		return err
	}
	grantKey, dest := web.BoundedParam(c.QueryParam("grant"), 600), web.BoundedParam(c.QueryParam("destination"), 2000)
	mfa, fresh := c.QueryParam("mfa") == "1", c.QueryParam("fresh") == "1"
	return h.startOIDC(c, p, c.QueryParam("prompt") == "none" && !mfa && !fresh, pendingRequest{
		Grant: grantKey, Destination: dest, Confirm: h.linkNeedsConfirm(c, grantKey, dest),
		Return: localReturn(c.QueryParam("return")), MFA: mfa, Fresh: fresh,
	})
}

// startOIDC sends the browser to the OP, remembering in cont what to do
// after sign-in (its Grant, Destination and Confirm).
func (h *Handler) startOIDC(c echo.Context, p web.Provider, silent bool, cont pendingRequest) error {
	prompt := ""
	switch {
	case silent:
		prompt = "none"
	case cont.Fresh:
		// An app asked for a fresh sign-in (prompt=login, max_age).
		prompt = "login"
	}
	state, nonce, verifier := web.RandomToken(24), web.RandomToken(24), oidcVerifier()
	authURL, err := p.OIDC.AuthURL(c.Request().Context(), oidc.AuthRequest{State: state, Nonce: nonce, Verifier: verifier, Prompt: prompt, MFA: cont.MFA})
	if err != nil {
		return err
	}
	pending := append(h.loadPending(c.Request(), h.oidcCookie), pendingRequest{
		ID: state, Nonce: nonce, Verifier: verifier, Provider: p.ID, Expires: h.Now().Add(pendingTTL), Silent: silent,
		Grant: cont.Grant, Destination: cont.Destination, Confirm: cont.Confirm, Return: cont.Return, MFA: cont.MFA, Fresh: cont.Fresh,
	})
	if err := h.savePending(c.Response(), c.Request(), h.oidcCookie, pending); err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, authURL)
}

func oidcVerifier() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcCallback finishes the code flow: the state must be one this browser
// started and is burned (cookie and replay cache) before the code is
// redeemed, so neither a state nor a code can be played twice.
func (h *Handler) oidcCallback(c echo.Context) error {
	p, err := h.provider(c, false)
	if err != nil {
		return err
	}
	r := c.Request()
	state := c.QueryParam("state")
	pending := h.loadPending(r, h.oidcCookie)
	var req pendingRequest
	found := false
	rest := pending[:0]
	for _, pr := range pending {
		if !found && pr.Provider == p.ID && web.TokensEqual(pr.ID, state) {
			req, found = pr, true
			continue
		}
		rest = append(rest, pr)
	}
	if err := h.savePending(c.Response(), r, h.oidcCookie, rest); err != nil {
		return err
	}
	if !found {
		return h.signInFailed(c, p.ID, broker.Errorf(broker.EUNAUTHORIZED, "state_mismatch",
			"Sign-in failed: this answer from your identity provider does not belong to a sign-in started in this browser, or was already used. Start again from the portal."))
	}
	if err := h.cfg.Sessions.UseOnce(r.Context(), "oidc-state:"+p.ID, state, req.Expires); err != nil {
		if broker.ErrorCode(err) == broker.EREPLAY {
			return h.signInFailed(c, p.ID, broker.Errorf(broker.EREPLAY, "state_replay", "Sign-in failed: this answer from your identity provider was already used. Start again from the portal."))
		}
		return err
	}
	if e := c.QueryParam("error"); e != "" {
		return h.oidcError(c, p, req, e)
	}
	res, err := p.OIDC.Exchange(r.Context(), c.QueryParam("code"), req.Verifier, req.Nonce)
	if err != nil {
		return h.signInFailed(c, p.ID, err)
	}
	sess := access.NewOIDCSession(res.Identity, res.IDToken, res.Expires, res.RefreshToken)
	sess.CapAt(res.RefreshExpires) // the OP's refresh_expires_in, when it says one
	return h.signIn(c, sess, req)
}

// oidcError handles ?error= from the OP. A silent sign-in the OP could not
// do without the person falls back to the interactive one, same role;
// any other error is the OP's refusal (oidc.AuthorizationError).
func (h *Handler) oidcError(c echo.Context, p web.Provider, req pendingRequest, code string) error {
	switch code {
	case "login_required", "interaction_required", "consent_required", "account_selection_required":
		if req.Silent {
			// Interactively, for the same role and with the same mark:
			// this request comes back from the OP, so its Sec-Fetch-Site
			// says nothing about who asked for the role.
			return h.startOIDC(c, p, false, req)
		}
	}
	return h.signInFailed(c, p.ID, oidc.AuthorizationError(p.ID, code, web.BoundedParam(c.QueryParam("error_description"), 1000)))
}
