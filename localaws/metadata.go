package localaws

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/crewjam/saml"
)

// maxSigningCerts bounds the certificates one provider may carry.
const maxSigningCerts = 10

// parseIdPMetadata reads an IdP's EntityDescriptor: its entityID and the
// certificates of its signing keys (KeyDescriptor use="signing" or without
// use) in its IDPSSODescriptor(s). Certificate validity dates are checked
// at signature time, against the server's clock.
func parseIdPMetadata(doc []byte) (string, []*x509.Certificate, error) {
	if _, err := parseSafeXML(doc); err != nil {
		return "", nil, err
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(doc, &ed); err != nil {
		return "", nil, fmt.Errorf("not a SAML EntityDescriptor: %w", err)
	}
	if strings.TrimSpace(ed.EntityID) == "" {
		return "", nil, errors.New("EntityDescriptor has no entityID")
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return "", nil, errors.New("EntityDescriptor has no IDPSSODescriptor")
	}
	var certs []*x509.Certificate
	for _, idp := range ed.IDPSSODescriptors {
		for _, kd := range idp.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, xc := range kd.KeyInfo.X509Data.X509Certificates {
				c, err := parseBase64Cert(xc.Data)
				if err != nil {
					return "", nil, fmt.Errorf("signing certificate: %w", err)
				}
				certs = append(certs, c)
			}
		}
	}
	if len(certs) == 0 {
		return "", nil, errors.New("IDPSSODescriptor has no signing certificate (KeyDescriptor use=\"signing\" with an X509Certificate)")
	}
	if len(certs) > maxSigningCerts {
		return "", nil, fmt.Errorf("metadata has %d signing certificates; at most %d", len(certs), maxSigningCerts)
	}
	return strings.TrimSpace(ed.EntityID), certs, nil
}

func parseBase64Cert(s string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return c, nil
}
