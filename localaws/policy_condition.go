package localaws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// setOp is a condition's set operator prefix.
type setOp int

const (
	setNone      setOp = iota
	setAnyValue        // ForAnyValue:
	setAllValues       // ForAllValues:
)

// condition is one (operator, key, values) test of a Condition block.
type condition struct {
	operator string // as written, e.g. ForAnyValue:StringLikeIfExists
	base     string // without qualifiers, e.g. StringLike
	set      setOp
	ifExists bool
	key      string // lower-cased: IAM condition keys are case-insensitive
	values   []string
}

// knownOperator reports whether base is an IAM condition operator.
func knownOperator(base string) bool {
	switch base {
	case "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
		"StringLike", "StringNotLike",
		"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
		"NumericGreaterThan", "NumericGreaterThanEquals",
		"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
		"Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
		"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null":
		return true
	}
	return false
}

// evaluableOperator reports whether this package evaluates base (the
// operators a trust policy may use here).
func evaluableOperator(base string) bool {
	switch base {
	case "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
		"StringLike", "StringNotLike", "Bool", "Null":
		return true
	}
	return false
}

func splitOperator(op string) (setOp, string, bool) {
	set := setNone
	if rest, ok := strings.CutPrefix(op, "ForAnyValue:"); ok {
		set, op = setAnyValue, rest
	} else if rest, ok := strings.CutPrefix(op, "ForAllValues:"); ok {
		set, op = setAllValues, rest
	}
	base, ifExists := strings.CutSuffix(op, "IfExists")
	return set, base, ifExists
}

func parseConditions(raw json.RawMessage, kind policyKind) ([]condition, error) {
	var ops map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ops); err != nil || ops == nil {
		return nil, errors.New("Syntax errors in policy: Condition must be an object")
	}
	var out []condition
	for _, op := range sortedKeys(ops) {
		set, base, ifExists := splitOperator(op)
		if !knownOperator(base) {
			return nil, fmt.Errorf("Invalid Condition type : %s", op)
		}
		if base == "Null" && (set != setNone || ifExists) {
			return nil, fmt.Errorf("Invalid Condition type : %s (Null takes no qualifier)", op)
		}
		if kind == trustPolicyKind && !evaluableOperator(base) {
			return nil, fmt.Errorf("condition operator %s is not supported by localaws in trust policies (use String*, Bool or Null)", op)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(ops[op], &keys); err != nil || len(keys) == 0 {
			return nil, fmt.Errorf("Syntax errors in policy: %s must map condition keys to values", op)
		}
		for _, k := range sortedKeys(keys) {
			if !strings.Contains(k, ":") || strings.HasPrefix(k, ":") {
				return nil, fmt.Errorf("Syntax errors in policy: condition key %q must look like prefix:name", k)
			}
			vals, err := stringOrList(keys[k])
			if err != nil || len(vals) == 0 {
				return nil, fmt.Errorf("Syntax errors in policy: %s %s must be a string or a non-empty list of strings", op, k)
			}
			if base == "Null" && len(vals) == 1 && vals[0] != "true" && vals[0] != "false" {
				return nil, fmt.Errorf("Null %s must be \"true\" or \"false\"", k)
			}
			if kind == trustPolicyKind {
				for _, v := range vals {
					if strings.Contains(v, "${") {
						return nil, fmt.Errorf("%s %s: policy variables (${...}) are not supported by localaws", op, k)
					}
				}
			}
			out = append(out, condition{operator: op, base: base, set: set, ifExists: ifExists, key: strings.ToLower(k), values: vals})
		}
	}
	return out, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkJSONObject checks that data is exactly one JSON object with no
// duplicate keys at any level (encoding/json would silently keep the last).
func checkJSONObject(data []byte) error {
	type frame struct {
		obj       bool
		expectKey bool
		keys      map[string]bool
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*frame
	done := false
	afterValue := func() {
		if len(stack) == 0 {
			done = true
			return
		}
		if top := stack[len(stack)-1]; top.obj {
			top.expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if done {
			return errors.New("unexpected data after the policy object")
		}
		if len(stack) == 0 {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return errors.New("the policy must be a JSON object")
			}
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				afterValue()
				continue
			}
			k, _ := tok.(string)
			if stack[n-1].keys[k] {
				return fmt.Errorf("duplicate key %q", k)
			}
			stack[n-1].keys[k], stack[n-1].expectKey = true, false
			continue
		}
		switch d, _ := tok.(json.Delim); d {
		case '{':
			stack = append(stack, &frame{obj: true, expectKey: true, keys: map[string]bool{}})
		case '[':
			stack = append(stack, &frame{})
		case '}', ']':
			stack = stack[:len(stack)-1]
			afterValue()
		default:
			afterValue()
		}
	}
	if !done {
		return errors.New("unexpected end of JSON")
	}
	return nil
}

// stringOrList decodes a JSON string or list of strings. Numbers and
// booleans are taken as their text, as IAM does for condition values.
func stringOrList(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var one any
	if err := dec.Decode(&one); err != nil {
		return nil, err
	}
	list, isList := one.([]any)
	if !isList {
		list = []any{one}
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		switch t := v.(type) {
		case string:
			out = append(out, t)
		case json.Number:
			out = append(out, t.String())
		case bool:
			out = append(out, fmt.Sprint(t))
		default:
			return nil, errors.New("values must be strings")
		}
	}
	return out, nil
}

func nonSpaceLen(s string) int {
	n := 0
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			n++
		}
	}
	return n
}
