package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// Each decode problem is reported once, with its place, its key path and
// words a person can act on; the file's other problems come in the same
// pass, sorted by line.
func TestDecodeProblemsExactMessages(t *testing.T) {
	dir := writeIssuerKeys(t)
	tests := []struct {
		name string
		edit func(string) string
		want []string // every error, in order, after "FILE:"
	}{
		{"unknown key gets the closest known key",
			func(s string) string {
				return strings.Replace(s, "  session_keys:", "  session_lifetme: 8h\n  session_keys:", 1)
			},
			[]string{"4:3: error: server.session_lifetme: unknown key; did you mean session_lifetime?"}},
		{"unknown key far from any lists the keys",
			func(s string) string {
				return strings.Replace(s, "  dsn: broker.db", "  dsn: broker.db\n  color: blue", 1)
			},
			[]string{"7:3: error: store.color: unknown key; the keys here are driver, dsn, encryption_keys, retention"}},
		{"unknown section",
			func(s string) string { return s + "sever:\n  listen: :8080\n" },
			[]string{"26:1: error: sever: unknown key; did you mean server?"}},
		{"a misspelled section is not also a missing one",
			func(s string) string { return strings.Replace(s, "\nserver:", "\nsevrer:", 1) },
			[]string{"2:1: error: sevrer: unknown key; did you mean server?"}},
		{"bad duration",
			func(s string) string {
				return strings.Replace(s, "  session_keys:", "  session_lifetime: 8 hours\n  session_keys:", 1)
			},
			[]string{`4:21: error: server.session_lifetime: "8 hours" is not a duration (e.g. 90m, 12h or seconds)`}},
		{"not a number",
			func(s string) string {
				return strings.Replace(s, "  session_keys:", "  max_body_bytes: lots\n  session_keys:", 1)
			},
			[]string{`4:19: error: server.max_body_bytes: must be a whole number, got "lots"`}},
		{"not a boolean",
			func(s string) string { return s + "portal:\n  auto_select_single_role: sometimes\n" },
			[]string{`27:28: error: portal.auto_select_single_role: must be true or false, got "sometimes"`}},
		{"a list where one value goes is not also missing",
			func(s string) string {
				return strings.Replace(s, "external_url: https://aws.example.com/", "external_url: [https://aws.example.com/]", 1)
			},
			[]string{"3:17: error: server.external_url: must be a single value, got a list"}},
		{"a value where a list goes is not also missing",
			func(s string) string {
				return strings.Replace(s, `session_keys: ["env:TEST_BROKER_SESSION_KEY"]`, `session_keys: env:TEST_BROKER_SESSION_KEY`, 1)
			},
			[]string{`4:17: error: server.session_keys: must be a list (lines starting with "- ", or [a, b]), got "env:TEST_BROKER_SESSION_KEY"`}},
		{"a section that is not a mapping hides the section's own checks",
			func(s string) string {
				return strings.Replace(s, "store:\n  dsn: broker.db\n  encryption_keys: [\"env:TEST_BROKER_STORE_KEY\"]\n", "store: broker.db\n", 1)
			},
			[]string{`5:8: error: store: must be a mapping (key: value lines), got "broker.db"`}},
		{"a typo in a list entry is not also a missing metadata source",
			func(s string) string {
				return strings.Replace(s, "    metadata_file: md.xml", "    metadata_fil: md.xml", 1)
			},
			[]string{"15:5: error: providers[0].metadata_fil: unknown key; did you mean metadata_file?"}},
		{"duplicate key",
			func(s string) string {
				return strings.Replace(s, "  dsn: broker.db", "  dsn: broker.db\n  dsn: other.db", 1)
			},
			[]string{"7:3: error: store.dsn: duplicate key (first set at line 6)"}},
		{"every problem in one pass, sorted by line",
			func(s string) string {
				s = strings.Replace(s, "https://aws.example.com/", "http://aws.example.com", 1)
				s = strings.Replace(s, "  dsn: broker.db", "  dsn: broker.db\n  dns: typo", 1)
				s = strings.Replace(s, "    type: saml", "    type: saml\n    clock_skew: soon", 1)
				return s + "aws:\n  timeout: 10 s\n"
			},
			[]string{
				`3:3: error: server.external_url: "http://aws.example.com" must use https (plain http is allowed only on localhost)`,
				"7:3: error: store.dns: unknown key; did you mean dsn?",
				`16:17: error: providers[0].clock_skew: "soon" is not a duration (e.g. 90m, 12h or seconds)`,
				`29:12: error: aws.timeout: "10 s" is not a duration (e.g. 90m, 12h or seconds)`,
			}},
		{"syntax error points at the offending line",
			func(s string) string {
				return strings.Replace(s, "    metadata_file: md.xml", "   metadata_file: md.xml", 1)
			},
			[]string{"15:4: error: did not find expected '-' indicator"}},
		{"a tab in the indentation",
			func(s string) string { return strings.Replace(s, "  dsn: broker.db", "\tdsn: broker.db", 1) },
			[]string{"6:1: error: found character that cannot start any token (a tab: YAML indents with spaces only)"}},
		{"an unclosed list",
			func(s string) string {
				return strings.Replace(s, `session_keys: ["env:TEST_BROKER_SESSION_KEY"]`, `session_keys: ["env:TEST_BROKER_SESSION_KEY"`, 1)
			},
			[]string{"4:3: error: did not find expected ',' or ']'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := parse(t, dir, tt.edit(validYAML))
			var got []string
			for _, p := range probs.Errors() {
				got = append(got, strings.TrimPrefix(p.String(), filepath.Join(dir, "broker.yaml")+":"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"listen", "external_url", "session_lifetime", "session_idle", "reauth_after"}
	for key, want := range map[string]string{
		"session_lifetme":  "did you mean session_lifetime?",
		"Session_Lifetime": "did you mean session_lifetime?",
		"extenal_url":      "did you mean external_url?",
		"lisen":            "did you mean listen?",
		"colour":           "the keys here are listen, external_url, session_lifetime, session_idle, reauth_after",
	} {
		if got, _ := suggest(key, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
