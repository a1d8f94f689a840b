package localaws

import "strings"

// decision is the outcome of evaluating a policy for one request.
type decision int

const (
	implicitDeny decision = iota // no statement allows
	allowed                      // an Allow statement matches, no Deny does
	explicitDeny                 // a Deny statement matches: it always wins
)

// authzRequest is what a trust policy is evaluated against.
type authzRequest struct {
	principalType string              // lower-cased, e.g. "federated"
	principal     string              // e.g. the SAML provider ARN
	action        string              // e.g. sts:AssumeRoleWithSAML
	context       map[string][]string // condition keys, lower-cased
}

// evaluate applies IAM's rule: an explicit Deny wins, otherwise some Allow
// must match, otherwise the request is implicitly denied.
func (p *policy) evaluate(req authzRequest) decision {
	d := implicitDeny
	for i := range p.statements {
		st := &p.statements[i]
		if !st.matches(req) {
			continue
		}
		if !st.allow {
			return explicitDeny
		}
		d = allowed
	}
	return d
}

func (st *statement) matches(req authzRequest) bool {
	return st.matchesPrincipal(req) && st.matchesAction(req.action) && st.matchesConditions(req.context)
}

func (st *statement) matchesPrincipal(req authzRequest) bool {
	if st.anyPrincipal {
		return true
	}
	for _, p := range st.principals {
		if p.typ == req.principalType && (p.value == req.principal || p.value == "*") {
			return true
		}
	}
	return false
}

func (st *statement) matchesAction(action string) bool {
	action = strings.ToLower(action)
	hit := false
	for _, pat := range st.actions {
		if globMatch(pat, action) {
			hit = true
			break
		}
	}
	return hit != st.notAction
}

func (st *statement) matchesConditions(ctx map[string][]string) bool {
	for _, c := range st.conditions {
		if !c.eval(ctx) {
			return false
		}
	}
	return true
}

// eval follows IAM: a missing key fails positive operators and satisfies
// negated ones; IfExists makes a missing key pass; ForAllValues holds for
// a missing key (nothing to violate) and ForAnyValue does not.
func (c condition) eval(ctx map[string][]string) bool {
	vals := ctx[c.key]
	present := len(vals) > 0
	if c.base == "Null" {
		return (c.values[0] == "true") != present
	}
	positive, negated := positiveOperator(c.base)
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == setAllValues:
			return true
		case c.set == setAnyValue:
			return false
		default:
			return negated
		}
	}
	match := func(v string) bool {
		for _, pv := range c.values {
			if compare(positive, pv, v) {
				return true
			}
		}
		return false
	}
	switch c.set {
	case setAllValues:
		for _, v := range vals {
			if match(v) == negated {
				return false
			}
		}
		return true
	case setAnyValue:
		for _, v := range vals {
			if match(v) != negated {
				return true
			}
		}
		return false
	default:
		anyMatch := false
		for _, v := range vals {
			if match(v) {
				anyMatch = true
				break
			}
		}
		return anyMatch != negated
	}
}

// positiveOperator maps a negated operator to its positive form.
func positiveOperator(base string) (string, bool) {
	switch base {
	case "StringNotEquals":
		return "StringEquals", true
	case "StringNotEqualsIgnoreCase":
		return "StringEqualsIgnoreCase", true
	case "StringNotLike":
		return "StringLike", true
	}
	return base, false
}

func compare(op, policyValue, v string) bool {
	switch op {
	case "StringEquals":
		return policyValue == v
	case "StringEqualsIgnoreCase", "Bool":
		return strings.EqualFold(policyValue, v)
	case "StringLike":
		return globMatch(policyValue, v)
	}
	return false // operators trust policies may not use never match
}

// globMatch matches s against pattern where * is any run of characters and
// ? exactly one, in time linear in len(pattern)*len(s) at worst.
func globMatch(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
