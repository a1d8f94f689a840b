package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/web"
)

// An unsolicited (IdP-initiated) sign-in of someone else never replaces
// the session the browser has: another site can post a Response of its
// own (login CSRF). The ACS cannot tell who is signed in (the session
// cookie is SameSite=Lax, so another site's POST arrives without it): it
// starts the arriving session server-side (its Response is verified and
// burned, so it cannot be kept and played later), puts it in a short-lived
// arrival cookie and sends the browser on to GET /arrive, which gets the
// session cookie. Nobody signed in, or the same person: the arriving
// session becomes the browser's. Someone else: it waits in the session
// cookie as a pending switch until the person stays or switches, for at
// most switchTTL after it arrived. A role it would open is confirmed first
// (/open?confirm=1).
//
//	POST /saml/:p/acs (unsolicited) ──> Sessions.Start ──> arrival cookie ──> 303 /arrive
//	GET  /arrive: nobody or the same person ──> bound (new CSRF) ──> portal, or /open to confirm a role
//	              someone else ──> session cookie: switch ──> 303 /switch
//	GET  /switch  "You are signed in as A. A sign-in for B just arrived."
//	POST /switch  (CSRF) choice=stay   ──> arriving session ended
//	              choice=switch ──> arriving session bound (new CSRF), A's ended

// switchTTL is how long a pending switch waits for the person.
const switchTTL = 5 * time.Minute

// pendingSwitch is the arriving sign-in the cookie holds.
type pendingSwitch struct {
	ID       string    `json:"id"` // server-side session id
	Expires  time.Time `json:"e"`
	Name     string    `json:"n"` // display name of the arriving person
	Provider string    `json:"p"`
	Subject  string    `json:"s"`
	// What the sign-in would have continued to: opened only through the
	// confirmation page.
	Grant       string `json:"g,omitempty"`
	Destination string `json:"d,omitempty"`
}

func (s pendingSwitch) encode() string {
	b, _ := json.Marshal(s)
	return string(b)
}

func decodeSwitch(v string) (pendingSwitch, bool) {
	var s pendingSwitch
	if v == "" || json.Unmarshal([]byte(v), &s) != nil || s.ID == "" {
		return pendingSwitch{}, false
	}
	return s, true
}

