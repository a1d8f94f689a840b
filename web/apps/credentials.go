package apps

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	brokerapps "github.com/broker-dev/broker/apps"
)

// CredentialsPath is the credentials API for apps.
const CredentialsPath = "/api/v1/credentials"

// Credentials is the access use case for apps (access.Service): the
// roles the rules give a person, credentials and console sign-ins.
type Credentials interface {
	Roles(id *broker.Identity) []access.ListedRole
	Credentials(ctx context.Context, in access.CredentialsInput) (*access.Outcome, error)
	Console(ctx context.Context, in access.ConsoleInput) (*access.Outcome, error)
}

// Bearers checks an app's access token (*apps.Provider).
type Bearers interface {
	VerifyBearer(ctx context.Context, raw string) (*brokerapps.Bearer, error)
}

var (
	_ Credentials = (*access.Service)(nil)
	_ Bearers     = (*brokerapps.Provider)(nil)
)

// credentialsRequest is the body of POST /api/v1/credentials.
type credentialsRequest struct {
	roleBody
}

// durationValue reads "1h30m" or 5400.
type durationValue time.Duration

func (d *durationValue) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*d = durationValue(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return broker.Errorf(broker.EINVALID, access.ReasonDurationInvalid, "duration must be a Go duration (1h) or seconds, got %s", s)
	}
	*d = durationValue(v)
	return nil
}

// credentialsResponse is what the app gets: the STS credentials and what
// they are for. Never cached, never logged.
type credentialsResponse struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
	RoleARN         string    `json:"role_arn"`
	AccountID       string    `json:"account_id"`
	SessionName     string    `json:"session_name"`
	Notices         []string  `json:"notices,omitempty"`
}

// credentials answers POST /api/v1/credentials for an app's access token
// with the scope aws:credentials: credentials for a role the rules give
// the person now (access.Credentials), refused for any other role.
func (h *Handler) credentials(c echo.Context) error {
	var in credentialsRequest
	bearer, ref, err := h.roleCall(c, "AWS credentials", &in)
	if err != nil {
		return err
	}
	out, err := h.cfg.Credentials.Credentials(c.Request().Context(), access.CredentialsInput{
		Identity: bearer.Identity, Role: ref, Duration: time.Duration(in.Duration), Client: bearer.ClientID, Meta: accessMeta(c),
	})
	if err != nil {
		return err
	}
	arn, _ := broker.ParseARN(out.Grant.RoleARN)
	res := credentialsResponse{
		AccessKeyID: out.Credentials.AccessKeyID, SecretAccessKey: out.Credentials.SecretAccessKey,
		SessionToken: out.Credentials.SessionToken, Expiration: out.Credentials.Expiration.UTC(),
		RoleARN: out.Grant.RoleARN, AccountID: arn.AccountID, SessionName: out.SessionName,
	}
	for _, n := range out.Notices {
		res.Notices = append(res.Notices, n.Message)
	}
	return c.JSON(http.StatusOK, res)
}
