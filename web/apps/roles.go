package apps

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	brokerapps "github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/web/portal"
)

// RolesPath lists the person's roles for apps (the command line's broker roles).
const RolesPath = "/api/v1/roles"

// stsDefaultDuration is what STS gives without DurationSeconds; the
// console session lasts as long as the credentials without SessionDuration.
const stsDefaultDuration = time.Hour

// rolesResponse is the body of GET /api/v1/roles.
type rolesResponse struct {
	Roles []roleJSON `json:"roles"`
}

// roleJSON is one role as the portal shows it.
type roleJSON struct {
	Account                string `json:"account"`
	AccountAlias           string `json:"account_alias"`
	AccountLabel           string `json:"account_label"`
	Role                   string `json:"role"`
	RoleARN                string `json:"role_arn"`
	Label                  string `json:"label"`
	Description            string `json:"description"`
	Region                 string `json:"region"`
	Via                    string `json:"via"`
	Mode                   string `json:"mode"`
	DurationSeconds        int64  `json:"duration_seconds"`
	ConsoleDurationSeconds int64  `json:"console_duration_seconds"`
	RequiresMFA            bool   `json:"requires_mfa"`
	// Credentials is false for pass-through roles: the credentials API
	// refuses them (the portal opens them).
	Credentials bool   `json:"credentials"`
	Link        string `json:"link"`
}

// roles answers GET /api/v1/roles for an app's access token with the
// scope aws:roles: the roles the rules give the person now, in the
// portal's order with its labels and /go links (access.Service.Roles).
func (h *Handler) roles(c echo.Context) error {
	bearer, err := h.bearer(c, brokerapps.ScopeAWSRoles, "listing your AWS roles")
	if err != nil {
		return err
	}
	listed := h.cfg.Credentials.Roles(&bearer.Identity)
	res := rolesResponse{Roles: make([]roleJSON, 0, len(listed))}
	for _, r := range listed {
		g := r.Grant
		d := g.CredentialDuration
		if d == 0 {
			d = stsDefaultDuration
		}
		cd := g.ConsoleDuration
		if cd == 0 {
			cd = d
		}
		via := g.Downstream
		if via == "" {
			via = broker.DownstreamSAML
		}
		res.Roles = append(res.Roles, roleJSON{
			Account: g.AccountID, AccountAlias: r.AccountAlias, AccountLabel: r.AccountLabel,
			Role: r.RoleName, RoleARN: g.RoleARN, Label: g.Label, Description: g.Description, Region: g.Region,
			Via: string(via), Mode: string(g.Mode),
			DurationSeconds: int64(d / time.Second), ConsoleDurationSeconds: int64(cd / time.Second),
			RequiresMFA: r.RequiresMFA, Credentials: g.Mode != broker.ModePassThrough,
			Link: portal.GoURL(h.Frame, r.Ref, ""),
		})
	}
	return c.JSON(http.StatusOK, res)
}
