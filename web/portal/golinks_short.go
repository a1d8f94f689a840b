package portal

import (
	"context"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/ruleset"
)

// Short links: GET /go/NAME is the /go link an admin saved under NAME
// (ruleset.Admin.SaveShortLink):
//
//	GET /go/prod-admin ──> ShortLinks.ShortLink("prod-admin")
//	    ──> goWith(the link's account, role, via, region, destination)
//	    ──> exactly /go: open it, ask first (another site's link), or
//	        sign in first (the link travels as its /go pseudo grant key)
//
// The request's own query never adds to or overrides the saved link's
// parameters; confirm= and intent= keep their /go meaning (ask first; a
// same-origin page's mark). An unknown name is a 404 page in words.

// ShortLinks finds a short link by name (ruleset.Admin): ENOTFOUND when
// there is none.
type ShortLinks interface {
	ShortLink(ctx context.Context, name string) (ruleset.ShortLink, error)
}

var _ ShortLinks = (*ruleset.Admin)(nil)

// goShort is GET /go/:name.
func (h *Handler) goShort(c echo.Context) error {
	name := c.Param("name")
	if h.cfg.ShortLinks == nil {
		return errShortLinkUnknown(name)
	}
	l, err := h.cfg.ShortLinks.ShortLink(c.Request().Context(), name)
	if broker.ErrorCode(err) == broker.ENOTFOUND {
		return errShortLinkUnknown(name)
	}
	if err != nil {
		return err
	}
	return h.goWith(c, shortLinkQuery(l))
}

// shortLinkQuery is the /go query a short link stands for.
func shortLinkQuery(l ruleset.ShortLink) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"account": l.Account, "role": l.Role, "via": l.Via, "region": l.Region, "destination": l.Destination} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// errShortLinkUnknown names the link only when name is a short link's name
// (nothing else from the URL is echoed back).
func errShortLinkUnknown(name string) error {
	shown := "this link"
	if ruleset.ValidShortLinkName(name) {
		shown = "/go/" + name
	}
	return broker.Errorf(broker.ENOTFOUND, "short_link_not_found",
		"There is no short link %s on this broker (it may have been renamed or removed). Ask whoever sent it for the current link, or pick the role on the portal.", shown)
}
