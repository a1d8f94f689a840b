package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web"
)

// The short links /go/NAME (ruleset.Admin checks and audits every change):
//
//	GET    /api/v1/links          links:read   every link, by name
//	GET    /api/v1/links/NAME     links:read   one link (404 short_link_not_found)
//	PUT    /api/v1/links/NAME     links:write  create or replace it: 200 with the link as saved,
//	                                           400 with the reason when it is not a valid /go link
//	DELETE /api/v1/links/NAME     links:write  204; 404 when there is none

// apiLink is a short link on the wire.
type apiLink struct {
	Name        string    `json:"name"`
	Account     string    `json:"account,omitempty"`
	Role        string    `json:"role"`
	Destination string    `json:"destination,omitempty"`
	Region      string    `json:"region,omitempty"`
	Via         string    `json:"via,omitempty"`
	Description string    `json:"description,omitempty"`
	UpdatedBy   string    `json:"updated_by,omitempty"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

func toAPILink(l ruleset.ShortLink) apiLink {
	return apiLink{Name: l.Name, Account: l.Account, Role: l.Role, Destination: l.Destination, Region: l.Region,
		Via: l.Via, Description: l.Description, UpdatedBy: l.UpdatedBy, UpdatedAt: l.UpdatedAt}
}

func (h *Handler) apiLinks(c echo.Context) error {
	ls, err := h.cfg.Admin.ShortLinks(c.Request().Context())
	if err != nil {
		return err
	}
	out := []apiLink{}
	for _, l := range ls {
		out = append(out, toAPILink(l))
	}
	return web.WriteJSON(c, http.StatusOK, out)
}

func (h *Handler) apiLink(c echo.Context) error {
	l, err := h.cfg.Admin.ShortLink(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return web.WriteJSON(c, http.StatusOK, toAPILink(l))
}

// apiPutLink: body {"account", "role", "destination", "region", "via",
// "description"}; a "name" in the body must be the URL's.
func (h *Handler) apiPutLink(c echo.Context) error {
	var in struct {
		Name        string `json:"name"`
		Account     string `json:"account"`
		Role        string `json:"role"`
		Destination string `json:"destination"`
		Region      string `json:"region"`
		Via         string `json:"via"`
		Description string `json:"description"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	name := c.Param("name")
	if in.Name != "" && in.Name != name {
		return broker.Errorf(broker.EINVALID, "short_link_rename", "The link's name must match the URL; to rename, save the new name and delete the old one.")
	}
	saved, err := h.cfg.Admin.SaveShortLink(c.Request().Context(), actor(c), ruleset.ShortLink{Name: name, Account: in.Account, Role: in.Role,
		Destination: in.Destination, Region: in.Region, Via: in.Via, Description: in.Description})
	if err != nil {
		return err
	}
	return web.WriteJSON(c, http.StatusOK, toAPILink(saved))
}

func (h *Handler) apiDeleteLink(c echo.Context) error {
	if err := h.cfg.Admin.DeleteShortLink(c.Request().Context(), actor(c), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
