package webtest

import (
	"context"
	"maps"
	"sort"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// The rest of access.SessionStore for MemSessions: last use, and listing
// and ending sessions by filter (like the rest of MemSessions, without
// expiry; a list or delete never returns Data).

func (m *MemSessions) TouchSession(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.M[id]
	if !ok {
		return broker.Errorf(broker.ENOTFOUND, "session_not_found", "no session")
	}
	s.LastSeenAt = at
	m.M[id] = s
	return nil
}

func (m *MemSessions) ListSessions(_ context.Context, f store.SessionFilter) ([]store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.match(f, false)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return out[:min(len(out), limit, 1000)], nil
}

func (m *MemSessions) DeleteSessions(_ context.Context, f store.SessionFilter) ([]store.Session, error) {
	if f.Provider == "" && f.Subject == "" {
		return nil, broker.Errorf(broker.EINVALID, "session_filter_too_broad", "")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.match(f, true), nil
}

// match returns the sessions matching f newest first, without Data,
// deleting them when del is set.
func (m *MemSessions) match(f store.SessionFilter, del bool) []store.Session {
	var out []store.Session
	for id, s := range m.M {
		if (f.Provider != "" && s.Provider != f.Provider) || (f.Subject != "" && s.Subject != f.Subject) ||
			(f.UpstreamSession != "" && s.UpstreamSession != f.UpstreamSession) || (f.ID != "" && id != f.ID) || (f.Except != "" && id == f.Except) {
			continue
		}
		s.Data = nil
		out = append(out, s)
		if del {
			delete(m.M, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// Snapshot is a copy of the sessions by id.
func (m *MemSessions) Snapshot() map[string]store.Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.M)
}
