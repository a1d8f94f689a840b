package saml

import (
	"context"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// The last good copy of URL metadata lives in the MetadataCache (the
// store), so that a broker starting while the IdP's metadata URL is down
// still signs people in, and an instance that cannot reach the IdP uses
// what another instance fetched. A stored copy goes through the same
// checks as a fetched one (signature, validUntil) every time it is used,
// and only a copy fetched from the configured URL is used.

// saveCopy keeps data as the last good copy. A failure is logged: the
// copy in memory is in use either way.
func (sp *ServiceProvider) saveCopy(ctx context.Context, data []byte, fetched time.Time) {
	if sp.cfg.MetadataCache == nil {
		return
	}
	if err := sp.cfg.MetadataCache.SaveMetadata(ctx, sp.cfg.ID, sp.cfg.IDPMetadataURL, data, fetched); err != nil {
		sp.log.Warn("saml: could not store the metadata's last good copy", "err", err)
	}
}

// loadStored returns the stored copy fetched from the configured URL
// (nil when there is none, it came from elsewhere, or cannot be read).
func (sp *ServiceProvider) loadStored(ctx context.Context) ([]byte, time.Time) {
	if sp.cfg.MetadataCache == nil || sp.cfg.IDPMetadataURL == "" {
		return nil, time.Time{}
	}
	data, source, fetched, err := sp.cfg.MetadataCache.LoadMetadata(ctx, sp.cfg.ID)
	switch {
	case broker.ErrorCode(err) == broker.ENOTFOUND:
		return nil, time.Time{}
	case err != nil:
		sp.log.Warn("saml: could not read the metadata's stored copy", "err", err)
		return nil, time.Time{}
	case source != sp.cfg.IDPMetadataURL:
		sp.log.Warn("saml: the metadata's stored copy came from another URL; not using it", "stored_from", source)
		return nil, time.Time{}
	}
	return data, fetched
}

// storedInfo describes the stored copy (nil without one), the baseline the
// audit log's change events compare against, so that of several
// instances refreshing the same metadata, the first to store it reports
// the change.
func (sp *ServiceProvider) storedInfo(ctx context.Context) *copyInfo {
	data, _ := sp.loadStored(ctx)
	if data == nil {
		return nil
	}
	md, err := parseMetadata(data)
	if err != nil {
		return nil
	}
	info := describeMetadata(md)
	return &info
}

// useStoredCopy installs the stored copy when it is newer than the copy in
// use (or nothing is) and passes every check now; it returns what it
// installed (nil when it did not) and when that copy was fetched.
func (sp *ServiceProvider) useStoredCopy(ctx context.Context) (*saml.EntityDescriptor, time.Time) {
	data, fetched := sp.loadStored(ctx)
	if data == nil {
		return nil, time.Time{}
	}
	if sp.state.Installed() != nil && !fetched.After(sp.refresh.fetched) {
		return nil, time.Time{}
	}
	md, err := sp.acceptMetadata(data, sp.cfg.Now())
	if err != nil {
		sp.log.Warn("saml: the metadata's stored copy is not usable", "err", err, "fetched", fetched)
		return nil, time.Time{}
	}
	info := describeMetadata(md)
	sp.installCopy(ctx, md, sourceStore, fetched, &info)
	return md, fetched
}
