package mapping

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

// Options are the settings rules are compiled against.
type Options struct {
	Accounts []Account
	// ProviderMode is the default mode of a provider's grants; nil means
	// broker-issued for every provider.
	ProviderMode func(provider string) broker.Mode
	// BrokerSAMLProviderName names the broker's IAM SAML provider in each
	// account (default "broker").
	BrokerSAMLProviderName string
	DefaultPartition       string // default partition.DefaultID ("aws")
	DefaultAudience        string // web-identity broker-issued token audience
	Defaults               GrantDefaults
}

// GrantDefaults fill grant fields a rule leaves empty.
type GrantDefaults struct {
	CredentialDuration time.Duration
	ConsoleDuration    time.Duration
	Region             string
	Destination        string
}

// Engine is a compiled rule set. It is immutable and safe for concurrent use.
type Engine struct {
	rules    []*compiledRule
	source   []Rule
	opts     Options
	accounts map[string]Account // by id and by alias
	// index: attribute → value → rules whose first top-level condition is
	// that case-sensitive equals test.
	index map[string]map[string][]int32
	// hot holds what Evaluate checks for every rule, packed contiguously so
	// the common "skip" path never touches the rule itself.
	hot        []hotRule
	indexAttrs []string // attribute of each index slot
}

type hotRule struct {
	disabled bool
	scoped   bool  // has a provider scope
	slot     int32 // index slot of its equals condition; -1 = not indexed
}

type compiledRule struct {
	idx      int
	name     string
	deny     bool
	disabled bool
	mfa      bool // RequireMFA
	// maxAuthAge is MaxAuthAge (0: none).
	maxAuthAge time.Duration
	providers  map[string]bool
	root       *cond // nil: always
	indexed    *cond // the indexed equals condition, if any
	grant      compiledGrant
}

const maxDepth = 8

var (
	ruleNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	accountRe  = regexp.MustCompile(`^[0-9]{12}$`)
)

