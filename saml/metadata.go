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

// ErrMetadataExpired is a metadata copy past its validUntil: it signs no
// one in, and a fresh copy is fetched.
var ErrMetadataExpired = errors.New("the IdP metadata has expired (validUntil)")

// Where a copy of the metadata came from, for logs.
const (
	sourceURL    = "url"
	sourceFile   = "file"
	sourceInline = "inline"
	sourceStore  = "store"
)

// readMetadata reads the IdP metadata document from the configured source.
func (sp *ServiceProvider) readMetadata(ctx context.Context) ([]byte, string, error) {
	c := &sp.cfg
	switch {
	case len(c.IDPMetadataXML) > 0:
		return c.IDPMetadataXML, sourceInline, nil
	case c.IDPMetadataFile != "":
		f, err := os.Open(c.IDPMetadataFile)
		if err != nil {
			return nil, sourceFile, fmt.Errorf("saml: %s: read metadata: %w", c.ID, err)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxMetadataBytes+1))
		if err != nil {
			return nil, sourceFile, fmt.Errorf("saml: %s: read metadata: %w", c.ID, err)
		}
		return data, sourceFile, nil
	default:
		data, err := sp.fetchMetadata(ctx)
		return data, sourceURL, err
	}
}

// acceptMetadata checks a metadata document and parses it: size, no DTD,
// the signature when a signing certificate is configured (what is parsed
// is then the signed element only), an IdP role, and validUntil.
func (sp *ServiceProvider) acceptMetadata(data []byte, now time.Time) (*saml.EntityDescriptor, error) {
	c := &sp.cfg
	if len(data) > maxMetadataBytes {
		return nil, fmt.Errorf("saml: %s: metadata is larger than %d bytes", c.ID, maxMetadataBytes)
	}
	if err := rejectDTD(data); err != nil {
		return nil, fmt.Errorf("saml: %s: metadata: %w", c.ID, err)
	}
	if c.MetadataSigningCertificate != nil {
		signed, err := verifyMetadataSignature(data, c.MetadataSigningCertificate)
		if err != nil {
			return nil, fmt.Errorf("saml: %s: metadata signature: %w", c.ID, err)
		}
		data = signed
	}
	md, err := parseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("saml: %s: parse metadata: %w", c.ID, err)
	}
	if err := checkMetadata(md); err != nil {
		return nil, fmt.Errorf("saml: %s: metadata: %w", c.ID, err)
	}
	if metadataExpired(md, now) {
		return nil, fmt.Errorf("saml: %s: metadata valid until %s: %w", c.ID, md.ValidUntil.UTC().Format(time.RFC3339), ErrMetadataExpired)
	}
	return md, nil
}

// metadataExpired reports whether md is past its validUntil at now.
func metadataExpired(md *saml.EntityDescriptor, now time.Time) bool {
	return !md.ValidUntil.IsZero() && !now.Before(md.ValidUntil)
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
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("saml: %s: fetch metadata: %w", sp.cfg.ID, err)
	}
	return data, nil
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

// parseMetadata reads an EntityDescriptor, or the first IdP entity of an
// EntitiesDescriptor (federation metadata such as InCommon's). The
// entity's ValidUntil and CacheDuration are the tighter of its own and
// its EntitiesDescriptor's.
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
				ed := &eds.EntityDescriptors[i]
				if vu := eds.ValidUntil; vu != nil && !vu.IsZero() && (ed.ValidUntil.IsZero() || vu.Before(ed.ValidUntil)) {
					ed.ValidUntil = *vu
				}
				if cd := eds.CacheDuration; cd != nil && *cd > 0 && (ed.CacheDuration <= 0 || *cd < ed.CacheDuration) {
					ed.CacheDuration = *cd
				}
				return ed, nil
			}
		}
		return nil, errors.New("no entity with an IDPSSODescriptor")
	}
	return nil, fmt.Errorf("root element %q is not EntityDescriptor or EntitiesDescriptor", probe.XMLName.Local)
}
