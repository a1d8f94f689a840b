package apps

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/broker-dev/broker"
)

// clientCache keeps the compiled form of stored apps by id and version, so
// that a lookup costs one store read, not a condition compile.
type clientCache struct {
	mu sync.Mutex
	m  map[string]*Client
}

// client returns the app id: a configured (or built-in) one, else the
// store's current registration. Registrations are read on every lookup so
// that a change or removal by an admin on any instance takes effect at
// once; a store error is logged and the app treated as unknown (its
// requests fail, nothing is let through).
func (p *Provider) client(ctx context.Context, id string) (*Client, bool) {
	if c, ok := p.clients[id]; ok {
		return c, true
	}
	if id == "" {
		return nil, false
	}
	sc, err := p.cfg.Store.AppClient(ctx, id)
	if err != nil {
		if broker.ErrorCode(err) != broker.ENOTFOUND {
			p.log.ErrorContext(ctx, "read registered app", "client", id, "err", err)
		}
		return nil, false
	}
	p.cache.mu.Lock()
	defer p.cache.mu.Unlock()
	if c, ok := p.cache.m[id]; ok && c.Version == sc.Version {
		return c, true
	}
	c, err := decodeStoredClient(sc.Spec, sc.SecretHash)
	if err != nil {
		p.log.ErrorContext(ctx, "registered app unreadable", "client", id, "version", sc.Version, "err", err)
		return nil, false
	}
	c.Version = sc.Version
	if p.cache.m == nil {
		p.cache.m = map[string]*Client{}
	}
	p.cache.m[id] = c
	return c, true
}

// decodeStoredClient reads a stored registration.
func decodeStoredClient(spec []byte, secretHash string) (*Client, error) {
	var s ClientSpec
	if err := json.Unmarshal(spec, &s); err != nil {
		return nil, err
	}
	c, err := s.client(secretHash)
	if err != nil {
		return nil, err
	}
	c.Source = SourceAdmin
	return c, nil
}
