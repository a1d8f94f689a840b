package mapping

import (
	"fmt"
	"strings"
)

// CompileError is one problem with one rule.
type CompileError struct {
	Rule   string // rule name ("" if the name itself is missing)
	Index  int    // position in the rule list, from 0
	Field  string // e.g. "when.all[0].regex", "grant.duration"
	Reason string
}

func (e *CompileError) Error() string {
	name := e.Rule
	if name == "" {
		name = fmt.Sprintf("#%d", e.Index+1)
	}
	if e.Field == "" {
		return fmt.Sprintf("rule %s: %s", name, e.Reason)
	}
	return fmt.Sprintf("rule %s: %s: %s", name, e.Field, e.Reason)
}

// CompileErrors lists every problem Compile found.
type CompileErrors []*CompileError

func (es CompileErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}
