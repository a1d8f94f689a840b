package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/web"
)

// Sessions lists and ends people's portal sessions (access.Sessions);
// every end is audited there, with the administrator (token or session)
// as "by".
type Sessions interface {
	List(ctx context.Context, provider, subject string) ([]access.SessionInfo, error)
	EndHandle(ctx context.Context, provider, subject, handle string, by broker.Actor) error
	EndAll(ctx context.Context, provider, subject string, by broker.Actor, except string) (int, error)
}

var _ Sessions = (*access.Sessions)(nil)

// maxPersonParam bounds a provider id or subject in the query; longer is
// refused like a missing one.
const maxPersonParam = 1000

// apiSession is one live session as the API shows it: its handle, never
// its id (a bearer secret).
type apiSession struct {
	Handle     string    `json:"handle"`
	Provider   string    `json:"provider"`
	Subject    string    `json:"subject"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RemoteAddr string    `json:"remote_addr"`
	UserAgent  string    `json:"user_agent"`
}

// errPersonQuery is the refusal of a sessions request that does not name
// the person.
var errPersonQuery = broker.Errorf(broker.EINVALID, "session_owner_missing",
	"Name the person whose sessions these are: send ?provider=P&subject=S (the identity provider's id and the person's subject, as the audit log shows them).")

// personQuery reads ?provider=&subject=, both required.
func personQuery(c echo.Context) (provider, subject string, err error) {
	provider = web.BoundedParam(strings.TrimSpace(c.QueryParam("provider")), maxPersonParam)
	subject = web.BoundedParam(strings.TrimSpace(c.QueryParam("subject")), maxPersonParam)
	if provider == "" || subject == "" {
		return "", "", errPersonQuery
	}
	return provider, subject, nil
}

// apiSessions: GET /sessions?provider=&subject= lists the person's live
// sessions, newest first.
func (h *Handler) apiSessions(c echo.Context) error {
	provider, subject, err := personQuery(c)
	if err != nil {
		return err
	}
	list, err := h.cfg.Sessions.List(c.Request().Context(), provider, subject)
	if err != nil {
		return err
	}
	out := make([]apiSession, 0, len(list))
	for _, s := range list {
		out = append(out, apiSession{Handle: s.Handle, Provider: s.Provider, Subject: s.Subject, CreatedAt: s.CreatedAt,
			LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, RemoteAddr: s.RemoteAddr, UserAgent: s.UserAgent})
	}
	return web.WriteJSON(c, http.StatusOK, out)
}

// apiEndSessions: DELETE /sessions?provider=&subject= ends every session
// of the person and answers {"ended": N}.
func (h *Handler) apiEndSessions(c echo.Context) error {
	provider, subject, err := personQuery(c)
	if err != nil {
		return err
	}
	n, err := h.cfg.Sessions.EndAll(c.Request().Context(), provider, subject, actor(c), "")
	if err != nil {
		return err
	}
	return web.WriteJSON(c, http.StatusOK, map[string]int{"ended": n})
}

// apiEndSession: DELETE /sessions/:handle?provider=&subject= ends one
// session of the person: 204, or 404 session_not_found when the person
// has no live session with that handle.
func (h *Handler) apiEndSession(c echo.Context) error {
	provider, subject, err := personQuery(c)
	if err != nil {
		return err
	}
	handle := web.BoundedParam(c.Param("handle"), 100)
	if err := h.cfg.Sessions.EndHandle(c.Request().Context(), provider, subject, handle, actor(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
