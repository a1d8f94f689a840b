package mapping

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"go.yaml.in/yaml/v3"
)

const (
	sandbox = "111122223333"
	prod    = "444455556666"
)

var testOpts = Options{
	Accounts:               []Account{{ID: sandbox, Alias: "sandbox", Label: "Sandbox"}, {ID: prod, Alias: "prod"}},
	BrokerSAMLProviderName: "broker",
	ProviderMode: func(p string) broker.Mode {
		if p == "okta-aws" {
			return broker.ModePassThrough
		}
		return broker.ModeBrokerIssued
	},
	Defaults: GrantDefaults{CredentialDuration: time.Hour, ConsoleDuration: 8 * time.Hour, Region: "eu-west-1"},
}

func compileYAML(tb testing.TB, src string) *Engine {
	tb.Helper()
	var rules []Rule
	if err := yaml.Unmarshal([]byte(src), &rules); err != nil {
		tb.Fatalf("yaml: %v", err)
	}
	e, err := Compile(rules, testOpts)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return e
}

func ident(provider string, attrs map[string][]string, roles ...broker.RolePair) *broker.Identity {
	return &broker.Identity{Provider: provider, Subject: "alice", Attributes: attrs, Roles: roles}
}

func roleARNs(d Decision) []string {
	var out []string
	for _, g := range d.Grants {
		out = append(out, g.RoleARN)
	}
	return out
}

func role(acct, name string) string { return "arn:aws:iam::" + acct + ":role/" + name }