// Compile validates and compiles rules. It reports every problem it finds
// as CompileErrors (rule, field, reason), not only the first.
func Compile(rules []Rule, opts Options) (*Engine, error) {
	if opts.DefaultPartition == "" {
		opts.DefaultPartition = partition.DefaultID
	}
	if opts.BrokerSAMLProviderName == "" {
		opts.BrokerSAMLProviderName = "broker"
	}
	e := &Engine{source: append([]Rule(nil), rules...), opts: opts, accounts: map[string]Account{}, index: map[string]map[string][]int32{}}
	var errs CompileErrors
	for i, a := range opts.Accounts {
		if !accountRe.MatchString(a.ID) {
			errs = append(errs, &CompileError{Index: -1, Field: fmt.Sprintf("accounts[%d].id", i), Reason: fmt.Sprintf("account id %q must be 12 digits", a.ID)})
			continue
		}
		if a.Alias != "" {
			if _, dup := e.accounts[a.Alias]; dup || accountRe.MatchString(a.Alias) {
				errs = append(errs, &CompileError{Index: -1, Field: fmt.Sprintf("accounts[%d].alias", i), Reason: fmt.Sprintf("alias %q is a duplicate or looks like an account id", a.Alias)})
				continue
			}
			e.accounts[a.Alias] = a
		}
		e.accounts[a.ID] = a
	}
	if !partition.Known(opts.DefaultPartition) {
		errs = append(errs, &CompileError{Index: -1, Field: "defaults.partition", Reason: fmt.Sprintf("unknown partition %q", opts.DefaultPartition)})
	}
	seen := map[string]int{}
	for i := range rules {
		c := &compiler{e: e, rule: &rules[i], idx: i}
		cr := c.compile()
		if prev, dup := seen[rules[i].Name]; dup && rules[i].Name != "" {
			c.fail("name", "duplicate rule name (also rule #%d)", prev+1)
		}
		seen[rules[i].Name] = i
		errs = append(errs, c.errs...)
		if len(c.errs) == 0 {
			e.rules = append(e.rules, cr)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	slots := map[string]int32{}
	for _, r := range e.rules {
		h := hotRule{disabled: r.disabled, scoped: r.providers != nil, slot: -1}
		if r.indexed != nil {
			slot, ok := slots[r.indexed.attr]
			if !ok {
				slot = int32(len(e.indexAttrs))
				slots[r.indexed.attr] = slot
				e.indexAttrs = append(e.indexAttrs, r.indexed.attr)
			}
			h.slot = slot
		}
		e.hot = append(e.hot, h)
		if r.indexed != nil && !r.disabled {
			m := e.index[r.indexed.attr]
			if m == nil {
				m = map[string][]int32{}
				e.index[r.indexed.attr] = m
			}
			m[r.indexed.value] = append(m[r.indexed.value], int32(r.idx))
		}
	}
	return e, nil
}

// Rules returns the rules the engine was compiled from.
func (e *Engine) Rules() []Rule { return append([]Rule(nil), e.source...) }

// Accounts returns the configured accounts (ids, aliases, labels).
func (e *Engine) Accounts() []Account { return append([]Account(nil), e.opts.Accounts...) }

type compiler struct {
	e        *Engine
	rule     *Rule
	idx      int
	errs     CompileErrors
	captures map[string]bool
	nRegexes int // regex conditions with capture groups
}

func (c *compiler) fail(field, format string, args ...any) {
	c.errs = append(c.errs, &CompileError{Rule: c.rule.Name, Index: c.idx, Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (c *compiler) compile() *compiledRule {
	r := c.rule
	cr := &compiledRule{idx: c.idx, name: r.Name, disabled: r.Disabled}
	if !ruleNameRe.MatchString(r.Name) {
		c.fail("name", "name is required: 1..64 of A-Z a-z 0-9 _ . -")
	}
	switch r.Effect {
	case "", "allow":
	case "deny":
		cr.deny = true
	default:
		c.fail("effect", "must be allow or deny, got %q", r.Effect)
	}
	cr.mfa = r.RequireMFA
	cr.maxAuthAge = time.Duration(r.MaxAuthAge)
	switch d := cr.maxAuthAge; {
	case d != 0 && cr.deny:
		c.fail("max_auth_age", "applies to allow rules only")
	case d != 0 && (d < time.Minute || d > 24*time.Hour):
		c.fail("max_auth_age", "must be between 1m and 24h, got %s", d)
	}
	if cr.deny && r.RequireMFA {
		c.fail("require_mfa", "applies to allow rules only: a deny rule that needed MFA would stop denying when the sign-in has none")
	}
	for i, p := range r.Providers {
		if p == "" {
			c.fail(fmt.Sprintf("providers[%d]", i), "empty provider id")
		}
		if cr.providers == nil {
			cr.providers = map[string]bool{}
		}
		cr.providers[p] = true
	}
	c.captures = map[string]bool{}
	empty := len(r.When.All) == 0 && len(r.When.Any) == 0
	switch {
	case empty && !r.Always:
		c.fail("when", "no conditions: add conditions, or set always: true to match everyone")
	case !empty && r.Always:
		c.fail("always", "always: true cannot be combined with conditions")
	case !empty:
		cr.root = c.group("when", r.When.All, r.When.Any, 1)
		if cr.root != nil && cr.root.op == opAll && len(cr.root.children) > 0 {
			if first := cr.root.children[0]; first.op == opEquals && !first.ignoreCase {
				cr.indexed = first
			}
		}
	}
	if cr.deny {
		cr.grant = c.denyPattern()
	} else {
		cr.grant = c.grant()
	}
	return cr
}

// group compiles all/any lists into one condition.
func (c *compiler) group(path string, all, any []Condition, depth int) *cond {
	if depth > maxDepth {
		c.fail(path, "conditions nested deeper than %d levels", maxDepth)
		return nil
	}
	g := &cond{path: path, op: opAll}
	for i := range all {
		if ch := c.condition(fmt.Sprintf("%s.all[%d]", path, i), &all[i], depth); ch != nil {
			g.children = append(g.children, ch)
		}
	}
	if len(any) > 0 {
		a := &cond{path: path + ".any", op: opAny}
		for i := range any {
			if ch := c.condition(fmt.Sprintf("%s.any[%d]", path, i), &any[i], depth); ch != nil {
				a.children = append(a.children, ch)
			}
		}
		a.setReasons()
		g.children = append(g.children, a)
	}
	g.setReasons()
	if len(g.children) == 1 && len(any) == 0 {
		return g
	}
	return g
}

func (c *compiler) condition(path string, in *Condition, depth int) *cond {
	if len(in.All) > 0 || len(in.Any) > 0 {
		return c.nestedGroup(path, in, depth)
	}
	if n := countOps(in); n != 1 {
		c.fail(path, "set exactly one of equals, not_equals, glob, regex, prefix, suffix, exists, absent (got %d)", n)
		return nil
	}
	if in.Attribute == "" {
		c.fail(path+".attribute", "attribute is required")
		return nil
	}
	if strings.ContainsFunc(in.Attribute, unicode.IsControl) {
		c.fail(path+".attribute", "attribute names cannot contain control characters (line breaks, tabs)")
		return nil
	}
	k := &cond{path: path, attr: in.Attribute, ignoreCase: in.IgnoreCase}
	if !c.operator(k, path, in) {
		return nil
	}
	if in.IgnoreCase && (k.op == opExists || k.op == opAbsent) {
		c.fail(path+".ignore_case", "ignore_case does not apply to %s", opNames[k.op])
	}
	k.setReasons()
	return k
}

// nestedGroup compiles a condition that is an all/any group of its own.
func (c *compiler) nestedGroup(path string, in *Condition, depth int) *cond {
	if in.Attribute != "" || countOps(in) > 0 || in.IgnoreCase {
		c.fail(path, "a group (all/any) cannot also test an attribute")
		return nil
	}
	g := c.group(path, in.All, in.Any, depth+1)
	if len(in.All) == 0 {
		// A pure any-group: unwrap so the trace names it directly.
		return g.children[0]
	}
	return g
}

// operator sets k's operator and value from the one operator in is set;
// false when the glob or regex does not compile.
func (c *compiler) operator(k *cond, path string, in *Condition) bool {
	switch {
	case in.Equals != "":
		k.op, k.value = opEquals, fold(in.Equals, in.IgnoreCase)
	case in.NotEquals != "":
		k.op, k.value = opNotEquals, fold(in.NotEquals, in.IgnoreCase)
	case in.Prefix != "":
		k.op, k.value = opPrefix, fold(in.Prefix, in.IgnoreCase)
	case in.Suffix != "":
		k.op, k.value = opSuffix, fold(in.Suffix, in.IgnoreCase)
	case in.Exists:
		k.op = opExists
	case in.Absent:
		k.op = opAbsent
	case in.Glob != "":
		return c.globOperator(k, path, in)
	case in.Regex != "":
		return c.regexOperator(k, path, in)
	}
	return true
}

// fold lowercases s for a case-insensitive condition.
func fold(s string, ignoreCase bool) string {
	if ignoreCase {
		return strings.ToLower(s)
	}
	return s
}

// globOperator compiles a glob to an anchored regex and its literal prefix.
func (c *compiler) globOperator(k *cond, path string, in *Condition) bool {
	k.op, k.value = opGlob, fold(in.Glob, in.IgnoreCase)
	re, prefix, err := globToRegex(k.value)
	if err != nil {
		c.fail(path+".glob", "%v", err)
		return false
	}
	k.re, k.prefix = re, prefix
	return true
}

// regexOperator compiles a regex, its literal prefix, and records its
// capture groups for the grant's templates.
func (c *compiler) regexOperator(k *cond, path string, in *Condition) bool {
	k.op, k.value = opRegex, in.Regex
	if in.IgnoreCase {
		c.fail(path+".ignore_case", "ignore_case does not apply to regex: start the expression with (?i)")
		return false
	}
	re, err := regexp.Compile(in.Regex)
	if err != nil {
		c.fail(path+".regex", "invalid regular expression: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return false
	}
	k.re, k.prefix = re, anchoredPrefix(in.Regex)
	if re.NumSubexp() > 0 {
		k.captures = true
		c.addCaptures(re)
	}
	return true
}

// addCaptures makes a regex's groups available to templates as ${N} and
// ${name}.
func (c *compiler) addCaptures(re *regexp.Regexp) {
	c.nRegexes++
	for i, name := range re.SubexpNames() {
		if i == 0 {
			continue
		}
		c.captures[strconv.Itoa(i)] = true
		if name != "" {
			c.captures[name] = true
		}
	}
}

func countOps(in *Condition) int {
	n := 0
	for _, set := range []bool{in.Equals != "", in.NotEquals != "", in.Glob != "", in.Regex != "", in.Prefix != "", in.Suffix != "", in.Exists, in.Absent} {
		if set {
			n++
		}
	}
	return n
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
