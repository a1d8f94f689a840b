package mapping

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestRequireMFAHidesRolesUntilMFA(t *testing.T) {
	e := compileYAML(t, `
- name: admins-need-mfa
  require_mfa: true
  when: {all: [{attribute: groups, equals: aws-admins}]}
  grant: {account: sandbox, role: Admin}
- name: readers
  when: {all: [{attribute: groups, equals: aws-admins}]}
  grant: {account: sandbox, role: ReadOnly}
`)
	id := ident("okta", map[string][]string{"groups": {"aws-admins"}})
	d := e.Evaluate(id)
	if got, want := roleARNs(d), []string{role(sandbox, "ReadOnly")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("without MFA: grants %v, want %v", got, want)
	}
	if !d.NeedsMFA {
		t.Error("without MFA: NeedsMFA is false, want true (a sign-in with MFA gives more roles)")
	}
	if tr := d.Trace()[0]; tr.Outcome != NotMatched || !strings.Contains(tr.Reason, "multi-factor") {
		t.Errorf("trace of the MFA rule = %+v, want not matched for want of MFA", tr)
	}

	id.MFA = true
	d = e.Evaluate(id)
	if got, want := roleARNs(d), []string{role(sandbox, "Admin"), role(sandbox, "ReadOnly")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("with MFA: grants %v, want %v", got, want)
	}
	if d.NeedsMFA {
		t.Error("with MFA: NeedsMFA is true")
	}

	// A person the rule's conditions do not match is not told MFA would help.
	other := ident("okta", map[string][]string{"groups": {"developers"}})
	if e.Evaluate(other).NeedsMFA {
		t.Error("NeedsMFA for a person whose conditions do not hold")
	}
}

func TestRequireMFAOnDenyRefused(t *testing.T) {
	var rules []Rule
	if err := yaml.Unmarshal([]byte(`
- name: no-prod
  effect: deny
  require_mfa: true
  always: true
`), &rules); err != nil {
		t.Fatal(err)
	}
	_, err := Compile(rules, testOpts)
	if err == nil || !strings.Contains(err.Error(), "require_mfa") {
		t.Fatalf("Compile = %v, want a require_mfa problem", err)
	}
}
