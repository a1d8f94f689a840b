package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/broker-dev/broker"
)

// API paths (the contract in the broker's issue 12).
const (
	RolesPath       = "/api/v1/roles"
	CredentialsPath = "/api/v1/credentials"
	ConsolePath     = "/api/v1/console"
)

// Role is one role the rules give the person, as GET /api/v1/roles
// (and the portal) shows it.
type Role struct {
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
	DurationSeconds        int    `json:"duration_seconds"`
	ConsoleDurationSeconds int    `json:"console_duration_seconds"`
	RequiresMFA            bool   `json:"requires_mfa"`
	Credentials            bool   `json:"credentials"`
	Link                   string `json:"link"`
}

// AccountName is the alias, or the account id when there is none.
func (r Role) AccountName() string {
	if r.AccountAlias != "" {
		return r.AccountAlias
	}
	return r.Account
}

// RoleRef names a role: an account id or alias and a role name (or a
// path/name), or a role ARN alone; Via picks saml or web-identity.
type RoleRef struct {
	Account, Role, Via string
}

// ParseRoleRef reads ACCOUNT/ROLE (ROLE may be path/name) or a role ARN.
// Errors: EINVALID ReasonRoleInvalid.
func ParseRoleRef(s, via string) (RoleRef, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "arn:") {
		return RoleRef{Role: s, Via: via}, nil
	}
	acct, role, ok := strings.Cut(s, "/")
	if !ok || acct == "" || role == "" || strings.HasSuffix(role, "/") {
		return RoleRef{}, broker.Errorf(broker.EINVALID, ReasonRoleInvalid,
			"--role %q: name the role as ACCOUNT/ROLE (account id or alias, role name), e.g. sandbox/Developer; `broker roles` lists yours.", s)
	}
	return RoleRef{Account: acct, Role: role, Via: via}, nil
}

func (r RoleRef) String() string {
	if r.Account == "" {
		return r.Role
	}
	return r.Account + "/" + r.Role
}

// Matches: ref names role (by account id or alias, case-insensitively
// for the alias; role name, path/name or ARN; and via if given).
func (r RoleRef) Matches(role Role) bool {
	if r.Via != "" && r.Via != role.Via {
		return false
	}
	if r.Account == "" {
		return r.Role == role.RoleARN
	}
	if r.Account != role.Account && !strings.EqualFold(r.Account, role.AccountAlias) {
		return false
	}
	return r.Role == role.Role || strings.HasSuffix(role.RoleARN, ":role/"+r.Role) || strings.HasSuffix(role.RoleARN, "/"+r.Role)
}

// Roles returns the roles the rules give the person now. Errors:
// not signed in, sign-in ended, the server's (access_token_scope, …).
func (c *Client) Roles(ctx context.Context) ([]Role, error) {
	var out struct {
		Roles []Role `json:"roles"`
	}
	if err := c.call(ctx, http.MethodGet, RolesPath, nil, &out); err != nil {
		return nil, err
	}
	return out.Roles, nil
}

// Credentials are AWS credentials from the broker's credentials API.
type Credentials struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
	RoleARN         string    `json:"role_arn"`
	AccountID       string    `json:"account_id"`
	SessionName     string    `json:"session_name"`
	Notices         []string  `json:"notices,omitempty"`
}

// ProcessJSON is the AWS credential_process output for c (Version 1).
func (c *Credentials) ProcessJSON() []byte {
	b, _ := json.Marshal(struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}{1, c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expiration.UTC().Format(time.RFC3339)})
	return b
}

// fetchCredentials asks the broker for credentials (no cache).
func (c *Client) fetchCredentials(ctx context.Context, ref RoleRef, duration time.Duration) (*Credentials, error) {
	body := map[string]string{"account": ref.Account, "role": ref.Role, "via": ref.Via}
	if duration > 0 {
		body["duration"] = duration.String()
	}
	var out Credentials
	if err := c.call(ctx, http.MethodPost, CredentialsPath, body, &out); err != nil {
		return nil, err
	}
	if out.AccessKeyID == "" || out.SecretAccessKey == "" || out.Expiration.IsZero() {
		return nil, broker.Errorf(broker.EUPSTREAM, ReasonBadAnswer, "The broker at %s answered without credentials: tell its administrator.", c.url)
	}
	return &out, nil
}

// ConsoleRequest asks for a console sign-in link.
type ConsoleRequest struct {
	Role RoleRef
	// Destination is a console URL or a service short name ("s3").
	Destination string
	Region      string
	Duration    time.Duration
}

// ConsoleLink is a live AWS console sign-in link: whoever has the URL
// signs in as the role until Expires. Never log it.
type ConsoleLink struct {
	URL       string    `json:"url"`
	Expires   time.Time `json:"expires"`
	RoleARN   string    `json:"role_arn"`
	AccountID string    `json:"account_id"`
	Notices   []string  `json:"notices,omitempty"`
}

// Console asks the broker for a console sign-in link (POST /api/v1/console).
func (c *Client) Console(ctx context.Context, in ConsoleRequest) (*ConsoleLink, error) {
	body := map[string]string{"account": in.Role.Account, "role": in.Role.Role, "via": in.Role.Via,
		"destination": in.Destination, "region": in.Region}
	if in.Duration > 0 {
		body["duration"] = in.Duration.String()
	}
	var out ConsoleLink
	if err := c.call(ctx, http.MethodPost, ConsolePath, body, &out); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(out.URL, "https://") && !strings.HasPrefix(out.URL, "http://") {
		return nil, broker.Errorf(broker.EUPSTREAM, ReasonBadAnswer, "The broker at %s answered without a console link: tell its administrator.", c.url)
	}
	return &out, nil
}

// call sends a JSON request with the access token and decodes the answer
// (or the broker's error).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return err
		}
	}
	res, err := c.do(ctx, func() (*http.Request, error) {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequest(method, c.url+path, body)
		if err == nil && payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized {
		return errSignInEnded(c.url, apiError(res, c.url))
	}
	if res.StatusCode != http.StatusOK {
		return apiError(res, c.url)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(out); err != nil {
		return broker.Wrap(fmt.Errorf("cli: %s %s: %w", method, path, err), broker.EUPSTREAM, ReasonBadAnswer,
			"The broker at "+c.url+" answered something this command cannot read: is the URL right?")
	}
	return nil
}

// RegionOf is the region of the role ref names among the person's roles,
// "" when it has none or the roles cannot be read (the caller goes on
// without a region).
func (c *Client) RegionOf(ctx context.Context, ref RoleRef) string {
	roles, err := c.Roles(ctx)
	if err != nil {
		return ""
	}
	for _, r := range roles {
		if ref.Matches(r) {
			return r.Region
		}
	}
	return ""
}
