package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
)

// tokenFile is tokens/HASH.json: one broker's sign-in.
type tokenFile struct {
	URL           string    `json:"url"`
	Subject       string    `json:"sub"`
	Email         string    `json:"email,omitempty"`
	Name          string    `json:"name,omitempty"`
	TokenURL      string    `json:"token_endpoint"`
	RevocationURL string    `json:"revocation_endpoint,omitempty"`
	AccessToken   string    `json:"access_token"`
	RefreshToken  string    `json:"refresh_token,omitempty"`
	Expiry        time.Time `json:"expiry"`
}

// refreshMargin: an access token this close to its expiry is refreshed first.
const refreshMargin = time.Minute

func (c *Client) tokenPath() string {
	return filepath.Join(c.dir, "tokens", hashOf(c.url)+".json")
}

// loadTokens reads this broker's tokens; (nil, nil) when there are none.
func (c *Client) loadTokens() (*tokenFile, error) {
	b, err := os.ReadFile(c.tokenPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cli: read tokens: %w", err)
	}
	var t tokenFile
	if err := json.Unmarshal(b, &t); err != nil || t.URL != c.url {
		// A damaged file (or a hash collision) is no sign-in.
		return nil, nil
	}
	return &t, nil
}

// saveTokens writes the token file (0600, dir 0700) atomically.
func (c *Client) saveTokens(t *tokenFile) error {
	if err := privateDir(c.dir); err != nil {
		return err
	}
	if err := privateDir(filepath.Join(c.dir, "tokens")); err != nil {
		return err
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.tokenPath(), b, 0o600)
}

// person is who is signed in to this broker: errNotSignedIn if nobody.
func (c *Client) person() (*tokenFile, error) {
	t, err := c.loadTokens()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errNotSignedIn(c.url)
	}
	return t, nil
}

// accessToken returns a usable access token, refreshing it first when it
// is near expiry or when rejected is the token the broker just refused.
// Refreshes are serialized across processes by a flock on the token
// file's lock, and the file is read again under it, so a rotated refresh
// token is never used twice (which would end the sign-in). The new
// refresh token is saved before the access token is used.
func (c *Client) accessToken(ctx context.Context, rejected string) (string, error) {
	t, err := c.person()
	if err != nil {
		return "", err
	}
	if c.usable(t, rejected) {
		return t.AccessToken, nil
	}
	unlock, err := lockFile(ctx, c.tokenPath()+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if t, err = c.person(); err != nil {
		return "", err
	}
	if c.usable(t, rejected) {
		return t.AccessToken, nil
	}
	if t.RefreshToken == "" {
		return "", errSignInEnded(c.url, errors.New("cli: no refresh token"))
	}
	conf := oauth2.Config{ClientID: ClientID, Endpoint: oauth2.Endpoint{TokenURL: t.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	nt, err := conf.TokenSource(c.oauthContext(ctx), &oauth2.Token{RefreshToken: t.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_client") {
			return "", errSignInEnded(c.url, err)
		}
		if errors.As(err, &re) {
			return "", broker.Wrap(err, broker.EUPSTREAM, ReasonSignInEnded,
				"The broker at "+c.url+" refused to renew your sign-in ("+re.ErrorCode+"); run `broker login --url "+c.url+"`.")
		}
		return "", errUnreachable(c.url, err)
	}
	t.AccessToken, t.Expiry = nt.AccessToken, nt.Expiry
	if nt.RefreshToken != "" {
		t.RefreshToken = nt.RefreshToken
	}
	if err := c.saveTokens(t); err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// usable: t's access token is not the rejected one and lives on past the margin.
func (c *Client) usable(t *tokenFile, rejected string) bool {
	if t.AccessToken == "" || t.AccessToken == rejected {
		return false
	}
	return t.Expiry.IsZero() || c.now().Add(refreshMargin).Before(t.Expiry)
}

// oauthContext carries the client's HTTP client to x/oauth2 and go-oidc.
func (c *Client) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}
