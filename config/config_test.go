package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/issuer"
)

// Two keys from `openssl rand -base64 32`: one for cookies, one for the store.
const (
	goodKey      = "74ZfCQCUuU92AOqaQCcRrfgvmsIJ4NupDVpU7E6jsFc="
	goodStoreKey = "4ZSLQtpY4p9gzvIJQpeznn96/+GQjF0jwUDHM4K1AGM="
)

// writeIssuerKeys writes a key pair next to the config and returns the dir.
func writeIssuerKeys(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	kp, err := issuer.GenerateKeyPair("test", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "idp.key"), kp.KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "idp.crt"), kp.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "md.xml"), []byte("<EntityDescriptor/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

const validYAML = `
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

func parse(t *testing.T, dir, yml string) (*Config, Problems) {
	t.Helper()
	t.Setenv("TEST_BROKER_SESSION_KEY", goodKey)
	t.Setenv("TEST_BROKER_STORE_KEY", goodStoreKey)
	path := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

func TestLoadValid(t *testing.T) {
	dir := writeIssuerKeys(t)
	cfg, probs := parse(t, dir, validYAML)
	if len(probs) != 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	if cfg.Server.ExternalURL != "https://aws.example.com" {
		t.Errorf("external_url not normalised: %q", cfg.Server.ExternalURL)
	}
	p := cfg.Providers[0]
	if p.Mode != "broker-issued" || p.SAML.EntityID != "https://aws.example.com/saml/okta/metadata" || p.Label != "okta" {
		t.Errorf("provider defaults: %+v", p)
	}
	if cfg.Issuer.SAML.EntityID != "https://aws.example.com/idp/saml/metadata" {
		t.Errorf("issuer entity id default: %q", cfg.Issuer.SAML.EntityID)
	}
	if !*cfg.Portal.AutoSelectSingleRole || time.Duration(cfg.Server.SessionLifetime) != 8*time.Hour {
		t.Errorf("defaults not applied")
	}
}

func TestLoadProblemsHaveLocations(t *testing.T) {
	dir := writeIssuerKeys(t)
	tests := []struct {
		name     string
		edit     func(string) string
		wantPath string
		wantLine int
		wantMsg  string
	}{
		{"unknown key", func(s string) string {
			return strings.Replace(s, "  dsn: broker.db", "  dsn: broker.db\n  dns: typo", 1)
		}, "store.dns", 7, "unknown key; did you mean dsn?"},
		{"http external url", func(s string) string {
			return strings.Replace(s, "https://aws.example.com/", "http://aws.example.com", 1)
		}, "server.external_url", 3, "must use https"},
		{"missing session key env", func(s string) string { return strings.Replace(s, "TEST_BROKER_SESSION_KEY", "NOPE_UNSET_VAR", 1) }, "server.session_keys[0]", 4, "NOPE_UNSET_VAR is not set"},
		{"duplicate provider", func(s string) string {
			return strings.Replace(s, "accounts:", "  - id: okta\n    metadata_file: md.xml\naccounts:", 1)
		}, "providers[1].id", 16, "duplicate provider id"},
		{"two metadata sources", func(s string) string {
			return strings.Replace(s, "    metadata_file: md.xml", "    metadata_file: md.xml\n    metadata_url: https://idp.example.com/md", 1)
		}, "providers[0]", 13, "exactly one of"},
		{"skew too large", func(s string) string {
			return strings.Replace(s, "    metadata_file: md.xml", "    metadata_file: md.xml\n    clock_skew: 10m", 1)
		}, "providers[0].clock_skew", 16, "between 0s and 180s"},
		{"bad admin condition", func(s string) string {
			return s + "admin:\n  when:\n    any:\n      - {attribute: groups, glob: '[oops'}\n"
		}, "admin.when.any[0].glob", 29, "glob"},
		{"admin provider unknown", func(s string) string {
			return s + "admin:\n  when: {any: [{attribute: groups, equals: broker-admins}]}\n  providers: [entra]\n"
		}, "admin.providers[0]", 28, "unknown provider"},
		{"postgres without dsn", func(s string) string {
			return strings.Replace(s, "  dsn: broker.db", "  driver: postgres", 1)
		}, "store.dsn", 5, "PostgreSQL connection string"},
		{"broker-issued without key", func(s string) string {
			return strings.Replace(strings.Replace(s, "    key: file:idp.key\n", "", 1), "    certificate: file:idp.crt\n", "", 1)
		}, "issuer.saml", 9, "signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := parse(t, dir, tt.edit(validYAML))
			errs := probs.Errors()
			if len(errs) == 0 {
				t.Fatal("no problem reported")
			}
			for _, p := range errs {
				if p.Path == tt.wantPath && strings.Contains(p.Message, tt.wantMsg) {
					if p.Pos.Line != tt.wantLine {
						t.Errorf("%s at line %d, want %d", p.Path, p.Pos.Line, tt.wantLine)
					}
					if !strings.HasPrefix(p.String(), filepath.Join(dir, "broker.yaml")+":") {
						t.Errorf("problem does not start with the file: %s", p)
					}
					return
				}
			}
			t.Fatalf("no problem at %q containing %q; got:\n%v", tt.wantPath, tt.wantMsg, errs)
		})
	}
}

func TestAdminAndPostgresConfig(t *testing.T) {
	dir := writeIssuerKeys(t)
	t.Setenv("TEST_DATABASE_URL", "postgres://broker@db.internal/broker")
	yml := strings.Replace(validYAML, "  dsn: broker.db", "  driver: postgres\n  dsn: env:TEST_DATABASE_URL", 1) +
		"admin:\n  when: {any: [{attribute: groups, equals: broker-admins}]}\n  providers: [okta]\n"
	c, probs := parse(t, dir, yml)
	if errs := probs.Errors(); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	m, err := c.AdminMatcher()
	if err != nil || m == nil {
		t.Fatalf("AdminMatcher: %v %v", m, err)
	}
	c2, _ := parse(t, dir, validYAML)
	if m, err := c2.AdminMatcher(); m != nil || err != nil {
		t.Fatal("no admin section must mean no admins")
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	dir := writeIssuerKeys(t)
	bad := strings.NewReplacer(
		"https://aws.example.com/", "ftp://x",
		"TEST_BROKER_STORE_KEY", "UNSET_STORE_KEY_VAR",
		"id: okta", "id: OKTA!",
	).Replace(validYAML)
	_, probs := parse(t, dir, bad)
	if n := len(probs.Errors()); n < 3 {
		t.Fatalf("want at least 3 problems, got %d:\n%v", n, probs)
	}
}

func TestInlineKeyWarnsAndNeverEchoesIt(t *testing.T) {
	dir := writeIssuerKeys(t)
	yml := strings.Replace(validYAML, `["env:TEST_BROKER_SESSION_KEY"]`, `["`+goodKey+`"]`, 1)
	_, probs := parse(t, dir, yml)
	if len(probs.Errors()) != 0 {
		t.Fatalf("inline key must be usable: %v", probs)
	}
	warned := false
	for _, p := range probs {
		if strings.Contains(p.String(), goodKey) {
			t.Fatalf("problem echoes the secret: %s", p)
		}
		if p.Warning && p.Path == "server.session_keys[0]" {
			warned = true
		}
	}
	if !warned {
		t.Error("no warning for an inline key")
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	t.Setenv("BROKER_SESSION_KEY", goodKey)
	t.Setenv("BROKER_STORE_KEY", goodStoreKey)
	t.Setenv("KEYCLOAK_CLIENT_SECRET", "s3cret")
	b, err := os.ReadFile("../deploy/broker.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The example names its key and certificate next to itself.
	dir := writeIssuerKeys(t)
	path := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, probs := Load(path); len(probs.Errors()) != 0 {
		t.Fatalf("deploy/broker.example.yaml has problems:\n%v", probs)
	}
}

func TestLoadGarbage(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":      "",
		"not yaml":   "server: [unclosed",
		"a list":     "- 1\n- 2\n",
		"wrong type": "server:\n  max_body_bytes: lots\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, probs := parse(t, dir, content)
			if len(probs.Errors()) == 0 {
				t.Fatal("no problem reported")
			}
		})
	}
}

func TestOIDCProviderValidation(t *testing.T) {
	dir := writeIssuerKeys(t)
	t.Setenv("TEST_OIDC_SECRET", "s3cret")
	base := strings.Replace(validYAML, "accounts:", `  - id: kc
    type: oidc
    issuer: https://keycloak.example.com/realms/corp
    client_id: broker
    client_secret: env:TEST_OIDC_SECRET
    refresh_tokens: true
accounts:`, 1)
	cfg, probs := parse(t, dir, base)
	if len(probs.Errors()) != 0 {
		t.Fatalf("valid OIDC provider refused:\n%v", probs)
	}
	if p := cfg.Providers[1]; p.Type != ProviderOIDC || time.Duration(p.ClockSkew) != time.Minute || cfg.Issuer.OIDC.Audience != "sts.amazonaws.com" {
		t.Errorf("OIDC defaults: %+v %+v", p, cfg.Issuer.OIDC)
	}
	for name, tc := range map[string]struct{ edit, path, msg string }{
		"http issuer":        {"issuer: http://keycloak.example.com", "providers[1].issuer", "https"},
		"no client id":       {"client_id: ''", "providers[1].client_id", "required"},
		"unset secret":       {"client_secret: env:NOPE_UNSET", "providers[1].client_secret", "NOPE_UNSET is not set"},
		"public with secret": {"client_auth: none\n    client_secret: env:TEST_OIDC_SECRET", "providers[1].client_secret", "public client"},
		"hmac algorithm":     {"id_token_algorithms: [HS256]", "providers[1].id_token_algorithms[0]", "not allowed"},
		"metadata on oidc":   {"metadata_url: https://x.example.com/md", "providers[1]", "SAML providers"},
	} {
		t.Run(name, func(t *testing.T) {
			var yml string
			switch {
			case strings.HasPrefix(tc.edit, "issuer:"):
				yml = strings.Replace(base, "issuer: https://keycloak.example.com/realms/corp", tc.edit, 1)
			case strings.HasPrefix(tc.edit, "client_id:"):
				yml = strings.Replace(base, "client_id: broker", tc.edit, 1)
			case strings.HasPrefix(tc.edit, "client_secret:"):
				yml = strings.Replace(base, "client_secret: env:TEST_OIDC_SECRET", tc.edit, 1)
			case strings.HasPrefix(tc.edit, "client_auth:"):
				yml = strings.Replace(base, "client_secret: env:TEST_OIDC_SECRET", tc.edit, 1)
			default:
				yml = strings.Replace(base, "refresh_tokens: true", "refresh_tokens: true\n    "+tc.edit, 1)
			}
			_, probs := parse(t, dir, yml)
			for _, p := range probs.Errors() {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					return
				}
			}
			t.Fatalf("no problem at %s containing %q:\n%v", tc.path, tc.msg, probs)
		})
	}
}

// Config holds plain values: the rules are checked by ruleset.Check, and
// Locate places its problems in the file.
func TestRulesAreLeftToTheCaller(t *testing.T) {
	dir := writeIssuerKeys(t)
	cfg, probs := parse(t, dir, strings.Replace(validYAML, "{attribute: groups, equals: dev}", "{attribute: groups, regex: '(unclosed'}", 1))
	if len(probs) != 0 {
		t.Fatalf("config judged the rules: %v", probs)
	}
	p := cfg.Locate("rules[0].when.all[0].regex", "rule devs: bad")
	if p.Pos.Line != 22 || p.Path != "rules[0].when.all[0].regex" || !strings.HasPrefix(p.String(), filepath.Join(dir, "broker.yaml")+":22:") {
		t.Fatalf("located %+v", p)
	}
}

// store.retention: defaults, days or durations, and bounds.
func TestRetention(t *testing.T) {
	dir := writeIssuerKeys(t)
	cfg, probs := parse(t, dir, validYAML)
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	if r := cfg.Store.Retention; time.Duration(r.Audit) != 400*24*time.Hour || time.Duration(r.SignIns) != 90*24*time.Hour {
		t.Fatalf("defaults %v %v", r.Audit, r.SignIns)
	}
	with := func(r string) string {
		return strings.Replace(validYAML, "  dsn: broker.db\n", "  dsn: broker.db\n  retention:\n"+r, 1)
	}
	cfg, probs = parse(t, dir, with("    audit: 2555d\n    sign_ins: 720h\n"))
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	if r := cfg.Store.Retention; r.Audit.String() != "2555d" || r.SignIns.String() != "30d" {
		t.Fatalf("parsed %v %v", r.Audit, r.SignIns)
	}
	for name, tc := range map[string]struct{ yml, path, msg string }{
		"zero audit":      {"    audit: 0d\n", "store.retention.audit", "between 1d and 36600d"},
		"an hour":         {"    sign_ins: 1h\n", "store.retention.sign_ins", "between 1d and 3660d"},
		"negative":        {"    audit: -24h\n", "store.retention.audit", "between"},
		"not a period":    {"    audit: forever\n", "store.retention.audit", `"forever" is not a period`},
		"bad days":        {"    audit: 1.5d\n", "store.retention.audit", `"1.5d" is not a number of days`},
		"unknown setting": {"    sessions: 1d\n", "store.retention.sessions", "unknown key; the keys here are audit, sign_ins"},
	} {
		t.Run(name, func(t *testing.T) {
			_, probs := parse(t, dir, with(tc.yml))
			for _, p := range probs.Errors() {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) && p.Pos.Line > 0 {
					return
				}
			}
			t.Fatalf("no problem at %q with %q (and a line):\n%v", tc.path, tc.msg, probs)
		})
	}
}

func TestWeakKey(t *testing.T) {
	random := []byte("\x8b\x1f\xe2\x09\x4c\xd7\x33\xa0\x5e\x91\x06\xbf\x72\xc8\x1d\x64\xf9\x2a\x87\x50\xe3\x0c\xb4\x6d\x98\x15\xca\x3f\x71\xae\x04\xdb")
	for name, tc := range map[string]struct {
		key  []byte
		want string
	}{
		"all zero":          {make([]byte, 32), "every byte is 0x00"},
		"one byte repeated": {[]byte(strings.Repeat("A", 32)), "every byte is 0x41"},
		"a pattern":         {[]byte(strings.Repeat("0123456789abcdef", 2)), "16-byte pattern repeated"},
		"two bytes":         {[]byte(strings.Repeat("ab", 16)), "2-byte pattern repeated"},
		"few distinct":      {[]byte("aaaaaaaabbbbbbbbccccccccdddddddX"), "only 5 different byte values in 32 bytes"},
		"random":            {random, ""},
		"random, longer":    {append(append([]byte{}, random...), random[:16]...), ""},
	} {
		t.Run(name, func(t *testing.T) {
			got := weakKey(tc.key)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("weakKey = %q, want %q", got, tc.want)
			}
		})
	}
}

// `broker check` refuses keys that are not random and a store key that is
// also a cookie key; the problems never show the key.
func TestKeysMustBeRandomAndDistinct(t *testing.T) {
	dir := writeIssuerKeys(t)
	zero := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // 32 zero bytes
	for name, tc := range map[string]struct {
		session, store string
		path, msg      string
	}{
		"zero session key":   {zero, goodStoreKey, "server.session_keys[0]", "every byte is 0x00"},
		"pattern store key":  {goodKey, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "store.encryption_keys[0]", "16-byte pattern repeated"},
		"one key, two jobs":  {goodKey, goodKey, "store.encryption_keys[0]", "same key as server.session_keys[0]"},
		"same key, url form": {goodStoreKey, strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(goodStoreKey), "store.encryption_keys[0]", "same key as server.session_keys[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "broker.yaml")
			if err := os.WriteFile(path, []byte(validYAML), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("TEST_BROKER_SESSION_KEY", tc.session)
			t.Setenv("TEST_BROKER_STORE_KEY", tc.store)
			_, probs := Load(path)
			found := false
			for _, p := range probs.Errors() {
				if strings.Contains(p.String(), tc.session) || strings.Contains(p.String(), tc.store) {
					t.Fatalf("a problem shows the key: %s", p)
				}
				found = found || (p.Path == tc.path && strings.Contains(p.Message, tc.msg))
			}
			if !found {
				t.Fatalf("no error at %s with %q:\n%v", tc.path, tc.msg, probs)
			}
		})
	}
	// A second session key (rotation) that is the store key is caught too.
	yml := strings.Replace(validYAML, `["env:TEST_BROKER_SESSION_KEY"]`, `["env:TEST_BROKER_SESSION_KEY", "env:TEST_BROKER_STORE_KEY"]`, 1)
	_, probs := parse(t, dir, yml)
	if errs := probs.Errors(); len(errs) != 1 || errs[0].Path != "store.encryption_keys[0]" || !strings.Contains(errs[0].Message, "server.session_keys[1]") {
		t.Fatalf("reused old session key: %v", probs)
	}
}

// Secret files and the config file readable by others are warned about;
// env: secrets and certificates are not files to warn about.
func TestWarnsOnReadableSecretFiles(t *testing.T) {
	dir := writeIssuerKeys(t)
	for name, body := range map[string]string{"session.key": goodKey, "store.key": goodStoreKey} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	yml := strings.NewReplacer(`"env:TEST_BROKER_SESSION_KEY"`, `"file:session.key"`, `"env:TEST_BROKER_STORE_KEY"`, `"file:store.key"`).Replace(validYAML)
	if _, probs := parse(t, dir, yml); len(probs) != 0 {
		t.Fatalf("files of mode 0600: %v", probs)
	}
	for file, mode := range map[string]os.FileMode{"session.key": 0o640, "idp.key": 0o604, "idp.crt": 0o644, "broker.yaml": 0o644} {
		if err := os.Chmod(filepath.Join(dir, file), mode); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "broker.yaml")
	_, probs := Load(path)
	if len(probs.Errors()) != 0 {
		t.Fatalf("readable files are warnings, not errors: %v", probs)
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.Path+": "+p.Message)
	}
	want := []string{
		": the config file is readable by its group and others; make it readable by the broker's user only (chmod 600 " + path + ")",
		"server.session_keys[0]: " + filepath.Join(dir, "session.key") + " is readable by its group; make it readable by the broker's user only (chmod 600 " + filepath.Join(dir, "session.key") + ")",
		"issuer.saml.key: " + filepath.Join(dir, "idp.key") + " is readable by others; make it readable by the broker's user only (chmod 600 " + filepath.Join(dir, "idp.key") + ")",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAWSRecipientsNamingTheBroker: a pass-through provider's Recipients
// must be AWS sign-in endpoints; the broker's own URL (or any other) is
// warned about, since AWS refuses such assertions, and garbage refused.
func TestAWSRecipientsNamingTheBroker(t *testing.T) {
	dir := writeIssuerKeys(t)
	for _, tc := range []struct {
		recipient, want string
		warning         bool
	}{
		{"https://signin.aws.amazon.com/saml", "", false},
		{"https://eu-west-1.signin.aws.amazon.com/saml", "", false},
		{"https://aws.example.com/saml/okta/acs", "is the broker itself", true},
		{"https://idp.example.com/saml", "not an AWS sign-in SAML endpoint", true},
		{"not a url", "must be an absolute URL", false},
	} {
		yml := strings.Replace(validYAML, "    metadata_file: md.xml\n", "    metadata_file: md.xml\n    mode: pass-through\n    aws_recipients: [\""+tc.recipient+"\"]\n", 1)
		_, probs := parse(t, dir, yml)
		var got *Problem
		for i := range probs {
			if strings.Contains(probs[i].Path, "aws_recipients") {
				got = &probs[i]
			}
		}
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: unexpected %v", tc.recipient, got)
		case tc.want != "" && (got == nil || !strings.Contains(got.Message, tc.want) || got.Warning != tc.warning):
			t.Errorf("%s: got %+v, want %q (warning %v)", tc.recipient, got, tc.want, tc.warning)
		}
	}
}

func TestMetadataSigningCertificate(t *testing.T) {
	dir := writeIssuerKeys(t)
	withCert := func(ref string) string {
		return strings.Replace(validYAML, "    metadata_file: md.xml\n", "    metadata_file: md.xml\n    metadata_signing_certificate: "+ref+"\n", 1)
	}
	cfg, probs := parse(t, dir, withCert("file:idp.crt"))
	if len(probs) != 0 {
		t.Fatalf("a PEM certificate refused:\n%v", probs)
	}
	cert, err := cfg.Certificate(cfg.Providers[0].SAML.MetadataSigningCertificate)
	if err != nil || cert.Subject.CommonName != "test" {
		t.Fatalf("Certificate: %v %v", cert, err)
	}
	for ref, want := range map[string]string{
		"file:missing.crt": "missing.crt",
		"file:idp.key":     "not a PEM certificate",
		"env:NOPE_UNSET":   "NOPE_UNSET is not set",
	} {
		_, probs := parse(t, dir, withCert(ref))
		errs := probs.Errors()
		if len(errs) != 1 || errs[0].Path != "providers[0].metadata_signing_certificate" || !strings.Contains(errs[0].Message, want) {
			t.Errorf("%s: got %v, want one problem containing %q", ref, errs, want)
		}
	}
	oidc := strings.Replace(validYAML, "accounts:", "  - {id: kc, type: oidc, issuer: \"https://kc.example.com\", client_id: b, metadata_signing_certificate: \"file:idp.crt\"}\naccounts:", 1)
	_, probs = parse(t, dir, oidc)
	if errs := probs.Errors(); len(errs) != 1 || errs[0].Path != "providers[1]" || !strings.Contains(errs[0].Message, "SAML providers") {
		t.Errorf("on an OIDC provider: %v", errs)
	}
}

// The settings of encrypted assertions: what needs the SP key, previous
// key pairs, the algorithm list's shape, the NameID format.
func TestSAMLEncryptionSettings(t *testing.T) {
	dir := writeIssuerKeys(t)
	for _, name := range []string{"sp", "old", "other"} {
		kp, err := issuer.GenerateKeyPair(name, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".key"), kp.KeyPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".crt"), kp.CertificatePEM(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const spKey = "    sp_key: file:sp.key\n    sp_certificate: file:sp.crt\n"
	provider := func(settings string) string {
		return strings.Replace(validYAML, "    metadata_file: md.xml\n", "    metadata_file: md.xml\n"+settings, 1)
	}
	cfg, probs := parse(t, dir, provider(spKey+`    require_encryption: true
    previous_sp_keys:
      - {key: file:old.key, certificate: file:old.crt}
    encryption_algorithms:
      - http://www.w3.org/2009/xmlenc11#rsa-oaep
      - http://www.w3.org/2009/xmlenc11#aes256-gcm
      - http://www.w3.org/2001/04/xmlenc#aes256-cbc
    name_id_format: urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified
`))
	if len(probs) != 0 {
		t.Fatalf("valid settings refused:\n%v", probs)
	}
	s := cfg.Providers[0].SAML
	if !s.RequireEncryption || len(s.PreviousSPKeys) != 1 || s.PreviousSPKeys[0].Certificate != "file:old.crt" || len(s.EncryptionAlgorithms) != 3 {
		t.Errorf("settings not read: %+v", s)
	}
	for _, tc := range []struct {
		name, settings, path, msg string
		warning                   bool
	}{
		{"require encryption without an SP key", "    require_encryption: true\n", "providers[0].require_encryption", "needs sp_key", false},
		{"previous keys without an SP key", "    previous_sp_keys: [{key: file:old.key, certificate: file:old.crt}]\n", "providers[0].previous_sp_keys", "current sp_key", false},
		{"a previous key without its certificate", spKey + "    previous_sp_keys: [{key: file:old.key}]\n", "providers[0].previous_sp_keys[0]", "key and certificate", false},
		{"a previous key with another's certificate", spKey + "    previous_sp_keys: [{key: file:old.key, certificate: file:other.crt}]\n", "providers[0].previous_sp_keys[0].key", "does not match", false},
		{"the current key as a previous one", spKey + "    previous_sp_keys: [{key: file:sp.key, certificate: file:sp.crt}]\n", "providers[0].previous_sp_keys[0].key", "current sp_key", false},
		{"RSA-1.5", spKey + "    encryption_algorithms: [\"http://www.w3.org/2001/04/xmlenc#rsa-1_5\"]\n", "providers[0].encryption_algorithms[0]", "never accepted", false},
		{"a short name", spKey + "    encryption_algorithms: [aes256-gcm]\n", "providers[0].encryption_algorithms[0]", "algorithm URI", false},
		{"a NameID format that is not a URI", "    name_id_format: persistent\n", "providers[0].name_id_format", "format URI", false},
		{"a transient NameID", "    name_id_format: urn:oasis:names:tc:SAML:2.0:nameid-format:transient\n", "providers[0].name_id_format", "changes at every sign-in", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := parse(t, dir, provider(tc.settings))
			for _, p := range probs {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) && p.Warning == tc.warning {
					return
				}
			}
			t.Fatalf("no problem at %s containing %q (warning %t):\n%v", tc.path, tc.msg, tc.warning, probs)
		})
	}
}
