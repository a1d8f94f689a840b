package mapping

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type opKind uint8

const (
	opEquals opKind = iota
	opNotEquals
	opGlob
	opRegex
	opPrefix
	opSuffix
	opExists
	opAbsent
	opAll
	opAny
)

var opNames = [...]string{"equals", "not_equals", "glob", "regex", "prefix", "suffix", "exists", "absent", "all", "any"}

// maxBindings caps the capture combinations one rule may produce.
const maxBindings = 100

// cond is a compiled condition.
type cond struct {
	path       string // e.g. "when.all[1]"
	op         opKind
	attr       string
	value      string // lowercased when ignoreCase
	ignoreCase bool
	re         *regexp.Regexp // regex, or a glob compiled to a regex
	prefix     string         // every matching value starts with this (case as in value)
	captures   bool
	children   []*cond

	// Static failure reasons: tracing costs no formatting.
	failAbsent, failNoMatch string
}

func (c *cond) describe() string {
	if c.op == opAll || c.op == opAny {
		return c.path + " (" + opNames[c.op] + " group)"
	}
	s := c.path + " (" + strconv.Quote(c.attr) + " " + opNames[c.op]
	if c.op != opExists && c.op != opAbsent {
		s += " " + strconv.Quote(c.value)
	}
	if c.ignoreCase {
		s += ", ignoring case"
	}
	return s + ")"
}

func (c *cond) setReasons() {
	d := "condition " + c.describe()
	switch c.op {
	case opAll:
		c.failNoMatch = d + ": not all conditions hold"
	case opAny:
		c.failNoMatch = d + ": none of the alternatives holds"
	case opAbsent:
		c.failNoMatch = d + ": the attribute is present"
	case opNotEquals:
		c.failNoMatch = d + ": a value is equal"
	default:
		c.failNoMatch = d + ": no value matched"
	}
	c.failAbsent = d + ": the attribute is absent"
}

// view gives a rule evaluation cheap access to an identity's values:
// sorted copies for binary search, built once per attribute per Evaluate.
type view struct {
	attrs  map[string][]string
	sorted map[string][]string
	lower  map[string][]string
}

func (v *view) values(attr string) []string { return v.attrs[attr] }

func (v *view) sortedValues(attr string, fold bool) []string {
	m := &v.sorted
	if fold {
		m = &v.lower
	}
	if s, ok := (*m)[attr]; ok {
		return s
	}
	src := v.attrs[attr]
	s := make([]string, len(src))
	for i, x := range src {
		if fold {
			x = strings.ToLower(x)
		}
		s[i] = x
	}
	sort.Strings(s)
	if *m == nil {
		*m = map[string][]string{}
	}
	(*m)[attr] = s
	return s
}

// hasPrefixed reports whether a sorted slice holds a value starting with p.
func hasPrefixed(sorted []string, p string) bool {
	i := sort.SearchStrings(sorted, p)
	return i < len(sorted) && strings.HasPrefix(sorted[i], p)
}

// hasValue reports whether a sorted slice holds x.
func hasValue(sorted []string, x string) bool {
	i := sort.SearchStrings(sorted, x)
	return i < len(sorted) && sorted[i] == x
}

// eval tests c. On success bs holds one binding per capture combination
// (nil when the condition captures nothing).
func (c *cond) eval(v *view) (ok bool, bs []binding, reason string) {
	switch c.op {
	case opAll:
		return c.evalAll(v)
	case opAny:
		return c.evalAny(v)
	}
	vals := v.values(c.attr)
	switch c.op {
	case opExists:
		return c.outcome(len(vals) > 0, c.failAbsent)
	case opAbsent:
		return c.outcome(len(vals) == 0, c.failNoMatch)
	case opNotEquals:
		return c.outcome(len(vals) == 0 || !hasValue(v.sortedValues(c.attr, c.ignoreCase), c.value), c.failNoMatch)
	}
	if len(vals) == 0 {
		return false, nil, c.failAbsent
	}
	switch c.op {
	case opEquals:
		return c.outcome(hasValue(v.sortedValues(c.attr, c.ignoreCase), c.value), c.failNoMatch)
	case opPrefix:
		return c.outcome(hasPrefixed(v.sortedValues(c.attr, c.ignoreCase), c.value), c.failNoMatch)
	case opSuffix:
		return c.outcome(c.anySuffix(vals), c.failNoMatch)
	case opGlob, opRegex:
		return c.evalPattern(v, vals)
	}
	return false, nil, c.failNoMatch
}

