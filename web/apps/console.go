package apps

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
)

// ConsolePath is the console sign-in API for apps (the command line's broker console).
const ConsolePath = "/api/v1/console"

// maxDestination bounds a destination (a console URL or a short name).
const maxDestination = 2000

// consoleRequest is the body of POST /api/v1/console.
// Its Duration is the console session's length.
type consoleRequest struct {
	roleBody
	// Destination is a console URL or a service's short name ("s3").
	Destination string `json:"destination,omitempty"`
	Region      string `json:"region,omitempty"`
}

// consoleResponse is what the app gets. URL carries the SigninToken (the
// federation protocol puts it there): the app opens it in the person's
// browser; it is never cached or logged.
type consoleResponse struct {
	URL       string    `json:"url"`
	Expires   time.Time `json:"expires"`
	RoleARN   string    `json:"role_arn"`
	AccountID string    `json:"account_id"`
	Notices   []string  `json:"notices,omitempty"`
}

var errDestinationTooLong = broker.Errorf(broker.EINVALID, access.ReasonDestinationNotAllowed,
	"The destination is too long for an AWS console page.")

// console answers POST /api/v1/console for an app's access token with the
// scope aws:credentials: a console sign-in URL for a role the rules give
// the person now (access.Service.Console), refused for any other role and
// for pass-through roles.
func (h *Handler) console(c echo.Context) error {
	var in consoleRequest
	bearer, ref, err := h.roleCall(c, "AWS console sign-ins", &in)
	if err != nil {
		return err
	}
	if len(in.Destination) > maxDestination {
		return errDestinationTooLong
	}
	out, err := h.cfg.Credentials.Console(c.Request().Context(), access.ConsoleInput{
		Identity: bearer.Identity, Role: ref, Destination: in.Destination, Region: in.Region,
		Duration: time.Duration(in.Duration), Client: bearer.ClientID, Meta: accessMeta(c),
	})
	if err != nil {
		return err
	}
	arn, _ := broker.ParseARN(out.Grant.RoleARN)
	res := consoleResponse{URL: out.ConsoleURL, Expires: out.ConsoleExpires.UTC(), RoleARN: out.Grant.RoleARN, AccountID: arn.AccountID}
	for _, n := range out.Notices {
		res.Notices = append(res.Notices, n.Message)
	}
	return c.JSON(http.StatusOK, res)
}
