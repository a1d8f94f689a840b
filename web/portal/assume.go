package portal

import (
	"net/http"
	"strings"
	"time"

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
// URL. When the upstream credential is spent, access says what to do next:
// renew the OIDC ID token with the refresh token and try once more, or, if
// mayReauth, send the browser through the IdP again (silently, if it still
// has a session there) and come back to this role.
func (h *Handler) assume(c echo.Context, cur *web.Current, grantKey, dest string, mayReauth bool) error {
	p, _ := h.cfg.Providers.Get(cur.Session.Identity.Provider)
	caps := access.Provider{SAML: p.SAML != nil, OIDC: p.OIDC != nil}
	if cur.Stale && p.OIDC != nil && cur.Session.RefreshToken() != "" {
		// An OIDC refresh re-verifies the claims without a browser trip.
		if rerr := h.refreshUpstream(c, cur, p); rerr == nil {
			cur.Stale = false
		}
	}
	if cur.Stale {
		// The attributes are older than reauth_after: the rules decide on
		// what the IdP says now, not at sign-in (silently where it can).
		if !mayReauth || (p.SAML == nil && p.OIDC == nil) {
			return errReauth
		}
		return h.reauthPage(c, cur, p, access.Step{Silent: p.OIDC != nil}, grantKey, dest,
			"The broker is confirming your sign-in with "+p.Label+" before it opens this role.")
	}
	out, err := h.runAssume(c, cur, grantKey, dest)
	step := access.NextStep(cur.Session, err, caps)
	if step.Kind == access.StepRefresh {
		if rerr := h.refreshUpstream(c, cur, p); rerr == nil {
			out, err = h.runAssume(c, cur, grantKey, dest)
		} else {
			h.Log().InfoContext(c.Request().Context(), "refresh failed, signing in again", "request_id", web.RequestID(c), "err", rerr)
		}
		step = access.NextStep(cur.Session, err, caps)
	}
	if err != nil {
		if step.Kind == access.StepSignInAgain && mayReauth {
			return h.reauthPage(c, cur, p, step, grantKey, dest, "")
		}
		return err
	}
	if len(out.Notices) > 0 {
		msgs := noticeTexts(out)
		b := cur.Browser
		b.Flash = strings.Join(msgs, " ")
		_ = h.SaveBrowser(c.Response(), c.Request(), b)
	}
	return c.Redirect(http.StatusFound, out.ConsoleURL)
}

// noticeTexts are the notices of a role opening, each naming the role it
// is about ("Administrator in Sandbox: AWS allows this role less than
// the 8 h the rule asks for, so the session is 1 h …").
func noticeTexts(out *access.Outcome) []string {
	role := roleInAccount(out.Grant)
	var msgs []string
	for _, n := range out.Notices {
		msg := n.Message
		if n.Code == "duration_clamped_role" {
			// sts retried at 1 h after AWS refused the asked duration.
			msg = "AWS allows this role less than was asked, so the session is 1 h."
			if d := out.Grant.CredentialDuration; d > time.Hour {
				msg = "AWS allows this role less than the " + web.HumanDuration(d) + " the rule asks for, so the session is 1 h (an administrator can raise the role's maximum session duration in IAM)."
			}
		}
		msgs = append(msgs, role+": "+msg)
	}
	return msgs
}

func (h *Handler) runAssume(c echo.Context, cur *web.Current, grantKey, dest string) (*access.Outcome, error) {
	r := c.Request()
	out, err := h.cfg.Access.Assume(r.Context(), access.AssumeInput{
		Session: cur.Session, GrantKey: grantKey, Destination: dest,
		Meta: access.Meta{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: r.UserAgent()},
	})
	if out != nil && out.SessionChanged {
		h.SaveSession(c, cur)
	}
	return out, err
}

// refreshUpstream gets a fresh ID token with the refresh token kept
// server-side and stores both (the refresh token may have rotated).
func (h *Handler) refreshUpstream(c echo.Context, cur *web.Current, p web.Provider) error {
	sess := cur.Session
	ctx := c.Request().Context()
	res, err := p.OIDC.Refresh(ctx, sess.RefreshToken(), sess.Identity.Subject)
	if err != nil {
		sess.RefreshFailed()
		h.SaveSession(c, cur)
		return err
	}
	sess.Refreshed(res.IDToken, res.Expires, res.RefreshToken)
	sess.Reverified(res.Identity, h.Now())
	sess.CapAt(res.RefreshExpires)
	// The new ID token is kept only if a pass-through role still uses it.
	sess.KeepUpstreamFor(h.cfg.Access.Decide(&sess.Identity))
	h.SaveSession(c, cur)
	h.Log().InfoContext(ctx, "refreshed upstream ID token", "request_id", web.RequestID(c), "provider", p.ID, "subject", sess.Identity.Subject)
	return nil
}

// reauthPage is a page that moves on by itself rather than a redirect: a
// redirect chain started by a form POST is bound by CSP form-action, which
// does not (and should not) list every IdP. With an IdP session the round
// trip is invisible.
func (h *Handler) reauthPage(c echo.Context, cur *web.Current, p web.Provider, how access.Step, grantKey, dest, message string) error {
	silent := how.Silent && !how.Fresh
	// The intent token says this link is the broker's own, so the role
	// opens after sign-in without a confirmation, whatever the browser
	// sends as Sec-Fetch-Site.
	q := roleLink(grantKey, dest, false)
	q.Set("intent", intentToken(cur.Browser.CSRF, grantKey, dest))
	pd := h.Page(c, "Signing you in again")
	pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(&cur.Session.Identity), cur.Browser.CSRF
	if silent {
		q.Set("prompt", "none")
		pd.Message = "Your sign-in with " + p.Label + " has expired, so the broker is renewing it for this role."
	} else {
		pd.Message = "AWS accepts each sign-in from " + p.Label + " once, so the broker is getting a fresh one for this role."
	}
	if how.Fresh {
		q.Set("fresh", "1")
		pd.Message = "This role needs a recent sign-in, so " + p.Label + " will ask you to sign in again."
	}
	if message != "" {
		pd.Message = message
	}
	pd.Refresh = p.LoginPath() + "?" + q.Encode()
	return h.Render(c, http.StatusOK, "reauth.html", pd)
}

// errReauth is a role asked for on a stale session where the portal cannot
// send the browser through the IdP first.
var errReauth = broker.Errorf(broker.EUNAUTHORIZED, "reauth_required",
	"Your sign-in must be confirmed with your identity provider again. Go back to the portal and pick the role again.")
