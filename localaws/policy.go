package localaws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// policyKind selects the grammar a policy document must follow.
type policyKind int

const (
	// trustPolicyKind is a role trust policy: Principal required,
	// NotPrincipal, Resource and NotResource prohibited.
	trustPolicyKind policyKind = iota
	// sessionPolicyKind is an inline session policy (the Policy parameter):
	// Resource or NotResource required, Principal and NotPrincipal prohibited.
	sessionPolicyKind
)

// maxTrustPolicyChars is IAM's default quota for a role trust policy,
// counted without white space.
const maxTrustPolicyChars = 2048

// policy is a parsed IAM policy document.
type policy struct {
	statements []statement
}

type statement struct {
	sid          string
	allow        bool
	anyPrincipal bool        // "Principal": "*"
	principals   []principal // "Principal": {"Federated": [...], ...}
	actions      []string    // lower-cased patterns
	notAction    bool
	conditions   []condition
}

type principal struct {
	typ   string // lower-cased: federated, aws, service, canonicaluser
	value string
}

var (
	sidRe    = regexp.MustCompile(`^[A-Za-z0-9]*$`)
	actionRe = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$`)
)

// parsePolicy parses and validates doc as IAM does for the given kind. The
// error text is fit for a MalformedPolicyDocument message.
func parsePolicy(doc string, kind policyKind) (*policy, error) {
	if kind == trustPolicyKind && nonSpaceLen(doc) > maxTrustPolicyChars {
		return nil, fmt.Errorf("the policy has more than %d characters (white space excluded)", maxTrustPolicyChars)
	}
	if err := checkJSONObject([]byte(doc)); err != nil {
		return nil, fmt.Errorf("the policy is not in the valid JSON format: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &top); err != nil {
		return nil, fmt.Errorf("the policy is not in the valid JSON format: %w", err)
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			return nil, fmt.Errorf("Syntax errors in policy: unknown element %q", k)
		}
	}
	if v, ok := top["Version"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil || (s != "2012-10-17" && s != "2008-10-17") {
			return nil, errors.New(`Syntax errors in policy: Version must be "2012-10-17" or "2008-10-17"`)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, errors.New("Missing required field Statement")
	}
	var list []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errors.New("Syntax errors in policy: Statement must be an object or a list of objects")
		}
	} else {
		list = []json.RawMessage{raw}
	}
	if len(list) == 0 {
		return nil, errors.New("Missing required field Statement: the list is empty")
	}
	p := &policy{}
	for i, r := range list {
		st, err := parseStatement(r, kind)
		if err != nil {
			return nil, fmt.Errorf("Statement %d: %w", i+1, err)
		}
		p.statements = append(p.statements, st)
	}
	return p, nil
}

func parseStatement(raw json.RawMessage, kind policyKind) (statement, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return statement{}, errors.New("Syntax errors in policy: a statement must be an object")
	}
	var st statement
	for k := range m {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return st, fmt.Errorf("Syntax errors in policy: unknown element %q", k)
		}
	}
	if v, ok := m["Sid"]; ok {
		if json.Unmarshal(v, &st.sid) != nil || !sidRe.MatchString(st.sid) {
			return st, errors.New("Statement IDs (SID) must be alpha-numeric")
		}
	}
	if _, ok := m["Effect"]; !ok {
		return st, errors.New("Missing required field Effect")
	}
	var effect string
	if json.Unmarshal(m["Effect"], &effect) != nil || (effect != "Allow" && effect != "Deny") {
		return st, errors.New(`Effect must be "Allow" or "Deny"`)
	}
	st.allow = effect == "Allow"
	if err := st.parsePrincipal(m, kind); err != nil {
		return st, err
	}
	if err := checkResource(m, kind); err != nil {
		return st, err
	}
	if err := st.parseActions(m); err != nil {
		return st, err
	}
	if c, ok := m["Condition"]; ok {
		conds, err := parseConditions(c, kind)
		if err != nil {
			return st, err
		}
		st.conditions = conds
	}
	return st, nil
}

func (st *statement) parsePrincipal(m map[string]json.RawMessage, kind policyKind) error {
	_, hasNot := m["NotPrincipal"]
	raw, has := m["Principal"]
	if kind == sessionPolicyKind {
		if has || hasNot {
			return errors.New("Policy document should not specify a principal")
		}
		return nil
	}
	if hasNot {
		return errors.New("Has prohibited field NotPrincipal: a trust policy names its principals")
	}
	if !has {
		return errors.New("Missing required field Principal")
	}
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return errors.New(`Invalid principal in policy: Principal must be "*" or an object`)
		}
		st.anyPrincipal = true
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || len(obj) == 0 {
		return errors.New("Invalid principal in policy: Principal must be an object such as {\"Federated\": ARN}")
	}
	types := make([]string, 0, len(obj))
	for t := range obj {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		switch t {
		case "Federated", "AWS", "Service", "CanonicalUser":
		default:
			return fmt.Errorf("Invalid principal in policy: unknown principal type %q", t)
		}
		vals, err := stringOrList(obj[t])
		if err != nil || len(vals) == 0 {
			return fmt.Errorf("Invalid principal in policy: %s must be a string or a non-empty list of strings", t)
		}
		for _, v := range vals {
			if v == "" {
				return fmt.Errorf("Invalid principal in policy: empty %s principal", t)
			}
			st.principals = append(st.principals, principal{typ: strings.ToLower(t), value: v})
		}
	}
	return nil
}

func checkResource(m map[string]json.RawMessage, kind policyKind) error {
	r, hasR := m["Resource"]
	nr, hasNR := m["NotResource"]
	if kind == trustPolicyKind {
		if hasR {
			return errors.New("Has prohibited field Resource")
		}
		if hasNR {
			return errors.New("Has prohibited field NotResource")
		}
		return nil
	}
	switch {
	case hasR && hasNR:
		return errors.New("Syntax errors in policy: Resource and NotResource are exclusive")
	case !hasR && !hasNR:
		return errors.New("Missing required field Resource")
	}
	if !hasR {
		r = nr
	}
	vals, err := stringOrList(r)
	if err != nil || len(vals) == 0 {
		return errors.New("Resource must be a string or a non-empty list of strings")
	}
	for _, v := range vals {
		if v != "*" && !strings.HasPrefix(v, "arn:") {
			return fmt.Errorf("Resource %q must be * or an ARN", v)
		}
	}
	return nil
}

func (st *statement) parseActions(m map[string]json.RawMessage) error {
	a, hasA := m["Action"]
	na, hasNA := m["NotAction"]
	switch {
	case hasA && hasNA:
		return errors.New("Syntax errors in policy: Action and NotAction are exclusive")
	case !hasA && !hasNA:
		return errors.New("Missing required field Action")
	}
	if hasNA {
		a, st.notAction = na, true
	}
	vals, err := stringOrList(a)
	if err != nil || len(vals) == 0 {
		return errors.New("Action must be a string or a non-empty list of strings")
	}
	for _, v := range vals {
		if v != "*" && !actionRe.MatchString(v) {
			return fmt.Errorf("Action %q must be * or service:ActionName (wildcards * and ? allowed)", v)
		}
		st.actions = append(st.actions, strings.ToLower(v))
	}
	return nil
}

// federatedPrincipals lists every Federated principal the policy names.
func (p *policy) federatedPrincipals() []string {
	var out []string
	for _, st := range p.statements {
		for _, pr := range st.principals {
			if pr.typ == "federated" {
				out = append(out, pr.value)
			}
		}
	}
	return out
}
