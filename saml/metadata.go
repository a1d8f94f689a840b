package saml

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/crewjam/saml"
)

// maxMetadataBytes bounds an IdP metadata document.
const maxMetadataBytes = 4 << 20

// loadMetadata reads the IdP metadata from the configured source.
func (sp *ServiceProvider) loadMetadata(ctx context.Context) (*saml.EntityDescriptor, error) {
	c := &sp.cfg
	var data []byte
	switch {
	case len(c.IDPMetadataXML) > 0:
		data = c.IDPMetadataXML
	case c.IDPMetadataFile != "":
		f, err := os.Open(c.IDPMetadataFile)
		if err != nil {
			return nil, fmt.Errorf("saml: %s: read metadata: %w", c.ID, err)
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, maxMetadataBytes+1)); err != nil {
			return nil, fmt.Errorf("saml: %s: read metadata: %w", c.ID, err)
		}
	default:
		var err error
		if data, err = sp.fetchMetadata(ctx); err != nil {
			return nil, err
		}
	}
	if len(data) > maxMetadataBytes {
		return nil, fmt.Errorf("saml: %s: metadata is larger than %d bytes", c.ID, maxMetadataBytes)
	}
	if err := rejectDTD(data); err != nil {
		return nil, fmt.Errorf("saml: %s: metadata: %w", c.ID, err)
	}
	md, err := parseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("saml: %s: parse metadata: %w", c.ID, err)
	}
	if err := checkMetadata(md); err != nil {
		return nil, fmt.Errorf("saml: %s: metadata: %w", c.ID, err)
	}
	return md, nil
}

func (sp *ServiceProvider) fetchMetadata(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sp.cfg.IDPMetadataURL, nil)
	if err != nil {
		return nil, fmt.Errorf("saml: %s: metadata request: %w", sp.cfg.ID, err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := sp.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("saml: %s: fetch metadata: %w", sp.cfg.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("saml: %s: fetch metadata: HTTP %d", sp.cfg.ID, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
}

// checkMetadata requires an IdP role with a signing certificate and a
// single sign-on location.
func checkMetadata(md *saml.EntityDescriptor) error {
	if md.EntityID == "" {
		return errors.New("no entityID")
	}
	if len(md.IDPSSODescriptors) == 0 {
		return errors.New("no IDPSSODescriptor: this is not an identity provider's metadata")
	}
	certs, sso := 0, 0
	for _, d := range md.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use == "" || kd.Use == "signing" {
				certs += len(kd.KeyInfo.X509Data.X509Certificates)
			}
		}
		sso += len(d.SingleSignOnServices)
	}
	if certs == 0 {
		return errors.New("no signing certificate")
	}
	if sso == 0 {
		return errors.New("no SingleSignOnService")
	}
	return nil
}

// Run refreshes URL metadata until ctx ends: every MetadataRefresh once
// loaded, every 30 s (up to MetadataRefresh) while it has never loaded. A
// failed refresh keeps the last good copy.
func (sp *ServiceProvider) Run(ctx context.Context) {
	if sp.cfg.IDPMetadataURL == "" {
		return
	}
	for {
		wait := sp.cfg.MetadataRefresh
		if sp.state.Load() == nil && wait > 30*time.Second {
			wait = 30 * time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_ = sp.Refresh(ctx)
	}
}

// Refresh loads the metadata now. On failure the previous copy stays in use.
func (sp *ServiceProvider) Refresh(ctx context.Context) error {
	md, err := sp.loadMetadata(ctx)
	if err != nil {
		if sp.state.Load() != nil {
			sp.log.Warn("saml: metadata refresh failed, keeping the last good copy", "err", err)
		} else {
			sp.log.Error("saml: metadata unavailable", "err", err)
		}
		sp.lastErr.Store(&err)
		return err
	}
	sp.install(md)
	sp.lastErr.Store(nil)
	return nil
}

// parseMetadata reads an EntityDescriptor, or the first IdP entity of an
// EntitiesDescriptor (federation metadata such as InCommon's).
func parseMetadata(data []byte) (*saml.EntityDescriptor, error) {
	var probe struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &probe); err != nil {
		return nil, err
	}
	switch probe.XMLName.Local {
	case "EntityDescriptor":
		var ed saml.EntityDescriptor
		if err := xml.Unmarshal(data, &ed); err != nil {
			return nil, err
		}
		return &ed, nil
	case "EntitiesDescriptor":
		var eds saml.EntitiesDescriptor
		if err := xml.Unmarshal(data, &eds); err != nil {
			return nil, err
		}
		for i, e := range eds.EntityDescriptors {
			if len(e.IDPSSODescriptors) > 0 {
				return &eds.EntityDescriptors[i], nil
			}
		}
		return nil, errors.New("no entity with an IDPSSODescriptor")
	}
	return nil, fmt.Errorf("root element %q is not EntityDescriptor or EntitiesDescriptor", probe.XMLName.Local)
}
