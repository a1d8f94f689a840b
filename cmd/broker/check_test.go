package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
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
	// writeConfig's directory holds idp.key and idp.crt, which the
	// example names next to itself.
	path := writeConfig(t, string(b))
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

// The README's production setup, step 1, run as written (openssl makes the
// keys) with /etc/broker and /var/lib/broker moved to a temporary
// directory: `broker check` then passes on the example config.
func TestReadmeSetupPassesCheck(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed: the README's commands use it")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, step, ok := strings.Cut(string(readme), "\n### 1. Run the broker\n")
	_, block, ok2 := strings.Cut(step, "```sh\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no sh block under \"### 1. Run the broker\"")
	}
	tmp := t.TempDir()
	etc, varlib := filepath.Join(tmp, "etc", "broker"), filepath.Join(tmp, "var", "lib", "broker")
	if err := os.MkdirAll(filepath.Dir(varlib), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(etc), 0o755); err != nil {
		t.Fatal(err)
	}
	block = strings.NewReplacer("/etc/broker", etc, "/var/lib/broker", varlib).Replace(block)
	// The shell runs the lines before the first broker command, then
	// prints what they exported; broker's own commands run in process.
	var setup, brokerLines []string
	for _, l := range strings.Split(strings.TrimSpace(block), "\n") {
		if strings.HasPrefix(l, "broker ") || len(brokerLines) > 0 {
			brokerLines = append(brokerLines, l)
			continue
		}
		setup = append(setup, l)
	}
	vars := []string{"BROKER_SESSION_KEY", "BROKER_STORE_KEY", "KEYCLOAK_CLIENT_SECRET"}
	script := "set -eu\n" + strings.Join(setup, "\n") + "\nprintf '%s\\n' \"$" + strings.Join(vars, "\" \"$") + "\"\n"
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "RANDFILE="+filepath.Join(tmp, ".rnd"))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("README setup: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	values := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(values) != len(vars) {
		t.Fatalf("README setup printed %q", out)
	}
	for i, v := range vars {
		t.Setenv(v, values[i])
	}
	if len(brokerLines) == 0 || !strings.HasPrefix(brokerLines[0], "broker check ") {
		t.Fatalf("the README's first broker command is not broker check: %q", brokerLines)
	}
	args := strings.Fields(strings.SplitN(brokerLines[0], "#", 2)[0])[1:]
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("broker %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "ok (3 provider(s), 4 rule(s)") {
		t.Fatalf("check output:\n%s", stdout.String())
	}
	if strings.Contains(stdout.String(), "warning:") {
		t.Errorf("the README's setup leaves warnings:\n%s", stdout.String())
	}
}