// arrival starts the arriving session without binding it to the browser
// and sends the browser on to /arrive with it.
func (h *Handler) arrival(c echo.Context, sess *access.Session, cont pendingRequest) error {
	r := c.Request()
	sid, decision, err := h.cfg.Sessions.Start(r.Context(), sess, "", meta(c))
	if err != nil {
		return err
	}
	grantKey := cont.Grant
	if grantKey == "" && h.cfg.AutoSelectSingleRole && len(decision.Grants) == 1 {
		grantKey = decision.Grants[0].Key()
	}
	a := pendingSwitch{ID: sid, Expires: h.Now().Add(switchTTL), Name: web.DisplayName(&sess.Identity),
		Provider: sess.Identity.Provider, Subject: sess.Identity.Subject, Grant: grantKey, Destination: cont.Destination}
	if err := h.arriveCookie.Put(c.Response(), r, map[string]string{"a": a.encode()}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/arrive")
}

// arrive binds an unsolicited sign-in to the browser, unless someone else
// is signed in: then it asks.
func (h *Handler) arrive(c echo.Context) error {
	r := c.Request()
	a, ok := decodeSwitch(h.arriveCookie.Get(r)["a"])
	if err := h.arriveCookie.Put(c.Response(), r, nil); err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	cur, signedIn := h.Current(c)
	b := cur.Browser
	if !h.Now().Before(a.Expires) {
		h.dropSwitch(c, web.Browser{Switch: a.encode()})
		return c.Redirect(http.StatusSeeOther, "/")
	}
	ctx := r.Context()
	if signedIn && (cur.Session.Identity.Provider != a.Provider || cur.Session.Identity.Subject != a.Subject) {
		h.dropSwitch(c, b)
		b.Switch = a.encode()
		if err := h.SaveBrowser(c.Response(), r, b); err != nil {
			return err
		}
		h.Log().InfoContext(ctx, "unsolicited sign-in of someone else held for the person's choice", "request_id", web.RequestID(c),
			"provider", a.Provider, "subject", a.Subject,
			"signed_in_provider", cur.Session.Identity.Provider, "signed_in_subject", cur.Session.Identity.Subject)
		return c.Redirect(http.StatusSeeOther, "/switch")
	}
	// Nobody signed in, or the same person again: proceed as a sign-in
	// does (a new session id, the previous one ended).
	h.dropSwitch(c, b)
	if signedIn {
		if err := h.cfg.Sessions.End(ctx, cur.ID, meta(c)); err != nil {
			return err
		}
	}
	if err := h.SaveBrowser(c.Response(), r, web.Browser{ID: a.ID, CSRF: web.RandomToken(32)}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, a.next())
}

// next is where the browser goes once the arriving session is its own: a
// role it would open is confirmed first.
func (a pendingSwitch) next() string {
	switch {
	case a.Grant != "":
		return "/open?" + roleLink(a.Grant, a.Destination, true).Encode()
	case a.Destination != "":
		return "/?destination=" + url.QueryEscape(a.Destination)
	}
	return "/"
}

// dropSwitch ends the pending switch the browser holds, if any (the
// caller saves the browser without it).
func (h *Handler) dropSwitch(c echo.Context, b web.Browser) {
	if s, ok := decodeSwitch(b.Switch); ok {
		if err := h.cfg.Sessions.End(c.Request().Context(), s.ID, meta(c)); err != nil {
			h.Log().WarnContext(c.Request().Context(), "end pending sign-in", "request_id", web.RequestID(c), "err", err)
		}
	}
}

// liveSwitch returns the browser's pending switch while it may still be
// chosen. One that expired is ended and cleared from *b (saved), with a
// message.
func (h *Handler) liveSwitch(c echo.Context, b *web.Browser) (pendingSwitch, bool, error) {
	s, ok := decodeSwitch(b.Switch)
	if !ok {
		return pendingSwitch{}, false, nil
	}
	if h.Now().Before(s.Expires) {
		return s, true, nil
	}
	h.dropSwitch(c, *b)
	b.Switch = ""
	b.Flash = "The sign-in for " + s.Name + " waited more than 5 minutes for your choice and was discarded. Nothing changed."
	return pendingSwitch{}, false, h.SaveBrowser(c.Response(), c.Request(), *b)
}

// switchPageData names who is signed in and who is arriving.
type switchPageData struct {
	web.Page
	Current, CurrentProvider   string
	Arriving, ArrivingProvider string
	From                       string
}

func (h *Handler) switchPage(c echo.Context) error {
	cur, signedIn := h.Current(c)
	s, live, err := h.liveSwitch(c, &cur.Browser)
	if err != nil || !live {
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/")
	}
	if !signedIn {
		// The session the question was about has ended meanwhile: nobody
		// is left to ask, and nobody asked for the arriving one here.
		return h.discardSwitch(c, cur.Browser, s, "The sign-in for "+s.Name+" was discarded because your own session ended. Sign in again.")
	}
	id := &cur.Session.Identity
	pd := switchPageData{Page: h.Page(c, "Someone else is signing in")}
	pd.SignedIn, pd.User, pd.CSRF = true, web.DisplayName(id), cur.Browser.CSRF
	pd.IsAdmin = h.cfg.IsAdmin != nil && h.cfg.IsAdmin(id)
	pd.Current, pd.Arriving = web.DisplayName(id), s.Name
	pd.CurrentProvider, pd.ArrivingProvider = h.providerLabel(id.Provider), h.providerLabel(s.Provider)
	pd.From = pd.ArrivingProvider
	if pd.From == "" {
		pd.From = "an identity provider"
	}
	return h.Render(c, http.StatusOK, "switch.html", pd)
}

// switchChoice applies the person's choice (CSRF checked by the route).
func (h *Handler) switchChoice(c echo.Context) error {
	cur, signedIn := h.Current(c)
	b := cur.Browser
	s, live, err := h.liveSwitch(c, &b)
	if err != nil {
		return err
	}
	if !live {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	switch c.Request().PostFormValue("choice") {
	case "stay":
		return h.discardSwitch(c, b, s, "You stayed signed in. The sign-in for "+s.Name+" was discarded.")
	case "switch":
	default:
		return broker.Errorf(broker.EINVALID, "switch_choice", "Choose to stay signed in or to switch.")
	}
	ctx := c.Request().Context()
	if signedIn {
		if err := h.cfg.Sessions.End(ctx, cur.ID, meta(c)); err != nil {
			return err
		}
	}
	if err := h.SaveBrowser(c.Response(), c.Request(), web.Browser{ID: s.ID, CSRF: web.RandomToken(32)}); err != nil {
		return err
	}
	h.Log().InfoContext(ctx, "switched to the arriving sign-in", "request_id", web.RequestID(c), "provider", s.Provider, "subject", s.Subject)
	return c.Redirect(http.StatusSeeOther, s.next())
}

// discardSwitch ends the pending sign-in, keeps the browser as it is and
// goes to the portal with msg.
func (h *Handler) discardSwitch(c echo.Context, b web.Browser, s pendingSwitch, msg string) error {
	h.dropSwitch(c, b)
	b.Switch, b.Flash = "", msg
	if err := h.SaveBrowser(c.Response(), c.Request(), b); err != nil {
		return err
	}
	h.Log().InfoContext(c.Request().Context(), "arriving sign-in discarded", "request_id", web.RequestID(c), "provider", s.Provider)
	return c.Redirect(http.StatusSeeOther, "/")
}

func (h *Handler) providerLabel(id string) string {
	if p, ok := h.cfg.Providers.Get(id); ok {
		return p.Label
	}
	return id
}
