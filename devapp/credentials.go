package devapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/oauth2"
)

// credentialsPath is the broker's credentials API for apps.
const credentialsPath = "/api/v1/credentials"

// awsCredentials is the broker's answer (the secret and token are used for
// the STS call and dropped).
type awsCredentials struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
	RoleARN         string    `json:"role_arn"`
	AccountID       string    `json:"account_id"`
	SessionName     string    `json:"session_name"`
}

// brokerError is the broker's JSON error.
type brokerError struct {
	Status  int
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (e *brokerError) Error() string { return fmt.Sprintf("broker: %d %s", e.Status, e.Reason) }

// callerResult is what the page shows after "Get credentials".
type callerResult struct {
	Account, Role                      string
	Arn, UserID, CallerAccount         string
	AccessKeyID, SessionName, Expiry   string
	Refused, RefusedReason, RefusedErr string
}

// credentials is POST /credentials (CSRF): credentials from the broker for
// the role named in the form, then STS GetCallerIdentity with them.
func (a *App) credentials(w http.ResponseWriter, r *http.Request) {
	_, x := a.sessions.get(r)
	if x == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !x.validCSRF(r) {
		a.fail(w, r, http.StatusForbidden, "This request did not come from this app's page. Use its buttons.", "csrf_invalid", nil)
		return
	}
	res := callerResult{Account: bounded(r.PostFormValue("account"), 100), Role: bounded(r.PostFormValue("role"), 300)}
	status := http.StatusOK
	creds, err := a.fetchCredentials(r.Context(), x, res.Account, res.Role)
	var be *brokerError
	switch {
	case errors.As(err, &be):
		status, res.Refused, res.RefusedReason = be.Status, be.Message, be.Reason
		a.log.InfoContext(r.Context(), "devapp: credentials refused", "sub", x.claims.Sub, "status", be.Status, "reason", be.Reason)
	case err != nil:
		status, res.Refused, res.RefusedErr = http.StatusBadGateway, "The broker could not be asked for credentials. Sign in again, or try later.", "broker_unreachable"
		a.log.WarnContext(r.Context(), "devapp: credentials failed", "sub", x.claims.Sub, "err", err)
	default:
		res.AccessKeyID, res.SessionName, res.Expiry = creds.AccessKeyID, creds.SessionName, creds.Expiration.UTC().Format(time.RFC3339)
		if err := a.callerIdentity(r.Context(), creds, &res); err != nil {
			status, res.Refused, res.RefusedErr = http.StatusBadGateway, "AWS did not answer GetCallerIdentity with these credentials.", "sts_failed"
			a.log.WarnContext(r.Context(), "devapp: GetCallerIdentity failed", "sub", x.claims.Sub, "err", err)
		}
	}
	a.render(w, r, status, x, &res)
}

// fetchCredentials asks the broker, with the session's access token
// (refreshed first when it has expired; the new tokens are kept).
func (a *App) fetchCredentials(ctx context.Context, x *session, account, role string) (*awsCredentials, error) {
	p, err := a.provider(ctx)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	tok, err := a.oauth2Config(p).TokenSource(a.ctx(ctx), x.tok).Token()
	if err == nil {
		x.tok = tok
	}
	x.mu.Unlock()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, &brokerError{Status: http.StatusUnauthorized, Reason: "refresh_failed", Message: "Your sign-in at the broker has ended. Sign out and sign in again."}
		}
		return nil, err
	}
	body, _ := json.Marshal(map[string]string{"account": account, "role": role})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.cfg.BrokerURL, "/")+credentialsPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		be := &brokerError{Status: resp.StatusCode}
		if json.Unmarshal(raw, be) != nil || be.Message == "" {
			be.Message = "The broker refused the request (HTTP " + resp.Status + ")."
		}
		return nil, be
	}
	var c awsCredentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("devapp: credentials answer: %w", err)
	}
	return &c, nil
}

// callerIdentity asks STS who these credentials are.
func (a *App) callerIdentity(ctx context.Context, c *awsCredentials, res *callerResult) error {
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, CanExpire: true, Expires: c.Expiration}
	client := sts.NewFromConfig(aws.Config{
		Region:      a.cfg.AWSRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient:  a.cfg.HTTPClient,
	}, func(o *sts.Options) {
		if a.cfg.AWSEndpoint != "" {
			o.BaseEndpoint = aws.String(a.cfg.AWSEndpoint)
		}
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	res.Arn, res.UserID, res.CallerAccount = aws.ToString(out.Arn), aws.ToString(out.UserId), aws.ToString(out.Account)
	return nil
}

func bounded(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return ""
	}
	return s
}
