package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/web"
)

// Sessions lists and ends people's portal sessions (access.Sessions);
// every end is audited there, with the administrator as "by".
type Sessions interface {
	List(ctx context.Context, provider, subject string) ([]access.SessionInfo, error)
	EndHandle(ctx context.Context, provider, subject, handle string, by broker.Actor) error
	EndAll(ctx context.Context, provider, subject string, by broker.Actor, except string) (int, error)
}

var _ Sessions = (*access.Sessions)(nil)

// maxPersonParam bounds a provider id or subject read from a request;
// longer is treated as absent (a clear 400, not a store query).
const maxPersonParam = 1000

// afterEnd is what an ended session means for the person, said after
// every end.
const afterEnd = "They are signed out at their next request; AWS console sessions already opened last until they expire."

type sessionsPage struct {
	Provider, Subject string
	Providers         []providerOpt
	// Looked is set when a person was looked up (Sessions may be empty).
	Looked   bool
	Sessions []access.SessionInfo
	Flash    string
	Problem  string
}

type providerOpt struct {
	ID       string
	Selected bool
}

// person reads provider and subject from the query (GET) or the form
// (POST), trimmed and bounded.
func person(c echo.Context) (provider, subject string) {
	get := c.QueryParam
	if c.Request().Method == http.MethodPost {
		get = c.Request().PostFormValue
	}
	return web.BoundedParam(strings.TrimSpace(get("provider")), maxPersonParam),
		web.BoundedParam(strings.TrimSpace(get("subject")), maxPersonParam)
}

// sessionsURL is the page of one person's sessions.
func sessionsURL(provider, subject string) string {
	if provider == "" && subject == "" {
		return "/admin/sessions"
	}
	return "/admin/sessions?" + url.Values{"provider": {provider}, "subject": {subject}}.Encode()
}

// personName is how flashes name a person: "alice (okta)".
func personName(provider, subject string) string { return subject + " (" + provider + ")" }

// providerOpts offers the configured providers, and the one asked for
// when it is not among them (sessions may outlive a provider's removal).
func providerOpts(ids []string, selected string) []providerOpt {
	if selected != "" && !slices.Contains(ids, selected) {
		ids = append(slices.Clone(ids), selected)
	}
	out := make([]providerOpt, 0, len(ids))
	for _, id := range ids {
		out = append(out, providerOpt{ID: id, Selected: id == selected})
	}
	return out
}

// adminSessions is the lookup form and, for a person named in the query,
// their live sessions (the administrator's own marked current).
func (h *Handler) adminSessions(c echo.Context) error {
	provider, subject := person(c)
	p := sessionsPage{Provider: provider, Subject: subject, Providers: providerOpts(h.providerIDs(), provider), Flash: h.adminFlash(c)}
	status := http.StatusOK
	if provider != "" || subject != "" {
		list, err := h.cfg.Sessions.List(c.Request().Context(), provider, subject)
		switch {
		case broker.ErrorCode(err) == broker.EINVALID:
			p.Problem, status = broker.ErrorMessage(err), http.StatusBadRequest
		case err != nil:
			return err
		default:
			p.Looked, p.Sessions = true, list
			if own := h.LoadBrowser(c.Request()).ID; own != "" {
				mine := access.Handle(own)
				for i := range p.Sessions {
					p.Sessions[i].Current = p.Sessions[i].Handle == mine
				}
			}
		}
	}
	return h.renderAdmin(c, status, "admin_sessions.html", h.adminPage(c, "Sessions", "sessions", p))
}

// adminSessionEnd ends one session of a person, named by its handle. One
// already gone is said in the flash, not as an error page.
func (h *Handler) adminSessionEnd(c echo.Context) error {
	provider, subject := person(c)
	handle := web.BoundedParam(c.Request().PostFormValue("handle"), 100)
	err := h.cfg.Sessions.EndHandle(c.Request().Context(), provider, subject, handle, actor(c))
	var msg string
	switch broker.ErrorCode(err) {
	case "":
		msg = "Ended session " + handle + " of " + personName(provider, subject) + ". " + afterEnd
	case broker.ENOTFOUND:
		msg = broker.ErrorMessage(err)
	default:
		return err
	}
	return h.flashRedirect(c, msg, sessionsURL(provider, subject))
}

// adminSessionEndAll ends every session of a person (the administrator's
// own too, when it is theirs: "all" means all).
func (h *Handler) adminSessionEndAll(c echo.Context) error {
	provider, subject := person(c)
	n, err := h.cfg.Sessions.EndAll(c.Request().Context(), provider, subject, actor(c), "")
	if err != nil {
		return err
	}
	return h.flashRedirect(c, endedMessage(n, personName(provider, subject)), sessionsURL(provider, subject))
}

// endedMessage says how many sessions of who ended.
func endedMessage(n int, who string) string {
	switch n {
	case 0:
		return who + " had no live sessions; none ended."
	case 1:
		return "Ended 1 session of " + who + ". " + afterEnd
	}
	return "Ended " + strconv.Itoa(n) + " sessions of " + who + ". " + afterEnd
}
