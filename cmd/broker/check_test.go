package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkYAML is config/config_test.go's validYAML: the rules' problems are
// located by loadChecked (ruleset.Check + config.Locate) since config
// holds plain values.
const checkYAML = `
server:
  external_url: https://aws.example.com/
  session_keys: ["env:TEST_BROKER_SESSION_KEY"]
store:
  dsn: broker.db
  encryption_keys: ["env:TEST_BROKER_STORE_KEY"]
issuer:
  saml:
    key: file:idp.key
    certificate: file:idp.crt
providers:
  - id: okta
    type: saml
    metadata_file: md.xml
accounts:
  - {id: "111122223333", alias: sandbox}
rules:
  - name: devs
    when:
      all:
        - {attribute: groups, equals: dev}
    grant:
      account: sandbox
      role: Developer
`

// Moved from config's TestLoadProblemsHaveLocations ("bad rule regex"),
// with the same assertions.
func TestLoadCheckedLocatesRuleProblems(t *testing.T) {
	t.Setenv("TEST_BROKER_SESSION_KEY", key32)
	t.Setenv("TEST_BROKER_STORE_KEY", storeKey32)
	good := writeConfig(t, checkYAML)
	if _, probs := loadChecked(good); len(probs) != 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	path := writeConfig(t, strings.Replace(checkYAML, "{attribute: groups, equals: dev}", "{attribute: groups, regex: '(unclosed'}", 1))
	_, probs := loadChecked(path)
	for _, p := range probs.Errors() {
		if p.Path == "rules[0].when.all[0].regex" && strings.Contains(p.Message, "devs") {
			if p.Pos.Line != 22 {
				t.Errorf("%s at line %d, want 22", p.Path, p.Pos.Line)
			}
			if !strings.HasPrefix(p.String(), path+":") {
				t.Errorf("problem does not start with the file: %s", p)
			}
			return
		}
	}
	t.Fatalf("no problem at rules[0].when.all[0].regex containing devs; got:\n%v", probs.Errors())
}

// Rule problems are merged with the file's other problems by line.
func TestLoadCheckedKeepsTheOrder(t *testing.T) {
	t.Setenv("TEST_BROKER_SESSION_KEY", key32)
	t.Setenv("TEST_BROKER_STORE_KEY", storeKey32)
	yml := strings.NewReplacer("{attribute: groups, equals: dev}", "{attribute: groups, regex: '('}",
		"https://aws.example.com/", "http://aws.example.com").Replace(checkYAML) +
		"admin:\n  when: {any: [{attribute: groups, equals: broker-admins}]}\n  providers: [entra]\n"
	_, probs := loadChecked(writeConfig(t, yml))
	var paths []string
	for _, p := range probs.Errors() {
		paths = append(paths, p.Path)
	}
	if len(paths) != 3 || paths[0] != "server.external_url" || paths[1] != "rules[0].when.all[0].regex" || paths[2] != "admin.providers[0]" {
		t.Fatalf("order %v", paths)
	}
}

// A rule whose condition did not decode is reported once: not again as a
// rule without conditions.
func TestLoadCheckedLeavesOutFollowOnRuleProblems(t *testing.T) {
	t.Setenv("TEST_BROKER_SESSION_KEY", key32)
	t.Setenv("TEST_BROKER_STORE_KEY", storeKey32)
	yml := strings.Replace(checkYAML, "    when:\n      all:\n        - {attribute: groups, equals: dev}\n", "    when: groups=dev\n", 1)
	path := writeConfig(t, yml)
	_, probs := loadChecked(path)
	want := path + `:20:11: error: rules[0].when: must be a mapping (key: value lines), got "groups=dev"`
	if len(probs) != 1 || probs[0].String() != want {
		t.Fatalf("got\n%v\nwant\n%s", probs, want)
	}
}

// The example config's rules are valid (config's TestExampleConfigIsValid
// checks the rest of the file).
func TestExampleConfigRulesAreValid(t *testing.T) {
	t.Setenv("BROKER_SESSION_KEY", key32)
	t.Setenv("BROKER_STORE_KEY", storeKey32)
	t.Setenv("KEYCLOAK_CLIENT_SECRET", "s3cret")
	b, err := os.ReadFile("../../deploy/broker.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, "")
	dir := filepath.Dir(path)
	yml := strings.NewReplacer("file:/etc/broker/idp.key", "file:"+filepath.Join(dir, "idp.key"),
		"file:/etc/broker/idp.crt", "file:"+filepath.Join(dir, "idp.crt")).Replace(string(b))
	if err := os.WriteFile(filepath.Join(dir, "adfs-metadata.xml"), []byte("<x/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, probs := loadChecked(path)
	if len(probs.Errors()) != 0 {
		t.Fatalf("deploy/broker.example.yaml has problems:\n%v", probs)
	}
	if len(cfg.Rules) == 0 {
		t.Fatal("the example has no rules to check")
	}
}

// `broker check` refuses keys that are not random or do two jobs, and
// warns about secret files others can read.
func TestCheckKeysAndFileModes(t *testing.T) {
	path := writeConfig(t, goodConfig)
	dir := filepath.Dir(path)
	check := func() (string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"check", "--config", path}, &out, &errb)
		return out.String(), err
	}
	if err := os.Chmod(filepath.Join(dir, "session.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := check()
	if err != nil || !strings.Contains(out, "warning: server.session_keys[0]: "+filepath.Join(dir, "session.key")+" is readable by its group and others") || !strings.Contains(out, "ok (") {
		t.Fatalf("readable key file: %v\n%s", err, out)
	}
	for _, tc := range []struct{ file, body, want string }{
		{"store.key", key32, "error: store.encryption_keys[0]: is the same key as server.session_keys[0]"},
		{"session.key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "error: server.session_keys[0]: the key is not random: every byte is 0x00"},
	} {
		if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := check()
		if err == nil || !strings.Contains(out, tc.want) {
			t.Fatalf("%s: %v\n%s", tc.file, err, out)
		}
	}
}
