package config

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker/issuer"
)

// FuzzParse parses a fuzzed configuration file next to real key files.
// Invariants: no panic; no config comes without an error problem; every
// problem names the file and says something, and can be located; a
// problem about an inline key or client secret never echoes it.
//
// Secret references read files ("file:PATH"): inputs naming any file other
// than the three written here are skipped, so that fuzzing never reads
// /dev/zero, a FIFO or the machine's files.
func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	kp, err := issuer.GenerateKeyPair("test", time.Hour, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	for name, b := range map[string][]byte{"idp.key": kp.KeyPEM(), "idp.crt": kp.CertificatePEM(), "md.xml": []byte("<EntityDescriptor/>"), "adfs-metadata.xml": []byte("<x/>")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			f.Fatal(err)
		}
	}
	for _, env := range []string{"TEST_BROKER_SESSION_KEY", "TEST_BROKER_STORE_KEY", "BROKER_SESSION_KEY", "BROKER_STORE_KEY"} {
		f.Setenv(env, goodKey)
	}
	f.Setenv("TEST_OIDC_SECRET", "s3cret")
	f.Setenv("KEYCLOAK_CLIENT_SECRET", "s3cret")
	path := filepath.Join(dir, "broker.yaml")

	oidcProvider := "  - id: kc\n    type: oidc\n    issuer: https://keycloak.example.com/realms/corp\n    client_id: broker\n    client_secret: env:TEST_OIDC_SECRET\n    refresh_tokens: true\n    id_token_algorithms: [RS256]\naccounts:"
	for _, s := range []string{
		validYAML,
		strings.Replace(validYAML, "  dsn: broker.db", "  dsn: broker.db\n  dns: typo", 1),
		strings.Replace(validYAML, "https://aws.example.com/", "http://aws.example.com", 1),
		strings.Replace(validYAML, "accounts:", "  - id: okta\n    metadata_file: md.xml\naccounts:", 1),
		strings.Replace(validYAML, "    metadata_file: md.xml", "    metadata_file: md.xml\n    metadata_url: https://idp.example.com/md\n    clock_skew: 10m", 1),
		validYAML + "admin:\n  when:\n    any:\n      - {attribute: groups, glob: '[oops'}\n  providers: [entra]\n",
		strings.Replace(validYAML, "  dsn: broker.db", "  driver: postgres\n  dsn: env:TEST_DATABASE_URL", 1),
		strings.Replace(validYAML, `["env:TEST_BROKER_SESSION_KEY"]`, `["`+goodKey+`"]`, 1),
		strings.Replace(validYAML, "accounts:", oidcProvider, 1),
		exampleConfig(f),
		"", "server: [unclosed", "- 1\n- 2\n", "server:\n  max_body_bytes: lots\n",
		"a: &a [*a, *a]\nb: *a\n", "server: {external_url: !!binary aHR0cHM6Ly94}\n",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, data string) {
		if !onlyOwnFiles(data) {
			t.Skip("names a file outside the test's directory")
		}
		cfg, probs := Parse(path, []byte(data))
		if cfg == nil && len(probs.Errors()) == 0 {
			t.Fatalf("no config and no error: %v", probs)
		}
		for _, p := range probs {
			if p.File != path || strings.TrimSpace(p.Message) == "" || p.Pos.Line < 0 || p.Pos.Column < 0 {
				t.Fatalf("problem %+v", p)
			}
		}
		if cfg == nil {
			return
		}
		secrets := map[string]string{}
		inlineSecrets(reflect.ValueOf(cfg).Elem(), "", secrets)
		for _, p := range probs {
			_ = cfg.Locate(p.Path, p.Message)
			if s, ok := secrets[p.Path]; ok && len(s) >= 8 && strings.Contains(p.String(), s) {
				t.Fatalf("problem echoes the inline secret at %s: %s", p.Path, p)
			}
		}
	})
}

func exampleConfig(f *testing.F) string {
	f.Helper()
	b, err := os.ReadFile("../deploy/broker.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	return string(b)
}

// onlyOwnFiles reports whether every "file:" reference in the YAML (as the
// decoder will see the value: quoted, escaped or !!binary) names one of
// the files the fuzz target wrote.
func onlyOwnFiles(data string) bool {
	var root yaml.Node
	if yaml.Unmarshal([]byte(data), &root) != nil {
		return true // Parse refuses it before reading any file
	}
	ok := true
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || !ok {
			return
		}
		v := n.Value
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!binary" {
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
			if err != nil {
				ok = false
				return
			}
			v = string(b)
		}
		if strings.Contains(v, "file:") {
			switch strings.TrimSpace(v) {
			case "file:idp.key", "file:idp.crt", "file:md.xml":
			default:
				ok = false
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	return ok
}

// inlineSecrets collects the inline values of the secrets in v (keys and
// client secrets; certificates are public) by their path in the file,
// written as Problem.Path writes it.
func inlineSecrets(v reflect.Value, path string, out map[string]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			inlineSecrets(v.Elem(), path, out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fd := v.Type().Field(i)
			name, _, _ := strings.Cut(fd.Tag.Get("yaml"), ",")
			if !fd.IsExported() || name == "-" || strings.Contains(strings.ToLower(fd.Name), "certificate") {
				continue
			}
			if name == "" {
				name = strings.ToLower(fd.Name)
			}
			if path != "" {
				name = path + "." + name
			}
			inlineSecrets(v.Field(i), name, out)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			inlineSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.String:
		if s, ok := v.Interface().(Secret); ok && s.Kind() == "inline" && s != "" {
			out[path] = string(s)
		}
	}
}
