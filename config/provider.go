package config

import "github.com/broker-dev/broker/mapping"

// Provider types.
const (
	ProviderSAML = "saml"
	ProviderOIDC = "oidc"
)

// Provider is one upstream identity provider.
type Provider struct {
	// ID names the provider in URLs (/saml/ID/acs): [a-z0-9-], 1..32.
	ID    string `yaml:"id"`
	Type  string `yaml:"type"`
	Label string `yaml:"label"`
	// Mode is the default downstream mode for this provider's grants:
	// "broker-issued" (default) or "pass-through".
	Mode string `yaml:"mode"`

	SAML SAMLProvider `yaml:",inline"`
}

// SAMLProvider holds the settings of a SAML provider.
type SAMLProvider struct {
	// Exactly one of MetadataURL, MetadataFile, MetadataXML.
	MetadataURL     string           `yaml:"metadata_url"`
	MetadataFile    string           `yaml:"metadata_file"`
	MetadataXML     string           `yaml:"metadata_xml"`
	MetadataRefresh mapping.Duration `yaml:"metadata_refresh"`
	// EntityID is the broker's SP entity ID for this IdP
	// (default EXTERNAL_URL/saml/ID/metadata).
	EntityID          string `yaml:"entity_id"`
	AllowIDPInitiated bool   `yaml:"allow_idp_initiated"`
	SignRequests      bool   `yaml:"sign_requests"`
	// SPKey and SPCertificate sign AuthnRequests and decrypt assertions.
	SPKey         Secret           `yaml:"sp_key"`
	SPCertificate Secret           `yaml:"sp_certificate"`
	ClockSkew     mapping.Duration `yaml:"clock_skew"`
	// Algorithm allow-lists (XML-DSig URIs); defaults: SHA-256 and up.
	SignatureAlgorithms []string `yaml:"signature_algorithms"`
	DigestAlgorithms    []string `yaml:"digest_algorithms"`
	NameIDFormat        string   `yaml:"name_id_format"`
	// AWSRecipients are the SubjectConfirmation Recipients accepted from a
	// pass-through IdP (default: AWS's SAML sign-in endpoints).
	AWSRecipients []string `yaml:"aws_recipients"`
}
