package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/web"
)

// Personal is what the portal keeps and reads for the person signed in
// (store.Store): their favourite roles, and their own role_assumed audit
// events, which give the roles they used recently, what AWS allowed
// them last time and the console sessions they opened today.
type Personal interface {
	Favourites(ctx context.Context, provider, subject string) ([]string, error)
	SetFavourite(ctx context.Context, provider, subject, grantKey string, pinned bool) error
	ListAudit(ctx context.Context, f admins.AuditFilter) ([]admins.AuditEvent, error)
}

// Bounds of what the portal reads per page view.
const (
	// historyEvents is how many of the person's latest role openings the
	// portal reads (one indexed query: audit by subject).
	historyEvents = 200
	// maxRecent is how many recently used roles are listed at the top.
	maxRecent = 5
	// maxToday is how many of today's console sessions are listed (the
	// newest; the heading counts them all): a person, or a script, that
	// opens hundreds a day would otherwise get a page of hundreds of
	// lines, each costing its render.
	maxToday = 20
)

// history is what the person's own audit events say.
type history struct {
	// recent are role identities (roleUse), newest first, distinct.
	recent []string
	// last is the latest opening of each role identity.
	last map[string]lastUse
	// today are the console sessions opened since midnight UTC, newest first.
	today []opening
	// todayUncounted: every opening read was today's, so there may be
	// more than today holds.
	todayUncounted bool
}

// lastUse is what AWS gave the last time a role was opened.
type lastUse struct {
	Credentials, Console time.Duration
}

// opening is one console session the person opened.
type opening struct {
	RoleARN, Mode     string
	Opened, Expires   time.Time
	RoleLabel, Within string // filled from the grants when still granted
	Live              bool
}

// roleUse names a role as the audit log records it: ARN and mode.
func roleUse(roleARN, mode string) string { return roleARN + "|" + mode }

// readHistory reads the person's latest successful role openings. An
// error leaves the page without history (logged): the roles still show.
func (h *Handler) readHistory(c echo.Context, id *broker.Identity) history {
	hist := history{last: map[string]lastUse{}}
	if h.cfg.Personal == nil {
		return hist
	}
	ctx := c.Request().Context()
	evs, err := h.cfg.Personal.ListAudit(ctx, admins.AuditFilter{
		Provider: id.Provider, Subject: id.Subject, Event: "role_assumed", Result: "success", Limit: historyEvents, Brief: true,
	})
	if err != nil {
		h.Log().WarnContext(ctx, "portal: recent roles not read", "request_id", web.RequestID(c), "err", err)
		return hist
	}
	now := h.Now().UTC()
	midnight := now.Truncate(24 * time.Hour)
	for _, ev := range evs {
		key := roleUse(ev.RoleARN, ev.Details["mode"])
		credExp := detailTime(ev.Details["credentials_exp"])
		consoleExp := detailTime(ev.Details["console_exp"])
		if _, seen := hist.last[key]; !seen {
			hist.last[key] = lastUse{Credentials: since(ev.Time, credExp), Console: since(ev.Time, consoleExp)}
			if len(hist.recent) < historyEvents {
				hist.recent = append(hist.recent, key)
			}
		}
		if !ev.Time.Before(midnight) {
			hist.today = append(hist.today, opening{RoleARN: ev.RoleARN, Mode: ev.Details["mode"], Opened: ev.Time,
				Expires: consoleExp, Live: consoleExp.After(now)})
		}
	}
	hist.todayUncounted = len(evs) == historyEvents && len(hist.today) == len(evs)
	return hist
}

func detailTime(v string) time.Time {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// since is the length from start to end, to the minute (0 when unknown).
func since(start, end time.Time) time.Duration {
	if end.IsZero() || !end.After(start) {
		return 0
	}
	return end.Sub(start).Round(time.Minute)
}

// favourites reads the person's pinned grant keys (nil on error, logged).
func (h *Handler) favourites(c echo.Context, id *broker.Identity) map[string]bool {
	if h.cfg.Personal == nil {
		return nil
	}
	keys, err := h.cfg.Personal.Favourites(c.Request().Context(), id.Provider, id.Subject)
	if err != nil {
		h.Log().WarnContext(c.Request().Context(), "portal: favourites not read", "request_id", web.RequestID(c), "err", err)
		return nil
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out
}

// errNoFavourites: the broker keeps no favourites (no store).
var errNoFavourites = broker.Errorf(broker.ENOTFOUND, "favourites_off", "This broker does not keep favourite roles.")

// favourite pins or unpins one of the person's roles (POST /favourites,
// CSRF), then goes back to the portal with the same search. The portal's
// pin buttons post pin=REF or unpin=REF (the card's pinRef); grant=KEY
// with pin=1 or pin=0 does the same. Only a role the person has can be
// pinned; any can be unpinned by its key.
func (h *Handler) favourite(c echo.Context) error {
	cur, ok := h.Current(c)
	if !ok {
		return web.NotSignedIn
	}
	if h.cfg.Personal == nil {
		return errNoFavourites
	}
	r := c.Request()
	id := &cur.Session.Identity
	key, pin, ok := h.pinRequest(id, r.PostFormValue)
	if !ok {
		return broker.Errorf(broker.EFORBIDDEN, "role_not_granted", "This role is not one of yours, so it cannot be pinned. Go back to the portal and pick one from the list.")
	}
	if err := h.cfg.Personal.SetFavourite(r.Context(), id.Provider, id.Subject, key, pin); err != nil {
		return err
	}
	target := "/"
	q := url.Values{}
	if s := searchQuery(r.PostFormValue("q")); s != "" {
		q.Set("q", s)
	}
	if d := web.BoundedParam(r.PostFormValue("destination"), 2000); d != "" {
		q.Set("destination", d)
	}
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// pinRequest reads which grant to pin or unpin: a grant key (grant=,
// with pin=1 or 0) or a pin reference (pin= or unpin=) of one of the
// person's grants. ok is false for a grant to pin that is not theirs.
func (h *Handler) pinRequest(id *broker.Identity, form func(string) string) (key string, pin, ok bool) {
	if key = web.BoundedParam(form("grant"), maxGrantKey); key != "" {
		pin = form("pin") == "1"
		return key, pin, !pin || h.granted(id, key)
	}
	ref, pin := form("pin"), true
	if ref == "" {
		ref, pin = form("unpin"), false
	}
	if len(ref) != pinRefLen {
		return "", false, false
	}
	for _, g := range h.cfg.Access.Decide(id).Grants {
		if k := g.Key(); pinRef(k) == ref {
			return k, pin, true
		}
	}
	return "", false, false
}

// granted says whether key is one of the person's grants now.
func (h *Handler) granted(id *broker.Identity, key string) bool {
	for _, g := range h.cfg.Access.Decide(id).Grants {
		if g.Key() == key {
			return true
		}
	}
	return false
}

// searchQuery bounds the portal's search text.
func searchQuery(v string) string {
	return strings.TrimSpace(web.BoundedParam(v, 200))
}
