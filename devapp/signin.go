package devapp

import (
	"errors"
	"net/http"
	"net/url"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// login sends the browser to the broker: authorization code with PKCE
// S256, a state kept server-side and in a cookie (so the callback comes
// from this browser), a nonce for the ID token.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	p, err := a.provider(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, "The broker did not answer its discovery document; is it running?", "discovery_failed", err)
		return
	}
	verifier, nonce := oauth2.GenerateVerifier(), randomID()
	state := a.sessions.startLogin(verifier, nonce)
	a.setCookie(w, loginCookie, state, loginLifetime)
	http.Redirect(w, r, a.oauth2Config(p).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)), http.StatusFound)
}

// callback finishes a sign-in: the state must be this browser's and is
// used once; the code is exchanged with the verifier; the ID token is
// verified against the broker's JWKS and must carry the nonce.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(loginCookie)
	a.setCookie(w, loginCookie, "", 0)
	if err != nil || state == "" || c.Value != state {
		a.fail(w, r, http.StatusBadRequest, "This sign-in was not started in this browser, or it took too long. Sign in again.", "state_mismatch", nil)
		return
	}
	pend, ok := a.sessions.useLogin(state)
	if !ok {
		a.fail(w, r, http.StatusBadRequest, "This sign-in has expired or was already used. Sign in again.", "state_unknown", nil)
		return
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, r, http.StatusForbidden, "The broker did not sign you in ("+e+": "+q.Get("error_description")+").", "authorization_error", nil)
		return
	}
	p, err := a.provider(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, "The broker did not answer its discovery document; is it running?", "discovery_failed", err)
		return
	}
	ctx := a.ctx(r.Context())
	tok, err := a.oauth2Config(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pend.verifier))
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, "The broker refused to exchange the sign-in code. Sign in again.", "code_exchange_failed", err)
		return
	}
	cl, err := a.verifyIDToken(r, p, tok, pend.nonce)
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, "The broker's ID token did not verify. Sign in again.", "id_token_invalid", err)
		return
	}
	a.setCookie(w, sessionCookie, a.sessions.start(tok, cl), sessionLifetime)
	a.log.InfoContext(r.Context(), "devapp: signed in", "sub", cl.Sub, "roles", len(cl.Roles))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) verifyIDToken(r *http.Request, p *gooidc.Provider, tok *oauth2.Token, nonce string) (claims, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return claims{}, errors.New("no id_token in the token response")
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: a.cfg.ClientID}).Verify(a.ctx(r.Context()), raw)
	if err != nil {
		return claims{}, err
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return claims{}, err
		}
	}
	var cl claims
	if err := idt.Claims(&cl); err != nil {
		return claims{}, err
	}
	if cl.Nonce != nonce {
		return claims{}, errors.New("nonce mismatch")
	}
	return cl, nil
}

// logout forgets the session and, when the broker has an
// end_session_endpoint, ends the sign-in there too (RP-initiated logout)
// and comes back to /.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, x := a.sessions.get(r)
	if x == nil || !x.validCSRF(r) {
		a.fail(w, r, http.StatusForbidden, "This sign-out did not come from this app's page. Use its Sign out button.", "csrf_invalid", nil)
		return
	}
	a.sessions.end(id)
	a.setCookie(w, sessionCookie, "", 0)
	a.log.InfoContext(r.Context(), "devapp: signed out", "sub", x.claims.Sub)
	target := "/"
	if p, err := a.provider(r.Context()); err == nil {
		var d struct {
			EndSession string `json:"end_session_endpoint"`
		}
		if p.Claims(&d) == nil && d.EndSession != "" {
			q := url.Values{"client_id": {a.cfg.ClientID}, "post_logout_redirect_uri": {a.url("/")}}
			target = d.EndSession + "?" + q.Encode()
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
