package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/partition"
	"github.com/broker-dev/broker/web"
)

// A link that names a role (grant=, destination=) opens it only when the
// person asked for it on this site: the request is same-origin, or typed
// or bookmarked (Sec-Fetch-Site: none). Anything else (another site, a
// sibling subdomain, a browser that sends no Sec-Fetch-Site) lands on a
// confirmation page first. The broker's own re-authentication page says
// so with an intent token instead, so it does not depend on the header.

// firstParty says whether the browser reports the request as started on
// this origin or by the person (address bar, bookmark).
func firstParty(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	}
	return false
}

// intentToken binds a role link to the browser session that made it: an
// HMAC keyed with the session's CSRF token, so another site can neither
// read nor forge it. Only the broker's own pages carry one.
func intentToken(csrf, grantKey, dest string) string {
	if csrf == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(csrf))
	m.Write([]byte("broker role link\x00" + grantKey + "\x00" + dest))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// linkNeedsConfirm says whether a login or /open request naming grantKey
// or dest must be confirmed before the role opens: confirm=1 (a mark that
// only ever adds a step), or a request not started on this site and not
// carrying this browser's intent token.
func (h *Handler) linkNeedsConfirm(c echo.Context, grantKey, dest string) bool {
	if grantKey == "" && dest == "" {
		return false
	}
	if c.QueryParam("confirm") == "1" {
		return true
	}
	r := c.Request()
	if firstParty(r) {
		return false
	}
	want := intentToken(h.LoadBrowser(r).CSRF, grantKey, dest)
	return !web.TokensEqual(want, c.QueryParam("intent"))
}

// roleLink is the query of a link that names a role.
func roleLink(grantKey, dest string, confirm bool) url.Values {
	q := url.Values{}
	if grantKey != "" {
		q.Set("grant", grantKey)
	}
	if dest != "" {
		q.Set("destination", dest)
	}
	if confirm {
		q.Set("confirm", "1")
	}
	return q
}

// open is the deep link people bookmark and paste: GET /open?grant=KEY
// &destination=URL. Signed in, it opens the role when the person asked
// for it here, and otherwise asks; signed out, it goes to the sign-in page
// keeping the role and the mark.
func (h *Handler) open(c echo.Context) error {
	grantKey := web.BoundedParam(c.QueryParam("grant"), 600)
	dest := web.BoundedParam(c.QueryParam("destination"), 2000)
	if grantKey == "" {
		target := "/"
		if dest != "" {
			target += "?destination=" + url.QueryEscape(dest)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
	confirm := h.linkNeedsConfirm(c, grantKey, dest)
	cur, ok := h.Current(c)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/?"+roleLink(grantKey, dest, confirm).Encode())
	}
	if !confirm {
		return h.assume(c, cur, grantKey, dest, true)
	}
	return h.confirmPage(c, cur, grantKey, dest)
}

// confirmRolePage asks before opening a role someone else's link named.
type confirmRolePage struct {
	web.Page
	Grant        string
	AccountID    string
	AccountLabel string
	RoleLabel    string
	RoleName     string
	RoleARN      string
	Description  string
	Duration     string
	Provider     string
}

// confirmPage names the account, the role, the destination and the
// duration of a grant the person has, with a button (CSRF) that opens it.
func (h *Handler) confirmPage(c echo.Context, cur *web.Current, grantKey, dest string) error {
	id := &cur.Session.Identity
	var g broker.Grant
	found := false
	for _, cand := range h.cfg.Access.Decide(id).Grants {
		if cand.Key() == grantKey {
			g, found = cand, true
			break
		}
	}
	if !found {
		return broker.Errorf(broker.EFORBIDDEN, access.ReasonRoleNotGranted,
			"You do not have access to this role. Pick one of the roles listed on the portal.")
	}
	arn, _ := broker.ParseARN(g.RoleARN)
	if dest != "" {
		if err := partition.ValidateConsoleURL(arn.Partition, dest); err != nil {
			return broker.Wrap(err, broker.EINVALID, "destination_not_allowed",
				"The requested destination is not an AWS console page, so the broker will not send you there.")
		}
	}
	pd := confirmRolePage{Page: h.Page(c, "Open this AWS role?")}
	pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(id), cur.Browser.CSRF
	pd.IsAdmin = h.cfg.IsAdmin != nil && h.cfg.IsAdmin(id)
	pd.Destination = dest
	pd.Grant, pd.AccountID, pd.AccountLabel = grantKey, g.AccountID, g.AccountLabel
	if pd.AccountLabel == g.AccountID {
		pd.AccountLabel = ""
	}
	pd.RoleLabel, pd.RoleName, pd.RoleARN, pd.Description = g.Label, arn.Name(), g.RoleARN, g.Description
	if pd.RoleLabel == "" {
		pd.RoleLabel = pd.RoleName
	}
	switch {
	case g.ConsoleDuration > 0:
		pd.Duration = web.HumanDuration(g.ConsoleDuration)
	case g.CredentialDuration > 0:
		pd.Duration = web.HumanDuration(g.CredentialDuration)
	default:
		pd.Duration = "1 h" // the STS and console default
	}
	if p, ok := h.cfg.Providers.Get(id.Provider); ok {
		pd.Provider = p.Label
	}
	return h.Render(c, http.StatusOK, "confirm_role.html", pd)
}
