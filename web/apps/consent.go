package apps

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	brokerapps "github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/web"
)

// The consent screen of third-party apps, and the person's list of what
// they allowed:
//
//	GET  /apps/login?id=        (the bridge) a third-party app asking for a scope
//	                            the person has not granted it (or prompt=consent):
//	                            app_consent.html, the app, who is signed in, each
//	                            scope in words, Allow / Deny; prompt=none: consent_required
//	POST /apps/consent (CSRF)   id + decision=allow ──> consent recorded ──> the app gets its code
//	                            id + decision=deny  ──> access_denied to the app
//	GET  /apps/consents         the apps the person allowed, with Revoke
//	POST /apps/consents/revoke  client_id (CSRF) ──> consent deleted, that app's
//	                            tokens for the person revoked

// Routes of the consent screen and the consents page.
const (
	ConsentPath       = "/apps/consent"
	ConsentsPath      = "/apps/consents"
	ConsentRevokePath = "/apps/consents/revoke"
)

// maxClientIDLen bounds the client_id parameter (config allows 64).
const maxClientIDLen = 64

// consentTexts says, for the person, what each scope gives the app.
var consentTexts = map[string]string{
	brokerapps.ScopeProfile:        "your name",
	brokerapps.ScopeEmail:          "your email address",
	brokerapps.ScopeGroups:         "your groups",
	brokerapps.ScopeAWSRoles:       "which AWS roles you have",
	brokerapps.ScopeAWSCredentials: "get short-lived AWS credentials for your roles",
	brokerapps.ScopeOfflineAccess:  "stay signed in",
}

type scopeText struct{ Scope, Text string }

func scopesInWords(scopes []string) []scopeText {
	out := make([]scopeText, 0, len(scopes))
	for _, s := range scopes {
		t, ok := consentTexts[s]
		if !ok {
			t = s
		}
		out = append(out, scopeText{Scope: s, Text: t})
	}
	return out
}

type consentPage struct {
	web.Page
	ID       string
	Request  *brokerapps.ConsentRequest
	Scopes   []scopeText
	Provider string
}

type consentsPage struct {
	web.Page
	Consents []consentRow
	Provider string
}

type consentRow struct {
	ClientID, ClientName string
	Scopes               []scopeText
	GrantedAt            time.Time
}

func (h *Handler) mountConsent(e *echo.Echo) {
	e.POST(ConsentPath, h.consentPost, h.RequireCSRF)
	e.GET(ConsentsPath, h.consents)
	e.POST(ConsentRevokePath, h.revokeConsent, h.RequireCSRF)
}

func (h *Handler) meta(c echo.Context) brokerapps.Meta {
	return brokerapps.Meta{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: c.Request().UserAgent()}
}

func (h *Handler) providerLabel(cur *web.Current) string {
	if p, ok := h.cfg.Providers.Get(cur.Session.Identity.Provider); ok {
		return p.Label
	}
	return ""
}

// showConsent renders the consent screen for auth request id. Its form
// may be answered by a redirect to the app: the page's form-action allows
// the app's redirect URI (the one the OP matched exactly).
func (h *Handler) showConsent(c echo.Context, cur *web.Current, id string, need *brokerapps.ConsentRequest) error {
	if err := h.AllowFormAction(c, need.RedirectURI); err != nil {
		return err
	}
	pd := consentPage{Page: h.Page(c, "Allow "+need.ClientName+"?"), ID: id, Request: need,
		Scopes: scopesInWords(need.Scopes), Provider: h.providerLabel(cur)}
	pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(&cur.Session.Identity), cur.Browser.CSRF
	return h.Render(c, http.StatusOK, "app_consent.html", pd)
}

// consentPost takes the person's answer. A session that is gone, stale
// or too old for the request goes back through the bridge, which signs
// the person in again and asks again.
func (h *Handler) consentPost(c echo.Context) error {
	id := web.BoundedParam(c.FormValue("id"), maxIDLen)
	if id == "" {
		return errRequestUnknown
	}
	r := c.Request()
	ctx := r.Context()
	req, err := h.cfg.OP.Request(ctx, id)
	if err != nil {
		return err
	}
	cur, signedIn := h.Current(c)
	if !signedIn || cur.Stale || !req.FreshEnough(cur.Session.VerifiedAt(), cur.Session.Identity.AuthnInstant, h.Now()) {
		return c.Redirect(http.StatusSeeOther, LoginPath+"?id="+url.QueryEscape(id))
	}
	person := &cur.Session.Identity
	switch c.FormValue("decision") {
	case "allow":
		if err := h.cfg.OP.GrantConsent(ctx, id, person, h.meta(c)); err != nil {
			return err
		}
		return h.complete(c, id, cur)
	case "deny":
		h.cfg.OP.RefuseConsent(ctx, id, person, h.meta(c))
		h.Log().InfoContext(ctx, "app consent denied", "request_id", web.RequestID(c), "client", req.ClientID)
		h.cfg.OP.Deny(c.Response(), r, id, "The person did not allow the app.")
		return nil
	}
	return broker.Errorf(broker.EINVALID, "app_consent_decision", "Choose Allow or Deny.")
}

// consents lists what the signed-in person allowed apps.
func (h *Handler) consents(c echo.Context) error {
	cur, signedIn := h.Current(c)
	if !signedIn {
		return c.Redirect(http.StatusFound, "/?"+url.Values{"return": {ConsentsPath}}.Encode())
	}
	list, err := h.cfg.OP.Consents(c.Request().Context(), &cur.Session.Identity)
	if err != nil {
		return err
	}
	pd := consentsPage{Page: h.Page(c, "Apps you allowed"), Provider: h.providerLabel(cur)}
	pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(&cur.Session.Identity), cur.Browser.CSRF
	pd.Flash = h.TakeFlash(c, cur.Browser)
	for _, cn := range list {
		pd.Consents = append(pd.Consents, consentRow{ClientID: cn.ClientID, ClientName: cn.ClientName,
			Scopes: scopesInWords(cn.Scopes), GrantedAt: cn.GrantedAt})
	}
	return h.Render(c, http.StatusOK, "app_consents.html", pd)
}

// revokeConsent takes back the person's consent to one app and revokes
// the tokens that app holds for them.
func (h *Handler) revokeConsent(c echo.Context) error {
	cur, signedIn := h.Current(c)
	if !signedIn {
		return c.Redirect(http.StatusSeeOther, "/?"+url.Values{"return": {ConsentsPath}}.Encode())
	}
	client := web.BoundedParam(c.FormValue("client_id"), maxClientIDLen)
	if client == "" {
		return broker.Errorf(broker.EINVALID, "app_consent_client_missing", "Choose the app to revoke.")
	}
	if err := h.cfg.OP.RevokeConsent(c.Request().Context(), client, &cur.Session.Identity, h.meta(c)); err != nil {
		return err
	}
	if err := h.SetFlash(c, "Revoked: the app must ask you again, and its sign-ins as you have ended."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, ConsentsPath)
}
