package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// CacheMargin: cached credentials are used until this long before they
// expire, so a command never starts with credentials about to end.
const CacheMargin = 5 * time.Minute

// cacheEntry is cache/URLHASH/KEYHASH.json.
type cacheEntry struct {
	URL         string       `json:"url"`
	Subject     string       `json:"sub"`
	Role        string       `json:"role"`
	Duration    string       `json:"duration"`
	Credentials *Credentials `json:"credentials"`
}

// CredentialsRequest asks for credentials for one role.
type CredentialsRequest struct {
	Role RoleRef
	// Duration of the session; 0 is the role's own.
	Duration time.Duration
	// NoCache fetches new credentials (and caches them).
	NoCache bool
}

func (c *Client) cacheDir() string { return filepath.Join(c.dir, "cache", hashOf(c.url)) }

// Credentials returns credentials for the role from the cache when they
// live on past CacheMargin, else from the broker, once: callers in any
// number of processes take an exclusive flock on the entry's lock file
// and read the cache again under it, so only the first one fetches.
// Errors: not signed in, sign-in ended, the server's (role_not_granted,
// mfa_required, …), a cache that cannot be written.
func (c *Client) Credentials(ctx context.Context, in CredentialsRequest) (*Credentials, error) {
	t, err := c.person()
	if err != nil {
		return nil, err
	}
	key := cacheEntry{URL: c.url, Subject: t.Subject, Role: in.Role.String() + "|" + in.Role.Via, Duration: in.Duration.String()}
	path := filepath.Join(c.cacheDir(), hashOf(key.URL, key.Subject, key.Role, key.Duration))
	if !in.NoCache {
		if cr := c.readCache(path+".json", key); cr != nil {
			return cr, nil
		}
	}
	if err := privateDir(c.dir); err != nil {
		return nil, err
	}
	if err := privateDir(filepath.Join(c.dir, "cache")); err != nil {
		return nil, err
	}
	if err := privateDir(c.cacheDir()); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !in.NoCache {
		if cr := c.readCache(path+".json", key); cr != nil {
			return cr, nil
		}
	}
	cr, err := c.fetchCredentials(ctx, in.Role, in.Duration)
	if err != nil {
		return nil, err
	}
	key.Credentials = cr
	b, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path+".json", b, 0o600); err != nil {
		return nil, err
	}
	return cr, nil
}

// readCache returns the entry's credentials if they are for key and live
// on past the margin; nil otherwise.
func (c *Client) readCache(path string, key cacheEntry) *Credentials {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.Credentials == nil || e.URL != key.URL || e.Subject != key.Subject ||
		e.Role != key.Role || e.Duration != key.Duration {
		return nil
	}
	if !c.now().Add(CacheMargin).Before(e.Credentials.Expiration) {
		return nil
	}
	return e.Credentials
}

// dropCache deletes this broker's cached credentials.
func (c *Client) dropCache() error {
	err := os.RemoveAll(c.cacheDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cli: delete the credential cache: %w", err)
	}
	return nil
}
