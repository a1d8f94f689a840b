package saml

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"slices"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker/metrics"
)

// EventMetadataChanged is the audit event of a MetadataChange.
const EventMetadataChanged = "idp_metadata_changed"

// MetadataChange is a change of an IdP's metadata, for the audit log. Keys
// are the SHA-256 fingerprints of the IdP's signing certificates
// ("sha256:" and 64 hex digits), sorted; never key material.
type MetadataChange struct {
	Provider   string
	EntityID   string
	Source     string // where the new copy came from: the metadata URL, or file, inline
	KeysBefore []string
	KeysAfter  []string
}

// KeysChanged reports whether the signing keys changed (and not only, say,
// an endpoint).
func (c MetadataChange) KeysChanged() bool { return !slices.Equal(c.KeysBefore, c.KeysAfter) }

// copyInfo is what a change is judged by: a digest of the entity's content
// (not its signature, ID, validUntil or cacheDuration, which change with
// every re-signing without meaning anything) and its signing keys.
type copyInfo struct {
	digest [32]byte
	keys   []string
}

func describeMetadata(md *saml.EntityDescriptor) copyInfo {
	c := *md
	c.Signature, c.ID, c.ValidUntil, c.CacheDuration = nil, "", time.Time{}, 0
	b, err := xml.Marshal(c)
	if err != nil { // cannot happen for a parsed document; still a distinct digest
		b = []byte("unmarshalable: " + err.Error())
	}
	return copyInfo{digest: sha256.Sum256(b), keys: signingKeys(md)}
}

// signingKeys returns the fingerprints of md's signing certificates.
func signingKeys(md *saml.EntityDescriptor) []string {
	var out []string
	for _, d := range md.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				out = append(out, fingerprint(c.Data))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func fingerprint(b64 string) string {
	s := strings.Join(strings.Fields(b64), "")
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		der = []byte(s) // not a certificate; still tell copies apart
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// installCopy puts md in use. It logs the first copy this process loads
// and every change (against the copy in use, else the stored one), and
// tells OnMetadataChange when md differs from the stored copy (else the
// copy in use): of several instances, the first to store a change reports
// it. Called with refresh.mu held.
func (sp *ServiceProvider) installCopy(ctx context.Context, md *saml.EntityDescriptor, source string, fetched time.Time, stored *copyInfo) {
	r := &sp.refresh
	after := describeMetadata(md)
	before := r.last
	sp.install(md)
	r.fetched, r.last = fetched, &after
	if sp.cfg.IDPMetadataURL != "" {
		// The age of the copy in use (fetched now, or the stored copy's
		// fetch time): what an alert on stale metadata watches.
		sp.cfg.Metrics.IdPRefreshed(metrics.KindSAML, sp.cfg.ID, fetched)
	}

	if before == nil {
		sp.log.Info("saml: metadata loaded", "source", source, "entity_id", md.EntityID, "keys", strings.Join(after.keys, ","),
			"fetched", fetched, "valid_until", validUntil(md))
	}
	if base := either(before, stored); base != nil && base.digest != after.digest {
		msg := "saml: IdP metadata changed; signing keys unchanged"
		if !slices.Equal(base.keys, after.keys) {
			msg = "saml: IdP signing keys changed"
		}
		sp.log.Info(msg, "source", source, "entity_id", md.EntityID,
			"keys_before", strings.Join(base.keys, ","), "keys_after", strings.Join(after.keys, ","))
	}
	if base := either(stored, before); base != nil && base.digest != after.digest && sp.cfg.OnMetadataChange != nil {
		src := source
		if source == sourceURL || source == sourceStore {
			src = sp.cfg.IDPMetadataURL
		}
		sp.cfg.OnMetadataChange(ctx, MetadataChange{Provider: sp.cfg.ID, EntityID: md.EntityID, Source: src,
			KeysBefore: base.keys, KeysAfter: after.keys})
	}
}

// either returns the first non-nil of a and b.
func either(a, b *copyInfo) *copyInfo {
	if a != nil {
		return a
	}
	return b
}
