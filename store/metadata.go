package store

import (
	"context"
	"time"
)

// MetadataStore keeps the last good copy of each upstream IdP's SAML
// metadata, so that a broker starting while an IdP's metadata URL is down
// still signs people in, and every instance sees what another fetched.
// The XML is public (IdP metadata); it is stored as fetched.
type MetadataStore interface {
	// SaveMetadata keeps xml, fetched from source (the metadata URL) at
	// fetched, as provider's copy. A copy fetched earlier than the stored
	// one is ignored, so instances racing on a refresh keep the newest.
	SaveMetadata(ctx context.Context, provider, source string, xml []byte, fetched time.Time) error
	// LoadMetadata returns provider's copy, where it came from and when it
	// was fetched; ENOTFOUND if there is none.
	LoadMetadata(ctx context.Context, provider string) (xml []byte, source string, fetched time.Time, err error)
}
