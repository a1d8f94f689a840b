package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/ruleset"
)

// Short links /go/NAME (issue 11 deep links), on /admin/links:
//
//	GET  /admin/links[?edit=NAME]      the list and the create/edit form (filled for NAME)
//	POST /admin/links                  save (create or replace by name) ──> ruleset.Admin.SaveShortLink
//	POST /admin/links/NAME/delete      asks first; with confirm=1 ──> ruleset.Admin.DeleteShortLink
//
// Every POST carries the CSRF token (the guard checks it); every change is
// checked and audited by ruleset.Admin.

// ShortLinkAdmin keeps the short links (ruleset.Admin).
type ShortLinkAdmin interface {
	ShortLinks(ctx context.Context) ([]ruleset.ShortLink, error)
	ShortLink(ctx context.Context, name string) (ruleset.ShortLink, error)
	SaveShortLink(ctx context.Context, who broker.Actor, l ruleset.ShortLink) (ruleset.ShortLink, error)
	DeleteShortLink(ctx context.Context, who broker.Actor, name string) error
}

var _ ShortLinkAdmin = (*ruleset.Admin)(nil)

type linksPage struct {
	Links   []linkView
	Flash   string
	Problem string
	Form    ruleset.ShortLink
	Editing bool
	// Confirm is the link a delete asks about ("" when none).
	Confirm string
}

type linkView struct {
	ruleset.ShortLink
	URL string // the absolute /go/NAME link
}

func (h *Handler) adminLinks(c echo.Context) error {
	p := linksPage{Flash: h.adminFlash(c)}
	if name := c.QueryParam("edit"); name != "" {
		l, err := h.cfg.Admin.ShortLink(c.Request().Context(), name)
		if err != nil {
			return err
		}
		p.Form, p.Editing = l, true
	}
	return h.renderLinks(c, http.StatusOK, p)
}

// renderLinks renders the page with the current list.
func (h *Handler) renderLinks(c echo.Context, status int, p linksPage) error {
	links, err := h.cfg.Admin.ShortLinks(c.Request().Context())
	if err != nil {
		return err
	}
	for _, l := range links {
		p.Links = append(p.Links, linkView{ShortLink: l, URL: h.URL("/go/" + l.Name)})
	}
	return h.renderAdmin(c, status, "admin_links.html", h.adminPage(c, "Short links", "links", p))
}

func (h *Handler) adminLinkSave(c echo.Context) error {
	r := c.Request()
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	l := ruleset.ShortLink{Name: f("name"), Account: f("account"), Role: f("role"), Destination: f("destination"),
		Region: f("region"), Via: f("via"), Description: f("description")}
	saved, err := h.cfg.Admin.SaveShortLink(r.Context(), actor(c), l)
	if err != nil {
		if broker.ErrorCode(err) != broker.EINVALID {
			return err
		}
		return h.renderLinks(c, http.StatusBadRequest, linksPage{Problem: broker.ErrorMessage(err), Form: l, Editing: f("editing") == "1"})
	}
	return h.flashRedirect(c, "Saved /go/"+saved.Name+".", "/admin/links")
}

func (h *Handler) adminLinkDelete(c echo.Context) error {
	name := c.Param("name")
	if c.Request().PostFormValue("confirm") != "1" {
		if _, err := h.cfg.Admin.ShortLink(c.Request().Context(), name); err != nil {
			return err
		}
		return h.renderLinks(c, http.StatusOK, linksPage{Confirm: name})
	}
	if err := h.cfg.Admin.DeleteShortLink(c.Request().Context(), actor(c), name); err != nil {
		return err
	}
	return h.flashRedirect(c, "Deleted /go/"+name+".", "/admin/links")
}
