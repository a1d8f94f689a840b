package cli

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/broker-dev/broker"
)

// ClientID is the broker's built-in public client for this command.
const ClientID = "broker-cli"

// Scopes the CLI asks for.
var Scopes = []string{"openid", "profile", "email", "groups", "offline_access", "aws:roles", "aws:credentials"}

// Config is what every command needs.
type Config struct {
	// URL is the broker's external URL (ResolveURL).
	URL string
	// Dir is the config directory; "" is DefaultDir().
	Dir string
	// HTTPClient for every call to the broker; nil is a client with a
	// 30-second timeout.
	HTTPClient *http.Client
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Stderr gets prompts and warnings; nil discards them.
	Stderr io.Writer
}

// Client is the broker CLI for one broker URL and config directory.
type Client struct {
	url    string
	dir    string
	http   *http.Client
	now    func() time.Time
	stderr io.Writer
}

// New checks cfg. Errors: EINVALID ReasonNoURL or ReasonURLInvalid; a
// config directory that cannot be found.
func New(cfg Config) (*Client, error) {
	u := normalizeURL(cfg.URL)
	if u == "" {
		return nil, broker.Errorf(broker.EINVALID, ReasonNoURL,
			"Which broker? Give --url https://broker.example.com (or set $%s); `broker login --url` remembers it.", URLEnv)
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil {
		return nil, broker.Errorf(broker.EINVALID, ReasonURLInvalid, "The broker URL %q is not an http(s) URL like https://broker.example.com.", cfg.URL)
	}
	c := &Client{url: u, dir: cfg.Dir, http: cfg.HTTPClient, now: cfg.Now, stderr: cfg.Stderr}
	if c.dir == "" {
		if c.dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.stderr == nil {
		c.stderr = io.Discard
	}
	return c, nil
}

// URL is the broker URL this client talks to.
func (c *Client) URL() string { return c.url }

// Dir is the config directory.
func (c *Client) Dir() string { return c.dir }

// do sends req with the access token; an answer 401 gets one forced
// refresh and one retry (the token may have been revoked or rotated).
func (c *Client) do(ctx context.Context, newReq func() (*http.Request, error)) (*http.Response, error) {
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		req, err := newReq()
		if err != nil {
			return nil, err
		}
		req = req.WithContext(ctx)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		res, err := c.http.Do(req)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			return nil, errUnreachable(c.url, err)
		}
		if res.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return res, nil
		}
		res.Body.Close()
		if tok, err = c.accessToken(ctx, tok); err != nil {
			return nil, err
		}
	}
}
