package portal

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/web"
)

// signIn starts a fresh session for a verified identity (a new id every
// time: no session fixation), then continues where the person was going.
func (h *Handler) signIn(c echo.Context, sess *access.Session, cont pendingRequest) error {
	id := &sess.Identity
	r := c.Request()
	ctx := r.Context()
	if cont.MFA && !id.MFA {
		// Asked for MFA and the IdP signed the person in without it: say
		// so rather than loop back to it.
		h.cfg.Sessions.Failed(ctx, id.Provider, verifiedRefusal{errMFANotAsserted, id.Subject}, meta(c))
		return errMFANotAsserted
	}
	old := h.LoadBrowser(r)
	sid, decision, err := h.cfg.Sessions.Start(ctx, sess, old.ID, meta(c))
	if err != nil {
		return err
	}
	h.dropSwitch(c, old)
	b := web.Browser{ID: sid, CSRF: web.RandomToken(32)}

	grantKey, dest := cont.Grant, cont.Destination
	if link, ok := parseGoKey(grantKey); ok {
		// A /go link: the new session's roles say which grant it means.
		var target string
		if grantKey, dest, target = h.goAfterSignIn(decision, link, dest); target != "" {
			if err := h.SaveBrowser(c.Response(), r, b); err != nil {
				return err
			}
			return c.Redirect(http.StatusSeeOther, target)
		}
	}
	// A sign-in that returns to a page (an app's sign-in, an admin page)
	// goes back there rather than into a single role's console.
	if grantKey == "" && cont.Return == "" && h.cfg.AutoSelectSingleRole && len(decision.Grants) == 1 {
		grantKey = decision.Grants[0].Key()
	}
	if grantKey != "" && cont.Confirm {
		// Nobody asked for this role here: name it and ask.
		if err := h.SaveBrowser(c.Response(), r, b); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/open?"+roleLink(grantKey, dest, true).Encode())
	}
	if grantKey != "" {
		// Open the role from a page of our own rather than redirecting from
		// the ACS: this request is the IdP page's form POST, and its CSP
		// form-action would block a redirect chain ending at AWS. The page
		// moves on to /continue with a single-use token.
		token := web.RandomToken(18)
		b.Next = continuation{Token: token, Grant: grantKey, Destination: dest}.encode()
		if err := h.SaveBrowser(c.Response(), r, b); err != nil {
			return err
		}
		pd := h.Page(c, "Opening the AWS console")
		pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(id), b.CSRF
		pd.Refresh = "/continue?t=" + url.QueryEscape(token)
		pd.Message = "You are signed in. Opening the AWS console…"
		return h.Render(c, http.StatusOK, "reauth.html", pd)
	}
	if err := h.SaveBrowser(c.Response(), r, b); err != nil {
		return err
	}
	target := "/"
	if dest != "" {
		target += "?destination=" + url.QueryEscape(dest)
	}
	if cont.Return != "" {
		target = cont.Return
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// verifiedRefusal is a refusal of a sign-in whose credential verified:
// the audit record names its subject (access.Sessions.Failed reads it).
type verifiedRefusal struct {
	err     error
	subject string
}

func (e verifiedRefusal) Error() string           { return e.err.Error() }
func (e verifiedRefusal) Unwrap() error           { return e.err }
func (e verifiedRefusal) VerifiedSubject() string { return e.subject }

// errMFANotAsserted: a sign-in that asked for MFA came back without it.
var errMFANotAsserted = broker.Errorf(broker.EFORBIDDEN, "mfa_not_asserted",
	"Your identity provider signed you in without multi-factor authentication, which this needs. Set up a second factor with your identity provider (or ask its administrators to require it for the broker), then sign in again.")

func (h *Handler) index(c echo.Context) error {
	dest := web.BoundedParam(c.QueryParam("destination"), 2000)
	cur, ok := h.Current(c)
	b := cur.Browser
	// A sign-in of someone else waits for the person's choice.
	if _, live, err := h.liveSwitch(c, &b); err != nil {
		return err
	} else if live {
		return c.Redirect(http.StatusSeeOther, "/switch")
	}
	if !ok {
		// A role named here came from a link: the login keeps it, and its
		// mark when the link did not come from this site.
		grantKey := web.BoundedParam(c.QueryParam("grant"), 600)
		q := roleLink(grantKey, dest, h.linkNeedsConfirm(c, grantKey, dest))
		// A page of this site to come back to (an app's sign-in at
		// /apps/login), and whether it needs a fresh sign-in at the IdP.
		if ret := localReturn(c.QueryParam("return")); ret != "" {
			q.Set("return", ret)
			if c.QueryParam("fresh") == "1" {
				q.Set("fresh", "1")
			}
		}
		pd := signInPage{Page: h.Page(c, "Sign in")}
		pd.Destination = dest
		pd.Grant = grantKey != ""
		for _, p := range h.cfg.Providers.List() {
			login := p.LoginPath()
			if len(q) > 0 {
				login += "?" + q.Encode()
			}
			// "Not you?": the same sign-in, forcing the IdP to ask who is
			// there (SAML ForceAuthn, OIDC prompt=login).
			fresh := cloneValues(q)
			fresh.Set("fresh", "1")
			pd.Providers = append(pd.Providers, providerView{ID: p.ID, Label: p.Label, LoginURL: login, Ready: p.Ready() == nil,
				SwitchURL: p.LoginPath() + "?" + fresh.Encode()})
		}
		pd.Flash = h.TakeFlash(c, b)
		if pd.Flash == "" && c.QueryParam("admin") == "1" {
			pd.Flash = "Sign in to use the admin pages; then follow Admin at the top of the page."
		}
		return h.Render(c, http.StatusOK, "signin.html", pd)
	}

	data := cur.Session
	pd := portalPage{Page: h.Page(c, "Your AWS roles")}
	pd.SignedIn = true
	pd.User = web.DisplayName(&data.Identity)
	pd.CSRF = b.CSRF
	pd.Destination = dest
	decision := h.cfg.Access.Decide(&data.Identity)
	accts := h.accountsView(access.ListRoles(decision, h.accounts()), dest)
	aliases := map[string]string{}
	for _, a := range h.accounts() {
		aliases[a.ID] = a.Alias
	}
	pd.rolesPage = buildRoles(accts, aliases, h.favourites(c, &data.Identity), h.readHistory(c, &data.Identity),
		searchQuery(c.QueryParam("q")), h.cfg.Personal != nil)
	if err := h.renderRoles(&pd.rolesPage); err != nil {
		return err
	}
	if decision.NeedsMFA && !data.Identity.MFA {
		if p, ok := h.cfg.Providers.Get(data.Identity.Provider); ok {
			pd.MFALogin, pd.MFAProvider = p.LoginPath()+"?mfa=1", p.Label
		}
	}
	pd.IsAdmin = h.cfg.IsAdmin != nil && h.cfg.IsAdmin(&data.Identity)
	pd.Flash = h.TakeFlash(c, b)
	return h.Render(c, http.StatusOK, "portal.html", pd)
}

// signInPage lists the upstream IdPs.
type signInPage struct {
	web.Page
	Providers []providerView
	Grant     bool // a role is named: it opens after sign-in
}

// portalPage lists the person's roles by account.
type portalPage struct {
	web.Page
	rolesPage
	// MFALogin signs in again with MFA, which gives more roles ("" when not).
	MFALogin, MFAProvider string
}

type providerView struct {
	ID, Label, LoginURL string
	// SwitchURL signs in afresh at the IdP: someone else at this computer.
	SwitchURL string
	Ready     bool
}

type accountView struct {
	ID, Label, Alias string
	// Search is the lower-case text of the account a search matches.
	Search string
	Roles  []roleView
}

type roleView struct {
	Key, Label, Description, RoleName, RoleARN, Mode, Downstream string
	// Link is the role's /go link (relative), to copy and share.
	Link                      string
	Duration, ConsoleDuration time.Duration
	// AccountLabel names the account (the link's and pin's names).
	AccountLabel string
	// Search is the lower-case text a search matches, set on the cards
	// outside their account (pinned, recent); the others' is their
	// account's and their own text.
	Search              string
	Pinned              bool
	CanPin, ShowAccount bool
	// LastCredentials and LastConsole are what AWS gave the last time the
	// person opened this role (0: unknown).
	LastCredentials, LastConsole time.Duration
}

// CredentialsLimited and ConsoleLimited say that AWS gave less than the
// rule asks the last time the person opened the role: the card then
// shows what AWS allowed (LastCredentials, LastConsole), what they will
// actually get, rather than what the rule asks.
func (r roleView) CredentialsLimited() bool { return getsLess(r.LastCredentials, r.Duration) }

func (r roleView) ConsoleLimited() bool { return getsLess(r.LastConsole, r.ConsoleDuration) }

// accountsView groups the listed roles (access.ListRoles: already in the
// portal's order) by account, each role with its /go link.
func (h *Handler) accountsView(roles []access.ListedRole, dest string) []accountView {
	var out []accountView
	for _, r := range roles {
		g := r.Grant
		if len(out) == 0 || out[len(out)-1].ID != g.AccountID {
			out = append(out, accountView{ID: g.AccountID, Label: r.AccountLabel})
		}
		a := &out[len(out)-1]
		a.Roles = append(a.Roles, roleView{
			Key: g.Key(), Label: g.Label, Description: g.Description, RoleName: r.RoleName, RoleARN: g.RoleARN,
			Mode: string(g.Mode), Downstream: string(g.Downstream), Duration: g.CredentialDuration, ConsoleDuration: g.ConsoleDuration,
			Link: goPath(r.Ref, dest),
		})
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// console assumes the chosen role and sends the browser to AWS.
func (h *Handler) console(c echo.Context) error {
	cur, ok := h.Current(c)
	if !ok {
		return web.NotSignedIn
	}
	r := c.Request()
	return h.assume(c, cur, web.BoundedParam(r.PostFormValue("grant"), 600), web.BoundedParam(r.PostFormValue("destination"), 2000), true)
}
