package ruleset

import (
	"errors"
	"fmt"
	"strings"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// Problem is one reason a candidate rule set is refused, located so that
// every writer can show it where it belongs: the rule editor on the field
// or condition row (Field), the API as 422 {rule, index, field, reason},
// the CLI and `broker check` as rules[Index].Field.
type Problem struct {
	Rule   string // rule name; "" when the rule has none or the problem is not a rule's
	Index  int    // position in the candidate list, from 0; -1 for the accounts and defaults
	Field  string // path in the rule ("when.all[0].regex", "grant.duration"), or "accounts[0].id"; "" for the whole rule
	Reason string // what is wrong, for people
}

// Error reads "rule NAME: FIELD: REASON" (the form mapping.CompileError has).
func (p Problem) Error() string {
	name := p.Rule
	if name == "" {
		name = fmt.Sprintf("#%d", p.Index+1)
	}
	if p.Field == "" {
		return fmt.Sprintf("rule %s: %s", name, p.Reason)
	}
	return fmt.Sprintf("rule %s: %s: %s", name, p.Field, p.Reason)
}

// Problems is every problem of a candidate rule set, in rule order. As an
// error it lists them, one a line.
type Problems []Problem

func (ps Problems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Error()
	}
	return strings.Join(parts, "\n")
}

// Split separates the problems of the rule named name (and of a rule
// without a name) from the others': the editor shows the first on their
// fields and the others at the top of the form.
func (ps Problems) Split(name string) (own, others Problems) {
	for _, p := range ps {
		if p.Rule == name || (p.Rule == "" && p.Field == "name") {
			own = append(own, p)
		} else {
			others = append(others, p)
		}
	}
	return own, others
}

// Summary is one line for a message about a change to the rule named name
// ("" for account changes): that rule's reasons, the others' in full.
func (ps Problems) Summary(name string) string {
	own, others := ps.Split(name)
	var msgs []string
	for _, p := range own {
		msgs = append(msgs, p.Reason)
	}
	for _, p := range others {
		msgs = append(msgs, p.Error())
	}
	return strings.Join(msgs, "; ")
}

// ProblemsOf returns the problems carried by err (the errors of Check,
// every change, Simulate and ImpactPreview), or nil.
func ProblemsOf(err error) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	return nil
}

// Check compiles rules with opts and returns every problem, nil when they
// compile. It is pure: the config file's rules are checked with it before
// anything is stored (`broker check`, start-up).
func Check(rules []mapping.Rule, opts mapping.Options) Problems {
	_, ps := compile(rules, opts)
	return ps
}

// compile is the one place rules are compiled.
func compile(rules []mapping.Rule, opts mapping.Options) (*mapping.Engine, Problems) {
	eng, err := mapping.Compile(rules, opts)
	if err == nil {
		return eng, nil
	}
	var ces mapping.CompileErrors
	if !errors.As(err, &ces) {
		return nil, Problems{{Index: -1, Reason: err.Error()}}
	}
	ps := make(Problems, len(ces))
	for i, ce := range ces {
		ps[i] = Problem{Rule: ce.Rule, Index: ce.Index, Field: ce.Field, Reason: ce.Reason}
	}
	return nil, ps
}

// Reasons and messages of refused changes.
const (
	ReasonRulesInvalid       = "rules_invalid"
	ReasonRevertInvalid      = "revert_invalid"
	ReasonAccountsBreakRules = "accounts_break_rules"
)

// invalid is the error of a change whose candidate set does not compile:
// EINVALID, with the problems as its cause (ProblemsOf finds them).
func invalid(ps Problems, reason, message string) error {
	return broker.Wrap(ps, broker.EINVALID, reason, message)
}

func rulesInvalid(ps Problems) error {
	return invalid(ps, ReasonRulesInvalid, "The rules do not compile; nothing was saved.")
}
