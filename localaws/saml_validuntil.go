package localaws

import (
	"encoding/xml"
	"fmt"
	"time"
)

// metadataValidUntil reads the validUntil of the metadata's root
// EntityDescriptor (zero when it has none). IAM records it as the SAML
// provider's expiry (SAMLProviderListEntry.ValidUntil); whoever registers
// the metadata must upload a fresh copy before then.
func metadataValidUntil(doc []byte) (time.Time, error) {
	var root struct {
		ValidUntil string `xml:"validUntil,attr"`
	}
	if err := xml.Unmarshal(doc, &root); err != nil {
		return time.Time{}, err
	}
	if root.ValidUntil == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, root.ValidUntil)
	if err != nil {
		return time.Time{}, fmt.Errorf("validUntil %q is not an xs:dateTime with a time zone", clip(root.ValidUntil))
	}
	return t.UTC(), nil
}

// checkProviderExpiry refuses a provider whose metadata validUntil has
// passed: IAM keeps it as the provider's expiry and the provider no
// longer federates. AWS does not document the wording of this refusal.
func checkProviderExpiry(prov *samlProvider, now time.Time) *stsError {
	if prov.validUntil.IsZero() || now.Before(prov.validUntil) {
		return nil
	}
	return errInvalidToken("provider_expired", nil,
		"The SAML provider %s expired on %s (the validUntil of its metadata): upload fresh metadata from the identity provider with aws iam update-saml-provider.",
		prov.arn, prov.validUntil.Format(time.RFC3339))
}