func TestOperators(t *testing.T) {
	attrs := map[string][]string{
		"groups":     {"Engineering", "aws-admins", "team/платформа"},
		"email":      {"alice@Example.com"},
		"department": {"sales"},
	}
	tests := []struct {
		cond  string
		match bool
	}{
		{`{attribute: groups, equals: aws-admins}`, true},
		{`{attribute: groups, equals: engineering}`, false},
		{`{attribute: groups, equals: engineering, ignore_case: true}`, true},
		{`{attribute: groups, not_equals: finance}`, true},
		{`{attribute: groups, not_equals: aws-admins}`, false},
		{`{attribute: missing, not_equals: x}`, true},
		{`{attribute: groups, glob: "aws-*"}`, true},
		{`{attribute: groups, glob: "team/*"}`, true},
		{`{attribute: groups, glob: "AWS-*"}`, false},
		{`{attribute: groups, glob: "AWS-*", ignore_case: true}`, true},
		{`{attribute: groups, glob: "aws-admin?"}`, true},
		{`{attribute: groups, glob: "[ae]ws-admins"}`, true},
		{`{attribute: groups, glob: "[!a]ws-admins"}`, false},
		{`{attribute: groups, regex: "^aws-(admins|ops)$"}`, true},
		{`{attribute: groups, regex: "^admins$"}`, false},
		{`{attribute: groups, regex: "admins"}`, true},
		{`{attribute: groups, prefix: team/}`, true},
		{`{attribute: groups, prefix: Team/, ignore_case: true}`, true},
		{`{attribute: email, suffix: "@example.com"}`, false},
		{`{attribute: email, suffix: "@example.com", ignore_case: true}`, true},
		{`{attribute: email, exists: true}`, true},
		{`{attribute: phone, exists: true}`, false},
		{`{attribute: phone, absent: true}`, true},
		{`{attribute: email, absent: true}`, false},
		{`{attribute: groups, glob: "team/плат*"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			e := compileYAML(t, `
- name: r
  when: {all: [`+tt.cond+`]}
  grant: {account: sandbox, role: Dev}`)
			d := e.Evaluate(ident("okta", attrs))
			if got := len(d.Grants) == 1; got != tt.match {
				t.Fatalf("matched=%v, want %v; trace %+v", got, tt.match, d.Trace())
			}
			if !tt.match && (d.Trace()[0].Outcome != NotMatched || !strings.Contains(d.Trace()[0].Reason, "when.all[0]")) {
				t.Errorf("trace %+v does not name the failing condition", d.Trace()[0])
			}
		})
	}
}

func TestGroupsScopeDisabledDeny(t *testing.T) {
	e := compileYAML(t, `
- name: nested
  when:
    all:
      - {attribute: groups, equals: eng}
      - any:
          - {attribute: dept, equals: sre}
          - all:
              - {attribute: dept, equals: dev}
              - {attribute: level, prefix: senior}
  grant: {account: sandbox, role: Admin}
- name: okta-only
  providers: [okta]
  when: {all: [{attribute: groups, equals: eng}]}
  grant: {account: sandbox, role: Dev}
- name: off
  disabled: true
  when: {all: [{attribute: groups, equals: eng}]}
  grant: {account: sandbox, role: Off}
- name: everyone
  always: true
  grant: {account: prod, role: ReadOnly}
- name: no-prod-for-contractors
  effect: deny
  when: {all: [{attribute: type, equals: contractor}]}
  grant: {account: prod}
`)
	tests := []struct {
		name     string
		provider string
		attrs    map[string][]string
		want     []string
		outcomes []Outcome
	}{
		{"sre", "okta", map[string][]string{"groups": {"eng"}, "dept": {"sre"}},
			[]string{role(sandbox, "Admin"), role(sandbox, "Dev"), role(prod, "ReadOnly")},
			[]Outcome{Matched, Matched, Skipped, Matched, NotMatched}},
		{"junior dev", "okta", map[string][]string{"groups": {"eng"}, "dept": {"dev"}, "level": {"junior"}},
			[]string{role(sandbox, "Dev"), role(prod, "ReadOnly")},
			[]Outcome{NotMatched, Matched, Skipped, Matched, NotMatched}},
		{"senior dev via other idp", "azure", map[string][]string{"groups": {"eng"}, "dept": {"dev"}, "level": {"senior-2"}},
			[]string{role(sandbox, "Admin"), role(prod, "ReadOnly")},
			[]Outcome{Matched, Skipped, Skipped, Matched, NotMatched}},
		{"contractor", "okta", map[string][]string{"groups": {"eng"}, "dept": {"sre"}, "type": {"contractor"}},
			[]string{role(sandbox, "Admin"), role(sandbox, "Dev")},
			[]Outcome{Matched, Matched, Skipped, Denied, Matched}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Evaluate(ident(tt.provider, tt.attrs))
			if got := roleARNs(d); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("grants %v, want %v", got, tt.want)
			}
			for i, o := range tt.outcomes {
				if d.Trace()[i].Outcome != o {
					t.Errorf("rule %s: outcome %s, want %s (%s)", d.Trace()[i].Rule, d.Trace()[i].Outcome, o, d.Trace()[i].Reason)
				}
			}
		})
	}
}

func TestTemplatesAndCaptures(t *testing.T) {
	e := compileYAML(t, `
- name: okta-style
  when:
    all:
      - attribute: groups
        regex: '^aws-(?P<account>\d{12})-(?P<role>[A-Za-z]+)$'
  grant:
    account: '${account}'
    role: '${role}'
    label: '${role} in ${account} for ${attr:https://example.com/claims/team} $$5'
    session_name: '${attr:displayName}'
    session_tags: {team: '${attr:https://example.com/claims/team}'}
    source_identity: '${attr:email}'
- name: numbered
  when: {all: [{attribute: dept, regex: '^(\w+)-(\w+)$'}]}
  grant: {account: sandbox, role: '${2}'}
`)
	id := ident("okta", map[string][]string{
		"groups": {"aws-" + sandbox + "-Admin", "unrelated", "aws-" + prod + "-ReadOnly", "aws-" + prod + "-ReadOnly"},
		"email":  {"alice@example.com"}, "displayName": {"Alice Smith"}, "https://example.com/claims/team": {"platform"},
		"dept": {"eng-Builders"},
	})
	d := e.Evaluate(id)
	want := []string{role(sandbox, "Admin"), role(prod, "ReadOnly"), role(sandbox, "Builders")}
	if got := roleARNs(d); !reflect.DeepEqual(got, want) {
		t.Fatalf("grants %v, want %v", got, want)
	}
	g := d.Grants[0]
	if g.Label != "Admin in "+sandbox+" for platform $5" || g.SessionName != "Alice-Smith" || g.SessionTags["team"] != "platform" {
		t.Errorf("grant %+v", g)
	}
	if g.ProviderARN != "arn:aws:iam::"+sandbox+":saml-provider/broker" || g.Mode != broker.ModeBrokerIssued || g.AccountLabel != "Sandbox" {
		t.Errorf("grant %+v", g)
	}
	if g.CredentialDuration != time.Hour || g.ConsoleDuration != 8*time.Hour || g.Region != "eu-west-1" {
		t.Errorf("defaults not applied: %+v", g)
	}
	if g.SourceIdentity != "alice@example.com" {
		t.Errorf("source identity %q", g.SourceIdentity)
	}
	// An expanded value AWS would refuse drops that grant, with a note.
	id.Attributes["email"] = []string{"alice smith@example.com"}
	d = e.Evaluate(id)
	if len(d.Grants) != 1 || !strings.Contains(strings.Join(d.Trace()[0].Notes, ";"), "source_identity") {
		t.Errorf("invalid source identity: grants %v trace %+v", roleARNs(d), d.Trace()[0])
	}
	id.Attributes["email"] = []string{"alice@example.com"}
	// A missing attribute skips the grant with a note, it does not fail.
	delete(id.Attributes, "https://example.com/claims/team")
	d = e.Evaluate(id)
	if len(d.Grants) != 1 || d.Trace()[0].Outcome != Matched || !strings.Contains(strings.Join(d.Trace()[0].Notes, ";"), "has no value") {
		t.Errorf("missing attribute: grants %v trace %+v", roleARNs(d), d.Trace()[0])
	}
}

func TestPassThrough(t *testing.T) {
	e := compileYAML(t, `
- name: label-admins
  providers: [okta-aws]
  when: {all: [{attribute: groups, equals: admins}]}
  grant: {role: 'Admin*', label: 'Administrator'}
- name: all-asserted
  providers: [okta-aws]
  when: {all: [{attribute: 'https://aws.amazon.com/SAML/Attributes/Role', exists: true}]}
  grant: {role: '*', account: prod, console_duration: 1h}
- name: named
  when: {all: [{attribute: groups, equals: admins}]}
  grant: {mode: pass-through, role: NotAsserted}
`)
	prov := func(acct string) string { return "arn:aws:iam::" + acct + ":saml-provider/Okta" }
	id := ident("okta-aws", map[string][]string{"groups": {"admins"}, broker.SAMLAttrRole: {"x"}},
		broker.RolePair{RoleARN: role(sandbox, "AdminRole"), ProviderARN: prov(sandbox)},
		broker.RolePair{RoleARN: role(prod, "ReadOnly"), ProviderARN: prov(prod)},
		broker.RolePair{RoleARN: role(prod, "AdminProd"), ProviderARN: prov(prod)},
	)
	d := e.Evaluate(id)
	want := []string{role(sandbox, "AdminRole"), role(prod, "AdminProd"), role(prod, "ReadOnly")}
	if got := roleARNs(d); !reflect.DeepEqual(got, want) {
		t.Fatalf("grants %v, want %v", got, want)
	}
	for _, g := range d.Grants {
		if g.Mode != broker.ModePassThrough || !strings.HasSuffix(g.ProviderARN, ":saml-provider/Okta") {
			t.Errorf("grant %+v", g)
		}
	}
	if d.Grants[0].Label != "Administrator" || d.Grants[2].Label != "ReadOnly" {
		t.Errorf("labels %q %q", d.Grants[0].Label, d.Grants[2].Label)
	}
	if n := d.Trace()[1].Notes; len(n) != 1 || !strings.Contains(n[0], "already granted by rule label-admins") {
		t.Errorf("duplicate note %v", n)
	}
	if tr := d.Trace()[2]; !strings.Contains(strings.Join(tr.Notes, ";"), "not asserted by the identity provider") {
		t.Errorf("named pass-through role: %+v", tr)
	}
}

func TestDeterministic(t *testing.T) {
	e := compileYAML(t, `
- name: a
  when: {all: [{attribute: groups, regex: '^g(\d)$'}]}
  grant: {account: sandbox, role: 'R${1}'}
`)
	id := ident("okta", map[string][]string{"groups": {"g3", "g1", "g2", "g1"}})
	first := e.Evaluate(id)
	if got := roleARNs(first); !reflect.DeepEqual(got, []string{role(sandbox, "R3"), role(sandbox, "R1"), role(sandbox, "R2")}) {
		t.Fatalf("value order not kept: %v", got)
	}
	for i := 0; i < 20; i++ {
		if d := e.Evaluate(id); !reflect.DeepEqual(d, first) {
			t.Fatal("Evaluate is not deterministic")
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, rule, field, reason string
	}{
		{"no name", `{when: {all: [{attribute: g, equals: x}]}, grant: {account: sandbox, role: A}}`, "name", "name is required"},
		{"no conditions", `{name: r, grant: {account: sandbox, role: A}}`, "when", "always: true"},
		{"two operators", `{name: r, when: {all: [{attribute: g, equals: x, prefix: y}]}, grant: {account: sandbox, role: A}}`, "when.all[0]", "exactly one"},
		{"no attribute", `{name: r, when: {all: [{equals: x}]}, grant: {account: sandbox, role: A}}`, "when.all[0].attribute", "required"},
		{"bad regex", `{name: r, when: {all: [{attribute: g, regex: '(x'}]}, grant: {account: sandbox, role: A}}`, "when.all[0].regex", "missing closing )"},
		{"regex ignore_case", `{name: r, when: {all: [{attribute: g, regex: x, ignore_case: true}]}, grant: {account: sandbox, role: A}}`, "when.all[0].ignore_case", "(?i)"},
		{"bad glob", `{name: r, when: {all: [{attribute: g, glob: 'a[b'}]}, grant: {account: sandbox, role: A}}`, "when.all[0].glob", "unclosed"},
		{"unknown capture", `{name: r, when: {all: [{attribute: g, regex: '^(?P<x>.)$'}]}, grant: {account: sandbox, role: '${y}'}}`, "grant.role", "no capture group"},
		{"ambiguous number", `{name: r, when: {all: [{attribute: g, regex: '(a)'}, {attribute: h, regex: '(b)'}]}, grant: {account: sandbox, role: '${1}'}}`, "grant.role", "ambiguous"},
		{"lone dollar", `{name: r, always: true, grant: {account: sandbox, role: 'a$b'}}`, "grant.role", "lone $"},
		{"unknown account", `{name: r, always: true, grant: {account: nope, role: A}}`, "grant.account", "known alias"},
		{"missing role", `{name: r, always: true, grant: {account: sandbox}}`, "grant.role", "required"},
		{"glob role broker-issued", `{name: r, always: true, grant: {account: sandbox, role: 'Adm*'}}`, "grant.role", "globs"},
		{"bad role arn", `{name: r, always: true, grant: {role: 'arn:aws:iam::123:role/x'}}`, "grant.role", "not an IAM role ARN"},
		{"bad provider", `{name: r, always: true, grant: {account: sandbox, role: A, provider: 'arn:aws:iam::111122223333:role/x'}}`, "grant.provider", "SAML provider ARN"},
		{"duration", `{name: r, always: true, grant: {account: sandbox, role: A, duration: 13h}}`, "grant.duration", "between 15m and 12h"},
		{"console duration", `{name: r, always: true, grant: {account: sandbox, role: A, console_duration: 5m}}`, "grant.console_duration", "between 15m and 12h"},
		{"destination", `{name: r, always: true, grant: {account: sandbox, role: A, destination: 'https://evil.example.com/'}}`, "grant.destination", "not an AWS console host"},
		{"region", `{name: r, always: true, grant: {account: sandbox, role: A, region: 'mars-1'}}`, "grant.region", "not an AWS region"},
		{"policy json", `{name: r, always: true, grant: {account: sandbox, role: A, session_policy: '{nope'}}`, "grant.session_policy", "not a JSON policy"},
		{"policy size", `{name: r, always: true, grant: {account: sandbox, role: A, session_policy: '{"a":"` + strings.Repeat("x", 2050) + `"}'}}`, "grant.session_policy", "2048"},
		{"policy arn", `{name: r, always: true, grant: {account: sandbox, role: A, policy_arns: ['arn:aws:s3:::b']}}`, "grant.policy_arns[0]", "not an IAM policy ARN"},
		{"tag key", `{name: r, always: true, grant: {account: sandbox, role: A, session_tags: {'aws:x': y}}}`, "grant.session_tags.aws:x", "reserved"},
		{"tag value", `{name: r, always: true, grant: {account: sandbox, role: A, session_tags: {k: '` + strings.Repeat("v", 257) + `'}}}`, "grant.session_tags.k", "256"},
		{"transitive", `{name: r, always: true, grant: {account: sandbox, role: A, session_tags: {k: v}, transitive_tag_keys: [other]}}`, "grant.transitive_tag_keys[0]", "not one of session_tags"},
		{"source identity", `{name: r, always: true, grant: {account: sandbox, role: A, source_identity: 'a b'}}`, "grant.source_identity", "2..64"},
		{"effect", `{name: r, effect: maybe, always: true, grant: {account: sandbox, role: A}}`, "effect", "allow or deny"},
		{"mode", `{name: r, always: true, grant: {account: sandbox, role: A, mode: both}}`, "grant.mode", "pass-through or broker-issued"},
		{"pass-through tags", `{name: r, always: true, grant: {mode: pass-through, role: '*', session_tags: {k: v}}}`, "grant", "broker-issued"},
		{"deny extras", `{name: r, effect: deny, always: true, grant: {account: prod, label: x}}`, "grant", "only use grant.account and grant.role"},
		{"deep nesting", `{name: r, when: {all: [{all: [{all: [{all: [{all: [{all: [{all: [{all: [{all: [{attribute: g, exists: true}]}]}]}]}]}]}]}]}]}, grant: {account: sandbox, role: A}}`, "when.all[0].all[0].all[0].all[0].all[0].all[0].all[0].all[0]", "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Rule
			if err := yaml.Unmarshal([]byte(tt.rule), &r); err != nil {
				t.Fatal(err)
			}
			_, err := Compile([]Rule{r}, testOpts)
			var ces CompileErrors
			if !errors.As(err, &ces) {
				t.Fatalf("err = %v, want CompileErrors", err)
			}
			for _, ce := range ces {
				if ce.Field == tt.field && strings.Contains(ce.Reason, tt.reason) && ce.Index == 0 {
					return
				}
			}
			t.Fatalf("no error at %s containing %q; got %v", tt.field, tt.reason, err)
		})
	}
}

func TestCompileReportsEveryProblemAndDuplicates(t *testing.T) {
	rules := []Rule{
		{Name: "a", Always: true, Grant: GrantSpec{Account: sandbox, Role: "A", Duration: Duration(time.Minute)}},
		{Name: "a", Always: true, Grant: GrantSpec{Account: "x", Role: "B"}},
	}
	_, err := Compile(rules, testOpts)
	var ces CompileErrors
	if !errors.As(err, &ces) || len(ces) != 3 {
		t.Fatalf("want 3 problems (duration, account, duplicate name), got %v", err)
	}
	if !strings.Contains(err.Error(), "rule a: name: duplicate rule name") {
		t.Errorf("error text %q", err)
	}
}

func TestDurationFormats(t *testing.T) {
	var r struct {
		A Duration `yaml:"a" json:"a"`
		B Duration `yaml:"b" json:"b"`
	}
	if err := yaml.Unmarshal([]byte("a: 90m\nb: 3600\n"), &r); err != nil || time.Duration(r.A) != 90*time.Minute || time.Duration(r.B) != time.Hour {
		t.Fatalf("yaml: %v %v %v", err, r.A, r.B)
	}
	if err := yaml.Unmarshal([]byte("a: soon\n"), &r); err == nil {
		t.Error("bad duration accepted")
	}
}

func TestMatcher(t *testing.T) {
	m, err := CompileMatcher("admin", Group{Any: []Condition{
		{Attribute: "groups", Equals: "broker-admins"},
		{Attribute: "email", Suffix: "@ops.example.com", IgnoreCase: true},
	}}, []string{"okta"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		provider string
		attrs    map[string][]string
		want     bool
	}{
		{"okta", map[string][]string{"groups": {"dev", "broker-admins"}}, true},
		{"okta", map[string][]string{"email": {"Ann@OPS.example.com"}}, true},
		{"okta", map[string][]string{"groups": {"broker-admins-not"}}, false},
		{"okta", nil, false},
		{"entra", map[string][]string{"groups": {"broker-admins"}}, false},
	} {
		got, why := m.Match(&broker.Identity{Provider: tc.provider, Attributes: tc.attrs})
		if got != tc.want {
			t.Errorf("%s %v: got %v (%s), want %v", tc.provider, tc.attrs, got, why, tc.want)
		}
		if !got && why == "" {
			t.Errorf("%s %v: no reason given", tc.provider, tc.attrs)
		}
	}
	var nilM *Matcher
	if ok, _ := nilM.Match(&broker.Identity{}); ok {
		t.Fatal("a nil matcher matched")
	}
	if _, err := CompileMatcher("admin", Group{}, nil); err == nil {
		t.Fatal("an empty admin condition compiled")
	}
	_, err = CompileMatcher("admin", Group{All: []Condition{{Attribute: "groups", Regex: "("}}}, nil)
	var ce CompileErrors
	if !errors.As(err, &ce) || ce[0].Field != "when.all[0].regex" {
		t.Fatalf("bad regex: %v", err)
	}
}

// Exported durations read as an admin writes them (8h, not 8h0m0s), in
// YAML and JSON, and read back the same.
func TestDurationKeepsTheAdminsForm(t *testing.T) {
	for in, want := range map[string]string{
		"8h": "8h", "90m": "1h30m", "1h30m": "1h30m", "45s": "45s", "15m": "15m",
		"1h0m30s": "1h0m30s", "3600": "1h", "36h": "36h", "1.5s": "1.5s", "0s": "0s",
	} {
		var d Duration
		if err := yaml.Unmarshal([]byte(in), &d); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if d.String() != want {
			t.Errorf("%s: String = %q, want %q", in, d.String(), want)
		}
		y, err := yaml.Marshal(d)
		if err != nil || strings.TrimSpace(string(y)) != want {
			t.Errorf("%s: YAML %q %v, want %q", in, y, err, want)
		}
		j, err := json.Marshal(d)
		if err != nil || string(j) != `"`+want+`"` {
			t.Errorf("%s: JSON %s %v", in, j, err)
		}
		var back Duration
		if err := yaml.Unmarshal(y, &back); err != nil || back != d {
			t.Errorf("%s: round trip %v %v", in, back, err)
		}
	}
}
