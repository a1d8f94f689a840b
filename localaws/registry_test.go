package localaws

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
)

func indent(s, pad string) string {
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestLoadRegistryYAML(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t, testEntityID, 0, time.Now())
	other := newTestIdP(t, otherEntityID, 1, time.Now())
	dir := t.TempDir()
	writeFile(t, dir, "idp-metadata.xml", idp.metadata())
	path := writeFile(t, dir, "registry.yaml", `
saml_providers:
  - arn: `+testProvider+`
    metadata_file: idp-metadata.xml
  - arn: `+otherProvider+`
    metadata_xml: |
`+indent(other.metadata(), "      ")+`
oidc_providers:
  - arn: arn:aws:iam::123456789012:oidc-provider/login.example.com/tenant
    url: https://login.example.com/tenant
    client_ids: [broker]
    thumbprints: [9e99a48a9960b14926bb7f3b02e22da2b0ab7280]
roles:
  - arn: `+roleAdmin+`
    max_session_duration: 7200
    trust_policy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Principal: {Federated: `+testProvider+`}
          Action: [sts:AssumeRoleWithSAML, sts:TagSession]
          Condition:
            StringEquals: {saml:aud: https://signin.aws.amazon.com/saml}
  - arn: `+roleOther+`
    trust_policy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"`+otherProvider+`"},"Action":"sts:AssumeRoleWithSAML"}}'
`)
	r, err := LoadRegistry(path)
	if err != nil {
		t.Fatalf("LoadRegistry: %v", err)
	}
	if len(r.SAMLProviders) != 2 || len(r.OIDCProviders) != 1 || len(r.Roles) != 2 {
		t.Fatalf("loaded %d SAML providers, %d OIDC providers, %d roles", len(r.SAMLProviders), len(r.OIDCProviders), len(r.Roles))
	}
	if want := filepath.Join(dir, "idp-metadata.xml"); r.SAMLProviders[0].MetadataFile != want {
		t.Errorf("metadata_file = %q, want %q (relative to the registry file)", r.SAMLProviders[0].MetadataFile, want)
	}
	var tp map[string]any
	if err := json.Unmarshal([]byte(r.Roles[0].TrustPolicy), &tp); err != nil || tp["Version"] != "2012-10-17" {
		t.Errorf("trust policy written as a mapping became %q (%v)", r.Roles[0].TrustPolicy, err)
	}
	m, probs := compileRegistry(r)
	if len(probs) > 0 {
		t.Fatalf("compile: %v", probs)
	}
	if got := m.samlProviders[testProvider].entityID; got != testEntityID {
		t.Errorf("entityID = %q", got)
	}
	if got := m.roles[roleAdmin].maxSession; got != 2*time.Hour {
		t.Errorf("maxSession = %s", got)
	}
	ctx := map[string][]string{"saml:aud": {"https://signin.aws.amazon.com/saml"}}
	if d := m.roles[roleAdmin].trust.evaluate(authzRequest{principalType: "federated", principal: testProvider, action: "sts:TagSession", context: ctx}); d != allowed {
		t.Errorf("the mapping trust policy does not allow sts:TagSession: %d", d)
	}
}

