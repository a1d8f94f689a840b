package devstack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker/localaws"
)

// IAMExtraFile is the file in the data directory where an administrator
// adds their own IAM entries (SAML and OIDC providers, roles) to the local
// AWS of `broker dev`: JSON (or YAML) in the registry's format. The
// generated aws-registry.yaml is rewritten at each start; this file is
// never written, and its entries are merged into the registry, so a new
// user can try their own IdP without rebuilding. An entry with the ARN of
// a generated one is an error (the registry refuses duplicates).
const IAMExtraFile = "iam-extra.json"

// maxIAMExtraBytes bounds the extra file.
const maxIAMExtraBytes = 8 << 20

// withIAMExtra returns reg with the entries of dataDir's IAMExtraFile
// added, or reg itself when there is no such file.
func withIAMExtra(reg *localaws.Registry, dataDir string) (*localaws.Registry, error) {
	path := filepath.Join(dataDir, IAMExtraFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return reg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("devstack: %s: %w", IAMExtraFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIAMExtraBytes+1))
	if err != nil {
		return nil, fmt.Errorf("devstack: %s: %w", IAMExtraFile, err)
	}
	if len(data) > maxIAMExtraBytes {
		return nil, fmt.Errorf("devstack: %s is larger than %d bytes", path, maxIAMExtraBytes)
	}
	var extra localaws.Registry
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&extra); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("devstack: %s: %w", path, err)
	}
	out := *reg
	out.SAMLProviders = append(append([]localaws.SAMLProvider(nil), reg.SAMLProviders...), extra.SAMLProviders...)
	out.OIDCProviders = append(append([]localaws.OIDCProvider(nil), reg.OIDCProviders...), extra.OIDCProviders...)
	out.Roles = append(append([]localaws.Role(nil), reg.Roles...), extra.Roles...)
	return &out, nil
}
