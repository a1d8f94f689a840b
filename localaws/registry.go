package localaws

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/broker-dev/broker"
	"go.yaml.in/yaml/v3"
)

// maxRegistryBytes bounds the registry file LoadRegistry reads.
const maxRegistryBytes = 8 << 20

// Registry is an IAM-like registry: SAML providers, OIDC providers, roles.
type Registry struct {
	SAMLProviders []SAMLProvider `yaml:"saml_providers" json:"saml_providers"`
	OIDCProviders []OIDCProvider `yaml:"oidc_providers" json:"oidc_providers"`
	Roles         []Role         `yaml:"roles" json:"roles"`
}

// SAMLProvider is an IAM SAML identity provider: its ARN and the IdP's
// metadata document (its EntityDescriptor), inline or in a file. Exactly one
// of MetadataXML and MetadataFile is set.
type SAMLProvider struct {
	ARN          string `yaml:"arn" json:"arn"`                                         // arn:aws:iam::ACCOUNT:saml-provider/NAME
	MetadataXML  string `yaml:"metadata_xml,omitempty" json:"metadata_xml,omitempty"`   // IdP EntityDescriptor (inline)
	MetadataFile string `yaml:"metadata_file,omitempty" json:"metadata_file,omitempty"` // or a path (relative to the registry file)
}

// OIDCProvider is an IAM OIDC identity provider. It is parsed and validated
// now; AssumeRoleWithWebIdentity will use it.
type OIDCProvider struct {
	ARN         string   `yaml:"arn" json:"arn"` // arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH
	URL         string   `yaml:"url" json:"url"` // issuer URL
	ClientIDs   []string `yaml:"client_ids" json:"client_ids"`
	Thumbprints []string `yaml:"thumbprints,omitempty" json:"thumbprints,omitempty"`
}

// Role is an IAM role: its ARN, how long its sessions may last and the
// trust policy that says who may assume it.
type Role struct {
	ARN string `yaml:"arn" json:"arn"`
	// MaxSessionDuration is in seconds, 3600..43200; 0 means 3600.
	MaxSessionDuration int `yaml:"max_session_duration,omitempty" json:"max_session_duration,omitempty"`
	// TrustPolicy is the JSON policy document. In YAML it may be written as
	// a JSON string or as a mapping; in JSON as a string or an object.
	TrustPolicy string `yaml:"trust_policy" json:"trust_policy"`
}

// LoadRegistry reads a registry from a YAML or JSON file (JSON is read as
// YAML), resolves MetadataFile paths relative to the file's directory and
// validates everything as Validate does.
//
// Errors are *broker.Error with Code EINVALID: Reason "registry_unreadable"
// when the file cannot be read or decoded (the message carries the YAML
// line), "registry_invalid" when entries are wrong (the message names each
// entry, e.g. "roles[1] (arn:aws:iam::…:role/Admin): …", and its reason).
func LoadRegistry(path string) (*Registry, error) {
	data, err := readBounded(path, maxRegistryBytes)
	if err != nil {
		return nil, broker.Wrap(err, broker.EINVALID, "registry_unreadable",
			fmt.Sprintf("localaws: cannot read the registry file %s: %v", path, err))
	}
	r, err := decodeRegistry(data)
	if err != nil {
		return nil, broker.Wrap(err, broker.EINVALID, "registry_unreadable",
			fmt.Sprintf("localaws: registry file %s: %v", path, err))
	}
	dir := filepath.Dir(path)
	for i := range r.SAMLProviders {
		if f := r.SAMLProviders[i].MetadataFile; f != "" && !filepath.IsAbs(f) {
			r.SAMLProviders[i].MetadataFile = filepath.Join(dir, f)
		}
	}
	if _, probs := compileRegistry(r); len(probs) > 0 {
		return nil, registryError("localaws: registry file "+path, probs)
	}
	return r, nil
}

// decodeRegistry decodes one YAML (or JSON) document strictly: unknown keys
// are errors.
func decodeRegistry(data []byte) (*Registry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var r Registry
	if err := dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document")
	}
	return &r, nil
}

// Validate checks every entry as IAM would: ARNs, duplicate entries,
// metadata documents (parsed, with an entityID and signing certificates),
// OIDC provider URLs, client ids and thumbprints, MaxSessionDuration, and
// trust policies (parsed, principals referring to registered providers).
// It reads MetadataFile paths as given.
//
// The error is a *broker.Error with Code EINVALID and Reason
// "registry_invalid" whose Message lists every problem, each naming its
// entry and the reason.
func (r *Registry) Validate() error {
	if _, probs := compileRegistry(r); len(probs) > 0 {
		return registryError("localaws: registry", probs)
	}
	return nil
}

// readBounded reads a whole file, failing when it is larger than limit.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file is larger than %d bytes", limit)
	}
	return data, nil
}
