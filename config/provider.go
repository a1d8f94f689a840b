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
	// ClockSkew is the tolerated clock difference with the IdP (default 90s
	// for SAML, 60s for OIDC; at most 180s).
	ClockSkew mapping.Duration `yaml:"clock_skew"`
	// MFAValues are the values that mean the person signed in with more
	// than a password: SAML AuthnContextClassRef values (or values of the
	// authnmethodsreferences attribute), OIDC acr or amr values (default
	// broker.DefaultSAMLMFAValues or broker.DefaultOIDCMFAValues).
	MFAValues []string `yaml:"mfa_values"`
	// MFARequest is what the broker asks for when a rule or the admin
	// condition needs MFA and the session has none: the SAML
	// RequestedAuthnContext class references, or the OIDC acr_values
	// (default none: a fresh sign-in is forced, ForceAuthn / prompt=login,
	// and the IdP's own policy decides).
	MFARequest []string `yaml:"mfa_request"`

	SAML SAMLProvider `yaml:",inline"`
	OIDC OIDCProvider `yaml:",inline"`
}

// OIDCProvider holds the settings of an OpenID Connect provider.
type OIDCProvider struct {
	// Issuer must equal the issuer in the OP's discovery document.
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	// ClientAuth: client_secret_basic (default with a secret),
	// client_secret_post, or none (public client, PKCE only).
	ClientAuth string   `yaml:"client_auth"`
	Scopes     []string `yaml:"scopes"`
	// RefreshTokens asks for offline_access and keeps the refresh token
	// server-side (encrypted) to renew the ID token for pass-through roles.
	RefreshTokens bool `yaml:"refresh_tokens"`
	// Userinfo merges the userinfo endpoint's claims.
	Userinfo bool `yaml:"userinfo"`
	// SessionNameClaims are tried in order for the RoleSessionName of
	// pass-through web identity (default email, preferred_username, sub).
	SessionNameClaims []string `yaml:"session_name_claims"`
	// IDTokenAlgorithms is the ID token signature allow-list.
	IDTokenAlgorithms []string `yaml:"id_token_algorithms"`
}

// SAMLProvider holds the settings of a SAML provider.
type SAMLProvider struct {
	// Exactly one of MetadataURL, MetadataFile, MetadataXML.
	MetadataURL     string           `yaml:"metadata_url"`
	MetadataFile    string           `yaml:"metadata_file"`
	MetadataXML     string           `yaml:"metadata_xml"`
	MetadataRefresh mapping.Duration `yaml:"metadata_refresh"`
	// MetadataSigningCertificate, when set, must have signed the IdP's
	// metadata (an enveloped XML signature over its root, SHA-256 and up):
	// a PEM certificate, file:PATH or env:NAME (e.g. a federation's
	// metadata signing certificate). Metadata it did not sign is refused
	// and the last good copy kept. Its key is trusted as configured; the
	// certificate's dates are not checked.
	MetadataSigningCertificate Secret `yaml:"metadata_signing_certificate"`
	// EntityID is the broker's SP entity ID for this IdP
	// (default EXTERNAL_URL/saml/ID/metadata).
	EntityID          string `yaml:"entity_id"`
	AllowIDPInitiated bool   `yaml:"allow_idp_initiated"`
	SignRequests      bool   `yaml:"sign_requests"`
	// SPKey and SPCertificate sign AuthnRequests and decrypt assertions;
	// the SP metadata offers SPCertificate to the IdP for encryption.
	SPKey         Secret `yaml:"sp_key"`
	SPCertificate Secret `yaml:"sp_certificate"`
	// PreviousSPKeys are retired sp_key/sp_certificate pairs that still
	// decrypt assertions, tried after sp_key, so that the SP key can be
	// rotated while the IdP still encrypts to the old certificate. They are
	// not in the SP metadata and never sign.
	PreviousSPKeys []SPKeyPair `yaml:"previous_sp_keys"`
	// EncryptionAlgorithms is the allow-list of XML Encryption algorithm
	// URIs for encrypted assertions, key transport and content encryption
	// alike (default: RSA-OAEP, xmlenc#rsa-oaep-mgf1p and xmlenc11#rsa-oaep,
	// with AES-128/192/256-GCM). AES-CBC (xmlenc#aes128-cbc, aes192-cbc,
	// aes256-cbc) may be added for IdPs without GCM: it is then accepted
	// only in a Response whose signature covers it. xmlenc#rsa-1_5 never.
	EncryptionAlgorithms []string `yaml:"encryption_algorithms"`
	// RequireEncryption refuses assertions that are not encrypted (needs
	// sp_key and sp_certificate).
	RequireEncryption bool `yaml:"require_encryption"`
	// Algorithm allow-lists (XML-DSig URIs); defaults: SHA-256 and up.
	SignatureAlgorithms []string `yaml:"signature_algorithms"`
	DigestAlgorithms    []string `yaml:"digest_algorithms"`
	// NameIDFormat is asked for and advertised in the SP metadata
	// (default urn:oasis:names:tc:SAML:2.0:nameid-format:persistent;
	// urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified lets the IdP
	// choose).
	NameIDFormat string `yaml:"name_id_format"`
	// AWSRecipients are the SubjectConfirmation Recipients accepted from a
	// pass-through IdP (default: AWS's SAML sign-in endpoints).
	AWSRecipients []string `yaml:"aws_recipients"`
}

// SPKeyPair is a service provider key and its certificate.
type SPKeyPair struct {
	Key         Secret `yaml:"key"`
	Certificate Secret `yaml:"certificate"`
}
