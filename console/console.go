package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/metrics"
)

// Config configures a Client.
type Config struct {
	// Issuer is the portal URL AWS sends people to when the console session
	// ends (absolute http(s)).
	Issuer string
	// FederationURL overrides the federation endpoint for every partition
	// (the local stand-in); "" = the partition's sign-in host.
	FederationURL string
	HTTPClient    *http.Client
	Timeout       time.Duration // default 10s
	// Metrics records each getSigninToken call's latency and failures
	// (nil: not recorded).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// Client builds console sign-in URLs.
type Client struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger
	now  func() time.Time
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("console: Issuer must be an absolute http(s) URL")
	}
	if cfg.FederationURL != "" {
		if u, err := url.Parse(cfg.FederationURL); err != nil || u.Host == "" {
			return nil, errors.New("console: FederationURL must be an absolute URL")
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	c := &Client{cfg: cfg, http: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Request asks for a console sign-in URL.
type Request struct {
	Credentials     broker.Credentials
	RoleARN         string        // the partition comes from here
	Region          string        // regional sign-in host and default destination
	Destination     string        // console URL; "" = the console home
	SessionDuration time.Duration // 0 = as long as the credentials; else 15m..12h
}

// Result is a console sign-in URL.
type Result struct {
	URL         string    // secret: a 302 Location only
	Expires     time.Time // when the console session ends
	Destination string
}

const maxTokenResponse = 64 << 10

// Reasons of the federation endpoint failing rather than refusing (code
// broker.EUNAVAILABLE; IsOutage).
const (
	// ReasonUnreachable: no answer (DNS, TCP, TLS, or none within
	// aws.timeout).
	ReasonUnreachable = "signin_unreachable"
	// ReasonUnavailable: the endpoint answered with a 5xx status.
	ReasonUnavailable = "signin_unavailable"
)

// IsOutage reports whether err says the federation endpoint could not be
// used right now (unreachable, too slow, failing), as opposed to refusing
// the request.
func IsOutage(err error) bool {
	r := broker.ErrorReason(err)
	return broker.ErrorCode(err) == broker.EUNAVAILABLE && (r == ReasonUnreachable || r == ReasonUnavailable)
}

// LoginURL gets a sign-in token for the credentials and builds the login
// URL. Errors are *broker.Error: EINVALID for a destination or duration
// the partition does not allow, EUPSTREAM when the federation endpoint
// refuses, EUNAVAILABLE (IsOutage) when it cannot be reached in
// aws.timeout or fails with a 5xx.
func (c *Client) LoginURL(ctx context.Context, req Request) (*Result, error) {
	arn, err := broker.ParseARN(req.RoleARN)
	if err != nil {
		return nil, broker.Errorf(broker.EINVALID, "role_arn_invalid", "The role %q is not a valid IAM role ARN.", req.RoleARN)
	}
	if d := req.SessionDuration; d != 0 && (d < 15*time.Minute || d > 12*time.Hour) {
		return nil, broker.Errorf(broker.EINVALID, "session_duration_invalid", "The console session length %s is outside 15 min..12 h. Contact your administrator.", d)
	}
	dest := req.Destination
	if dest == "" {
		dest = DefaultDestination(arn.Partition, req.Region)
	}
	if err := ValidateDestination(arn.Partition, dest); err != nil {
		return nil, err
	}
	endpoint := c.cfg.FederationURL
	if endpoint == "" {
		if endpoint, err = SigninEndpoint(arn.Partition, req.Region); err != nil {
			return nil, err
		}
	}
	start := c.now()
	token, code, err := c.signinToken(ctx, endpoint, req)
	c.cfg.Metrics.AWSCall(metrics.ServiceFederation, "getSigninToken", c.now().Sub(start), code)
	if err != nil {
		return nil, err
	}
	q := url.Values{"Action": {"login"}, "Issuer": {c.cfg.Issuer}, "Destination": {dest}, "SigninToken": {token}}
	expires := req.Credentials.Expiration
	if req.SessionDuration > 0 {
		expires = c.now().Add(req.SessionDuration)
	}
	return &Result{URL: endpoint + "?" + q.Encode(), Expires: expires, Destination: dest}, nil
}

// signinToken calls getSigninToken. code is "" on success, else what
// failed for the metrics: "timeout", "unreachable", "http_STATUS" or
// "bad_response".
func (c *Client) signinToken(ctx context.Context, endpoint string, req Request) (token, code string, err error) {
	session, _ := json.Marshal(map[string]string{
		"sessionId": req.Credentials.AccessKeyID, "sessionKey": req.Credentials.SecretAccessKey, "sessionToken": req.Credentials.SessionToken,
	})
	form := url.Values{"Action": {"getSigninToken"}, "Session": {string(session)}}
	if req.SessionDuration > 0 {
		form.Set("SessionDuration", strconv.Itoa(int(req.SessionDuration/time.Second)))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", "bad_request", broker.Wrap(err, broker.EINTERNAL, "signin_request", "")
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.Header.Set("Accept", "application/json")
	start := c.now()
	resp, err := c.http.Do(hr)
	if err != nil {
		c.log.WarnContext(ctx, "console: getSigninToken failed", "host", hostOf(endpoint), "err", redactURLError(err))
		code = "unreachable"
		if errors.Is(err, context.DeadlineExceeded) {
			code = "timeout"
		}
		return "", code, broker.Wrap(redactURLError(err), broker.EUNAVAILABLE, ReasonUnreachable, "The AWS sign-in service could not be reached or did not answer in time; try again in a minute.")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		return "", "unreachable", broker.Wrap(err, broker.EUPSTREAM, "signin_token_failed", "The AWS sign-in service did not answer properly; try again.")
	}
	if resp.StatusCode != http.StatusOK {
		c.log.WarnContext(ctx, "console: getSigninToken refused", "host", hostOf(endpoint), "status", resp.StatusCode, "role", req.RoleARN)
		msg := "AWS refused to create a console sign-in for these credentials; try again."
		if resp.StatusCode >= 500 {
			return "", metrics.HTTPStatusCode(resp.StatusCode), broker.Wrap(fmt.Errorf("console: getSigninToken: status %d", resp.StatusCode), broker.EUNAVAILABLE, ReasonUnavailable,
				"The AWS sign-in service is failing right now; try again in a minute.")
		}
		if resp.StatusCode == http.StatusBadRequest {
			msg = "AWS refused to create a console sign-in: the credentials may have expired or the console session length is not allowed for this role. Try again; if it keeps failing, contact your administrator."
		}
		return "", metrics.HTTPStatusCode(resp.StatusCode), broker.Wrap(fmt.Errorf("console: getSigninToken: status %d", resp.StatusCode), broker.EUPSTREAM, "signin_token_failed", msg)
	}
	if len(body) > maxTokenResponse {
		return "", "bad_response", broker.Wrap(errors.New("console: getSigninToken: response too large"), broker.EUPSTREAM, "signin_token_failed", "The AWS sign-in service answered with something unexpected; try again.")
	}
	var out struct {
		SigninToken string `json:"SigninToken"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.SigninToken == "" {
		return "", "bad_response", broker.Wrap(errors.New("console: getSigninToken: no SigninToken in the response"), broker.EUPSTREAM, "signin_token_failed", "The AWS sign-in service answered with something unexpected; try again.")
	}
	c.log.DebugContext(ctx, "console: got sign-in token", "role", req.RoleARN, "latency", c.now().Sub(start))
	return out.SigninToken, "", nil
}

// redactURLError drops the URL from a transport error (it is the endpoint,
// not a secret, but keep logs free of anything request-shaped).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Host
}
