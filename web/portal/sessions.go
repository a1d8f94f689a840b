package portal

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/web"
)

// A person's own sessions:
//
//	GET  /sessions                 their live sessions, this browser's marked
//	POST /sessions/end-others      sign out everywhere else (CSRF): this one kept
//	POST /sessions/end-all         sign out everywhere (CSRF): this one too, cookie
//	                               cleared, back to the sign-in page with a message
//
// Each end is audited in access with the person as "by".

// sessionsPage lists the person's live sessions.
type sessionsPage struct {
	web.Page
	Sessions []access.SessionInfo
	// Others counts the sessions that are not this browser's.
	Others int
}

// personActor is the signed-in person as the audit log records their
// own action ("by" = provider/subject, like an admin's session).
func personActor(c echo.Context, id *broker.Identity) broker.Actor {
	m := meta(c)
	return broker.Actor{ID: id.Provider + "/" + id.Subject, Name: web.DisplayName(id),
		RequestID: m.RequestID, RemoteAddr: m.RemoteAddr, UserAgent: m.UserAgent}
}

func (h *Handler) sessions(c echo.Context) error {
	cur, ok := h.Current(c)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	own := h.cfg.Sessions
	id := &cur.Session.Identity
	list, err := own.List(c.Request().Context(), id.Provider, id.Subject)
	if err != nil {
		return err
	}
	mine := access.Handle(cur.ID)
	pd := sessionsPage{Page: h.Page(c, "Your sessions"), Sessions: list}
	for i := range pd.Sessions {
		if pd.Sessions[i].Current = pd.Sessions[i].Handle == mine; !pd.Sessions[i].Current {
			pd.Others++
		}
	}
	pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(id), cur.Browser.CSRF
	pd.IsAdmin = h.cfg.IsAdmin != nil && h.cfg.IsAdmin(id)
	pd.Flash = h.TakeFlash(c, cur.Browser)
	return h.Render(c, http.StatusOK, "sessions.html", pd)
}

// endOthers ends every session of the person but this browser's.
func (h *Handler) endOthers(c echo.Context) error {
	cur, ok := h.Current(c)
	if !ok {
		return web.NotSignedIn
	}
	own := h.cfg.Sessions
	id := &cur.Session.Identity
	n, err := own.EndAll(c.Request().Context(), id.Provider, id.Subject, personActor(c, id), cur.ID)
	if err != nil {
		return err
	}
	msg := "You were signed in nowhere else; nothing changed."
	if n > 0 {
		msg = "Signed out of " + plural(n, "other session") + ". This browser stays signed in. AWS console sessions already opened last until they expire; sign out of them in the console."
	}
	if err := h.SetFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/sessions")
}

// endAll ends every session of the person, this browser's too, clears
// the cookie and goes to the sign-in page with a message.
func (h *Handler) endAll(c echo.Context) error {
	cur, ok := h.Current(c)
	if !ok {
		return web.NotSignedIn
	}
	own := h.cfg.Sessions
	id := &cur.Session.Identity
	n, err := own.EndAll(c.Request().Context(), id.Provider, id.Subject, personActor(c, id), "")
	if err != nil {
		return err
	}
	msg := "You are signed out everywhere (" + plural(n, "session") + " ended). AWS console sessions already opened last until they expire; sign out of them in the console."
	if err := h.SaveBrowser(c.Response(), c.Request(), web.Browser{Flash: msg}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// plural writes "1 session", "2 sessions".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
