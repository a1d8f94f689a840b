package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
)

func (s *Server) samlProvider(c echo.Context) (Provider, error) {
	p, ok := s.providers[c.Param("provider")]
	if !ok || p.SAML == nil {
		return Provider{}, broker.Errorf(broker.ENOTFOUND, "provider_unknown", "There is no identity provider with this name.")
	}
	return p, nil
}

func (s *Server) samlMetadata(c echo.Context) error {
	p, err := s.samlProvider(c)
	if err != nil {
		return err
	}
	md, err := p.SAML.Metadata()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/samlmetadata+xml", md)
}

// samlLogin starts an SP-initiated sign-in: the AuthnRequest id and an
// opaque RelayState go into the request cookie, the browser to the IdP.
// What to do afterwards (?grant=, ?destination=) is remembered server-side
// of the IdP, never sent as a URL the IdP could change.
func (s *Server) samlLogin(c echo.Context) error {
	p, err := s.samlProvider(c)
	if err != nil {
		return err
	}
	if err := p.SAML.Ready(); err != nil {
		return broker.Wrap(err, broker.EUNAVAILABLE, "metadata_unavailable",
			"Sign-in with "+p.Label+" is not available right now: its metadata could not be loaded. Try again in a few minutes.")
	}
	relay := randomToken(18)
	redirect, reqID, err := p.SAML.LoginRedirect(relay)
	if err != nil {
		return err
	}
	pending := append(s.loadPending(c.Request()), pendingRequest{
		ID: reqID, Provider: p.ID, Relay: relay, Expires: s.now().Add(pendingTTL),
		Grant: boundedParam(c.QueryParam("grant"), 600), Destination: boundedParam(c.QueryParam("destination"), 2000),
	})
	if err := s.savePending(c.Response(), c.Request(), pending); err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, redirect)
}

func boundedParam(v string, max int) string {
	if len(v) > max {
		return ""
	}
	return v
}

// samlACS receives the IdP's Response, verifies it, and signs the person in.
func (s *Server) samlACS(c echo.Context) error {
	p, err := s.samlProvider(c)
	if err != nil {
		return err
	}
	r := c.Request()
	if err := parseForm(r); err != nil {
		return s.signInFailed(c, p.ID, err)
	}
	pending := s.loadPending(r)
	var ids []string
	for _, pr := range pending {
		if pr.Provider == p.ID {
			ids = append(ids, pr.ID)
		}
	}
	res, err := p.SAML.ParseResponse(r.Context(), saml.ACSInput{
		SAMLResponse: r.PostFormValue("SAMLResponse"),
		RequestIDs:   ids,
		CurrentURL:   s.url("/saml/" + p.ID + "/acs"),
	})
	if err != nil {
		return s.signInFailed(c, p.ID, err)
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
	if err := s.savePending(c.Response(), r, rest); err != nil {
		return err
	}
	if res.InResponseTo == "" {
		// IdP-initiated: a RelayState may name a console deep link (Okta,
		// Entra "default relay state"). It is only ever used as a console
		// Destination, validated against the role's partition, never as a
		// redirect target of the broker.
		if rs := r.PostFormValue("RelayState"); strings.HasPrefix(rs, "https://") && len(rs) <= 2000 {
			cont.Destination = rs
		}
	}
	upstream := ""
	if len(res.Identity.Roles) > 0 {
		upstream = encodeResponse(res.ResponseXML)
	}
	return s.signIn(c, &sessionData{Identity: res.Identity, SAMLResponse: upstream}, cont)
}

// signInFailed audits a failed sign-in and shows the error.
func (s *Server) signInFailed(c echo.Context, provider string, err error) error {
	s.cfg.Access.Audit(c.Request().Context(), &store.AuditEvent{
		RequestID: requestIDOf(c), Event: "signin", Result: store.ResultFailure,
		Reason: broker.ErrorReason(err), Message: broker.ErrorMessage(err), Provider: provider,
		RemoteAddr: c.RealIP(), UserAgent: c.Request().UserAgent(),
	})
	return err
}

// sessionData is the server-side, encrypted half of a browser session.
type sessionData struct {
	Identity broker.Identity `json:"identity"`
	// SAMLResponse is the upstream Response (base64) for pass-through roles.
	SAMLResponse string `json:"saml_response,omitempty"`
	Used         bool   `json:"used,omitempty"`
	// IDToken and RefreshToken come from an OIDC sign-in: the ID token for
	// pass-through web identity, the refresh token to renew it.
	IDToken        string    `json:"id_token,omitempty"`
	IDTokenExpires time.Time `json:"id_token_expires,omitzero"`
	RefreshToken   string    `json:"refresh_token,omitempty"`
}

func (d *sessionData) marshal() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic("web: marshal session: " + err.Error())
	}
	return b
}
