package mapping

import (
	"github.com/broker-dev/broker"
)

// Matcher is a compiled condition group on its own, for decisions that are
// not role grants (for example who is a broker admin). It uses the same
// operators and semantics as a rule's When.
type Matcher struct {
	root      *cond
	providers map[string]bool
}

// CompileMatcher compiles a condition group, optionally limited to
// providers. An empty group is an error: "everyone" must not be an accident.
// Errors name fields under prefix (e.g. "admin.when").
func CompileMatcher(prefix string, when Group, providers []string) (*Matcher, error) {
	c := &compiler{e: &Engine{}, rule: &Rule{Name: prefix}, idx: -1, captures: map[string]bool{}}
	m := &Matcher{}
	if len(when.All) == 0 && len(when.Any) == 0 {
		c.fail("when", "no conditions")
	} else {
		m.root = c.group("when", when.All, when.Any, 1)
	}
	for _, p := range providers {
		if p == "" {
			c.fail("providers", "empty provider id")
		}
		if m.providers == nil {
			m.providers = map[string]bool{}
		}
		m.providers[p] = true
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return m, nil
}

// Match reports whether id satisfies the conditions and, when it does not,
// why (the first condition that failed, or the provider scope).
func (m *Matcher) Match(id *broker.Identity) (bool, string) {
	if m == nil || m.root == nil || id == nil {
		return false, "no conditions"
	}
	if m.providers != nil && !m.providers[id.Provider] {
		return false, "provider " + quote(id.Provider) + " is out of scope"
	}
	ok, _, reason := m.root.eval(&view{attrs: id.Attributes})
	return ok, reason
}
