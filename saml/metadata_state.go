package saml

import (
	"fmt"
	"sync/atomic"
	"time"
)

// metadataState holds the installed IdP metadata and the crewjam SP built
// on it. Load returns it only before its validUntil, so an expired copy
// signs no one in (LoginRedirect, ParseResponse and Ready all go through
// Load); Installed returns it regardless, for refresh decisions.
type metadataState struct {
	p   atomic.Pointer[spState]
	now func() time.Time
}

// Load returns the installed state while it is valid, else nil.
func (s *metadataState) Load() *spState {
	st := s.p.Load()
	if st == nil {
		return nil
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	if metadataExpired(st.md, now()) {
		return nil
	}
	return st
}

// Store installs st.
func (s *metadataState) Store(st *spState) { s.p.Store(st) }

// Installed returns the installed state, expired or not (nil before any).
func (s *metadataState) Installed() *spState { return s.p.Load() }

// notReady says why no metadata is usable: the installed copy expired
// (and why no fresh one loaded), the last failure, or nothing loaded yet.
func (sp *ServiceProvider) notReady() error {
	var last error
	if e := sp.lastErr.Load(); e != nil {
		last = *e
	}
	if st := sp.state.Installed(); st != nil {
		vu := st.md.ValidUntil.UTC().Format(time.RFC3339)
		if last != nil {
			return fmt.Errorf("saml: %s: metadata valid until %s: %w; the last refresh failed: %w", sp.cfg.ID, vu, ErrMetadataExpired, last)
		}
		return fmt.Errorf("saml: %s: metadata valid until %s: %w; a fresh copy is being fetched", sp.cfg.ID, vu, ErrMetadataExpired)
	}
	if last != nil {
		return last
	}
	return fmt.Errorf("saml: %s: metadata not loaded yet", sp.cfg.ID)
}
