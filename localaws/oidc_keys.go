package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	jwksTTL          = 5 * time.Minute
	maxDiscoverySize = 1 << 20
	fetchTimeout     = 5 * time.Second
)

// keyCache holds each issuer's JWKS, as STS does, for a few minutes.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]*keyEntry
}

type keyEntry struct {
	keys    jose.JSONWebKeySet
	fetched time.Time
}

// keys returns the issuer's JWKS, fetching it through discovery when it is
// not cached, older than the TTL, or refresh is set (an unknown kid: the
// issuer may have rotated its keys).
func (s *Server) keys(ctx context.Context, issuer string, refresh bool, now time.Time) (jose.JSONWebKeySet, error) {
	c := &s.oidcKeys
	c.mu.Lock()
	e := c.entries[issuer]
	c.mu.Unlock()
	if e != nil && !refresh && now.Sub(e.fetched) < jwksTTL {
		return e.keys, nil
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := s.getJSON(ctx, issuer+"/.well-known/openid-configuration", &disc); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("discovery: %w", err)
	}
	if disc.Issuer != issuer {
		return jose.JSONWebKeySet{}, fmt.Errorf("discovery document names issuer %q, not %q", disc.Issuer, issuer)
	}
	if disc.JWKSURI == "" {
		return jose.JSONWebKeySet{}, errors.New("discovery document has no jwks_uri")
	}
	var set jose.JSONWebKeySet
	if err := s.getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("jwks: %w", err)
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*keyEntry{}
	}
	c.entries[issuer] = &keyEntry{keys: set, fetched: now}
	c.mu.Unlock()
	return set, nil
}

func (s *Server) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoverySize+1))
	if err != nil {
		return err
	}
	if len(b) > maxDiscoverySize {
		return fmt.Errorf("GET %s: larger than %d bytes", u, maxDiscoverySize)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