// outcome is eval's result for a condition that captures nothing.
func (c *cond) outcome(ok bool, failure string) (bool, []binding, string) {
	if ok {
		return true, nil, ""
	}
	return false, nil, failure
}

// evalAll holds when every child holds; its bindings are the children's
// combined (at most maxBindings). The first failing child gives the reason.
func (c *cond) evalAll(v *view) (bool, []binding, string) {
	bs := []binding{nil}
	for _, ch := range c.children {
		ok, cbs, r := ch.eval(v)
		if !ok {
			return false, nil, r
		}
		bs = cross(bs, cbs)
	}
	return true, compact(bs), ""
}

// evalAny holds when at least one child holds; its bindings are those of
// every child that holds (at most maxBindings). A lone child's failure is
// reported as is, several children fail with the group's reason.
func (c *cond) evalAny(v *view) (bool, []binding, string) {
	var out []binding
	matched := false
	last := c.failNoMatch
	for _, ch := range c.children {
		ok, cbs, r := ch.eval(v)
		if !ok {
			last = r
			continue
		}
		matched = true
		if len(cbs) == 0 {
			out = append(out, nil)
		}
		out = append(out, cbs...)
		if len(out) > maxBindings {
			out = out[:maxBindings]
		}
	}
	if !matched {
		if len(c.children) == 1 {
			return false, nil, last
		}
		return false, nil, c.failNoMatch
	}
	return true, compact(out), ""
}

// anySuffix reports whether a value ends with c.value.
func (c *cond) anySuffix(vals []string) bool {
	for _, x := range vals {
		if c.ignoreCase {
			x = strings.ToLower(x)
		}
		if strings.HasSuffix(x, c.value) {
			return true
		}
	}
	return false
}

// evalPattern tests a glob or regex: first the literal prefix every match
// must start with (a binary search), then the expression itself.
func (c *cond) evalPattern(v *view, vals []string) (bool, []binding, string) {
	if c.prefix != "" && !hasPrefixed(v.sortedValues(c.attr, c.ignoreCase), c.prefix) {
		return false, nil, c.failNoMatch
	}
	if !c.captures {
		return c.outcome(c.anyMatch(vals), c.failNoMatch)
	}
	if bs := c.captureBindings(vals); len(bs) > 0 {
		return true, dedupe(bs), ""
	}
	return false, nil, c.failNoMatch
}

// anyMatch reports whether the expression matches a value (globs ignoring
// case compare lowercased values; a case-insensitive regex says (?i)).
func (c *cond) anyMatch(vals []string) bool {
	for _, x := range vals {
		if c.ignoreCase && c.op == opGlob {
			x = strings.ToLower(x)
		}
		if c.re.MatchString(x) {
			return true
		}
	}
	return false
}

// captureBindings returns one binding per matching value (at most
// maxBindings): ${1}, ${2}... and each named group ${name}.
func (c *cond) captureBindings(vals []string) []binding {
	var bs []binding
	names := c.re.SubexpNames()
	for _, x := range vals {
		m := c.re.FindStringSubmatch(x)
		if m == nil {
			continue
		}
		b := make(binding, len(m))
		for i := 1; i < len(m); i++ {
			b[strconv.Itoa(i)] = m[i]
			if names[i] != "" {
				b[names[i]] = m[i]
			}
		}
		bs = append(bs, b)
		if len(bs) >= maxBindings {
			break
		}
	}
	return bs
}
