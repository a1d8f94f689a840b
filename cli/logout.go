package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// LogoutResult says what `broker logout` did.
type LogoutResult struct {
	// SignedIn: there were tokens for this broker.
	SignedIn bool
	// Revoked: the broker revoked the refresh token (RFC 7009).
	Revoked bool
	// RevokeError is why the revocation failed (the broker could not be
	// reached, or it has no revocation endpoint); the local sign-in is
	// gone all the same.
	RevokeError error
}

// Logout revokes the refresh token at the broker's revocation endpoint
// (RFC 7009), then deletes the token file and the credential cache. It
// succeeds locally even when the broker cannot be reached (RevokeError).
// Errors: only a file that cannot be deleted.
func (c *Client) Logout(ctx context.Context) (LogoutResult, error) {
	var res LogoutResult
	t, err := c.loadTokens()
	if err != nil {
		return res, err
	}
	if t != nil {
		res.SignedIn = true
		res.RevokeError = c.revoke(ctx, t)
		res.Revoked = res.RevokeError == nil
		if err := os.Remove(c.tokenPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("cli: delete the token file: %w", err)
		}
	}
	return res, c.dropCache()
}

// revoke asks the broker to revoke the refresh token (which ends its
// access tokens too), or the access token when there is no refresh token.
func (c *Client) revoke(ctx context.Context, t *tokenFile) error {
	if t.RevocationURL == "" {
		return errors.New("the broker has no revocation endpoint")
	}
	form := url.Values{"client_id": {ClientID}}
	if t.RefreshToken != "" {
		form.Set("token", t.RefreshToken)
		form.Set("token_type_hint", "refresh_token")
	} else {
		form.Set("token", t.AccessToken)
		form.Set("token_type_hint", "access_token")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.RevocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("the broker could not be reached: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the broker answered %s", res.Status)
	}
	return nil
}