func TestLoadRegistryJSON(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t, testEntityID, 0, time.Now())
	doc, err := json.Marshal(map[string]any{
		"saml_providers": []map[string]string{{"arn": testProvider, "metadata_xml": idp.metadata()}},
		"roles": []map[string]any{{"arn": roleAdmin, "trust_policy": map[string]any{
			"Version":   "2012-10-17",
			"Statement": map[string]any{"Effect": "Allow", "Principal": map[string]string{"Federated": testProvider}, "Action": "sts:AssumeRoleWithSAML"},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := LoadRegistry(writeFile(t, t.TempDir(), "registry.json", string(doc)))
	if err != nil {
		t.Fatalf("LoadRegistry: %v", err)
	}
	if len(r.Roles) != 1 || !strings.Contains(r.Roles[0].TrustPolicy, `"Federated":"`+testProvider+`"`) {
		t.Errorf("roles = %+v", r.Roles)
	}
	// The same document through encoding/json (trust_policy as an object).
	var viaJSON Registry
	if err := json.Unmarshal(doc, &viaJSON); err != nil || viaJSON.Validate() != nil {
		t.Errorf("encoding/json: %v / %v", err, viaJSON.Validate())
	}
}

func TestLoadRegistryRejects(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t, testEntityID, 0, time.Now())
	md := indent(idp.metadata(), "      ")
	prov := "saml_providers:\n  - arn: " + testProvider + "\n    metadata_xml: |\n" + md + "\n"
	okTrust := `'{"Statement":{"Effect":"Allow","Principal":{"Federated":"` + testProvider + `"},"Action":"sts:AssumeRoleWithSAML"}}'`
	tests := []struct {
		name   string
		yaml   string
		reason string
		want   []string // fragments of the message: the entry and the reason
	}{
		{"bad role ARN", prov + "roles:\n  - arn: arn:aws:iam::123:role/X\n    trust_policy: " + okTrust,
			"registry_invalid", []string{"roles[0] (arn:aws:iam::123:role/X)", "12 digits"}},
		{"provider ARN where a role is expected", prov + "roles:\n  - arn: " + testProvider + "\n    trust_policy: " + okTrust,
			"registry_invalid", []string{"roles[0]", "is not a role ARN"}},
		{"max_session_duration too small", prov + "roles:\n  - arn: " + roleAdmin + "\n    max_session_duration: 100\n    trust_policy: " + okTrust,
			"registry_invalid", []string{"roles[0] (" + roleAdmin + ")", "max_session_duration 100 is outside 3600..43200"}},
		{"max_session_duration too large", prov + "roles:\n  - arn: " + roleAdmin + "\n    max_session_duration: 43201\n    trust_policy: " + okTrust,
			"registry_invalid", []string{"roles[0]", "outside 3600..43200"}},
		{"trust policy not JSON", prov + "roles:\n  - arn: " + roleAdmin + "\n    trust_policy: '{nope'",
			"registry_invalid", []string{"roles[0] (" + roleAdmin + ")", "trust_policy: the policy is not in the valid JSON format"}},
		{"trust policy missing", prov + "roles:\n  - arn: " + roleAdmin,
			"registry_invalid", []string{"roles[0]", "trust_policy is required"}},
		{"trust policy names an unregistered provider", prov + "roles:\n  - arn: " + roleAdmin + "\n    trust_policy: " + strings.ReplaceAll(okTrust, "TestIdP", "Ghost"),
			"registry_invalid", []string{"roles[0]", "Invalid principal in policy", "saml-provider/Ghost"}},
		{"duplicate role", prov + "roles:\n  - arn: " + roleAdmin + "\n    trust_policy: " + okTrust + "\n  - arn: " + roleAdmin + "\n    trust_policy: " + okTrust,
			"registry_invalid", []string{"roles[1] (" + roleAdmin + ")", "duplicate role ARN"}},
		{"metadata twice", "saml_providers:\n  - arn: " + testProvider + "\n    metadata_file: x.xml\n    metadata_xml: |\n" + md,
			"registry_invalid", []string{"saml_providers[0] (" + testProvider + ")", "not both"}},
		{"no metadata", "saml_providers:\n  - arn: " + testProvider,
			"registry_invalid", []string{"saml_providers[0]", "metadata_xml or metadata_file is required"}},
		{"metadata file missing", "saml_providers:\n  - arn: " + testProvider + "\n    metadata_file: missing.xml",
			"registry_invalid", []string{"saml_providers[0]", "metadata_file:", "missing.xml"}},
		{"metadata shorter than IAM's minimum", "saml_providers:\n  - arn: " + testProvider + "\n    metadata_xml: <x/>",
			"registry_invalid", []string{"saml_providers[0]", "IAM takes 1000"}},
		{"metadata not an EntityDescriptor", "saml_providers:\n  - arn: " + testProvider + "\n    metadata_xml: |\n      <x xmlns=\"urn:x\">" + strings.Repeat("y", 1000) + "</x>",
			"registry_invalid", []string{"saml_providers[0]", "could not parse metadata", "EntityDescriptor"}},
		{"metadata with a DTD", "saml_providers:\n  - arn: " + testProvider + "\n    metadata_xml: |\n      <!DOCTYPE x [<!ENTITY e \"e\">]>\n" + md,
			"registry_invalid", []string{"saml_providers[0]", "DTD"}},
		{"metadata without signing certificate", "saml_providers:\n  - arn: " + testProvider + "\n    metadata_xml: |\n" +
			indent(strings.Replace(idp.metadata(), `use="signing"`, `use="encryption"`, 1), "      "),
			"registry_invalid", []string{"saml_providers[0]", "no signing certificate"}},
		{"OIDC provider over http", "oidc_providers:\n  - arn: arn:aws:iam::123456789012:oidc-provider/login.example.com\n    url: http://login.example.com\n    client_ids: [x]",
			"registry_invalid", []string{"oidc_providers[0] (arn:aws:iam::123456789012:oidc-provider/login.example.com)", "must be an https URL"}},
		{"OIDC ARN not matching the URL", "oidc_providers:\n  - arn: arn:aws:iam::123456789012:oidc-provider/other.example.com\n    url: https://login.example.com\n    client_ids: [x]",
			"registry_invalid", []string{"oidc_providers[0]", "must end in oidc-provider/login.example.com"}},
		{"OIDC without client ids", "oidc_providers:\n  - arn: arn:aws:iam::123456789012:oidc-provider/login.example.com\n    url: https://login.example.com",
			"registry_invalid", []string{"oidc_providers[0]", "client_ids must hold 1..100"}},
		{"OIDC bad thumbprint", "oidc_providers:\n  - arn: arn:aws:iam::123456789012:oidc-provider/login.example.com\n    url: https://login.example.com\n    client_ids: [x]\n    thumbprints: [abc]",
			"registry_invalid", []string{"oidc_providers[0]", "40 hex characters"}},
		{"unknown top-level key", "rolez: []",
			"registry_unreadable", []string{"field rolez not found"}},
		{"unknown role key", prov + "roles:\n  - arn: " + roleAdmin + "\n    trust: x",
			"registry_unreadable", []string{"field trust not found"}},
		{"empty file", "", "registry_unreadable", []string{"the file is empty"}},
		{"every problem reported", prov + "roles:\n  - arn: bad\n    trust_policy: " + okTrust + "\n  - arn: " + roleAdmin + "\n    max_session_duration: 1\n    trust_policy: " + okTrust,
			"registry_invalid", []string{"roles[0] (bad)", "roles[1] (" + roleAdmin + ")"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), "registry.yaml", tt.yaml)
			_, err := LoadRegistry(path)
			if err == nil {
				t.Fatal("LoadRegistry accepted a broken registry")
			}
			if broker.ErrorCode(err) != broker.EINVALID || broker.ErrorReason(err) != tt.reason {
				t.Errorf("code/reason = %s/%s, want %s/%s", broker.ErrorCode(err), broker.ErrorReason(err), broker.EINVALID, tt.reason)
			}
			msg := broker.ErrorMessage(err)
			if !strings.Contains(msg, path) {
				t.Errorf("message %q does not name the file", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestYAMLAliasInTrustPolicyRejected(t *testing.T) {
	t.Parallel()
	_, err := decodeRegistry([]byte("roles:\n  - arn: " + roleAdmin + "\n    trust_policy: &a {Statement: x}\n  - arn: " + roleLong + "\n    trust_policy: *a"))
	if err == nil || !strings.Contains(err.Error(), "aliases are not allowed") {
		t.Fatalf("decode error = %v, want the alias refused", err)
	}
}

func TestLoadRegistryMissingFile(t *testing.T) {
	t.Parallel()
	_, err := LoadRegistry(filepath.Join(t.TempDir(), "nope.yaml"))
	if broker.ErrorReason(err) != "registry_unreadable" || !strings.Contains(broker.ErrorMessage(err), "nope.yaml") {
		t.Fatalf("error = %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); broker.ErrorReason(err) != "registry_invalid" || broker.ErrorMessage(err) != "localaws: registry: the registry is missing" {
		t.Errorf("nil registry: %v", err)
	}
	bad := &Registry{Roles: []Role{{ARN: roleAdmin}}}
	if err := bad.Validate(); broker.ErrorCode(err) != broker.EINVALID ||
		broker.ErrorMessage(err) != "localaws: registry: roles[0] ("+roleAdmin+"): trust_policy is required" {
		t.Errorf("Validate: %v", err)
	}
	if _, err := New(Config{Registry: &Registry{}, BaseURL: "ftp://x"}); broker.ErrorReason(err) != "config_invalid" {
		t.Errorf("bad BaseURL: %v", err)
	}
}
