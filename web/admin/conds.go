package admin

import (
	"net/http"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker/mapping"
)

// The rule editor shows a flat list of conditions (all of them, or any of
// them) as rows of attribute, operator and value; nested groups need the
// YAML mode. Rows work without JavaScript: the form always carries one
// blank row, "Add condition" re-renders with another, and a row whose
// attribute is cleared is dropped.

// condRow is one condition in the editor.
type condRow struct {
	Attribute, Op, Value string
	IgnoreCase           bool
}

// condOps are the operators, in the order the editor offers them.
var condOps = []struct{ Value, Label string }{
	{"equals", "equals"}, {"not_equals", "does not equal"}, {"glob", "matches glob"}, {"regex", "matches regex"},
	{"prefix", "starts with"}, {"suffix", "ends with"}, {"exists", "exists"}, {"absent", "is absent"},
}

// condOp returns a condition's operator (a condOps value) and its
// operand; op is "" when the condition has none (a group).
func condOp(c mapping.Condition) (op, value string) {
	switch {
	case c.Equals != "":
		return "equals", c.Equals
	case c.NotEquals != "":
		return "not_equals", c.NotEquals
	case c.Glob != "":
		return "glob", c.Glob
	case c.Regex != "":
		return "regex", c.Regex
	case c.Prefix != "":
		return "prefix", c.Prefix
	case c.Suffix != "":
		return "suffix", c.Suffix
	case c.Exists:
		return "exists", ""
	case c.Absent:
		return "absent", ""
	}
	return "", ""
}

// rowsOf returns the rows of a flat group, or ok=false when it nests.
func rowsOf(g mapping.Group) (rows []condRow, match string, ok bool) {
	list, match := g.All, "all"
	if len(g.All) > 0 && len(g.Any) > 0 {
		return nil, "", false
	}
	if len(g.Any) > 0 {
		list, match = g.Any, "any"
	}
	for _, c := range list {
		if len(c.All) > 0 || len(c.Any) > 0 {
			return nil, "", false
		}
		op, value := condOp(c)
		if op == "" {
			return nil, "", false // no operator: let YAML show it as it is
		}
		r := condRow{Attribute: c.Attribute, Op: op, Value: value, IgnoreCase: c.IgnoreCase}
		rows = append(rows, r)
	}
	return rows, match, true
}

// groupOf builds the group the rows describe (blank rows dropped) and the
// index in the group of each kept row's form row.
func groupOf(rows []condRow, match string) (mapping.Group, []int) {
	var list []mapping.Condition
	var idx []int
	for i, r := range rows {
		if strings.TrimSpace(r.Attribute) == "" {
			continue
		}
		c := mapping.Condition{Attribute: strings.TrimSpace(r.Attribute), IgnoreCase: r.IgnoreCase}
		switch r.Op {
		case "equals", "":
			c.Equals = r.Value
		case "not_equals":
			c.NotEquals = r.Value
		case "glob":
			c.Glob = r.Value
		case "regex":
			c.Regex = r.Value
		case "prefix":
			c.Prefix = r.Value
		case "suffix":
			c.Suffix = r.Value
		case "exists":
			c.Exists = true
		case "absent":
			c.Absent = true
		}
		list = append(list, c)
		idx = append(idx, i)
	}
	if match == "any" {
		return mapping.Group{Any: list}, idx
	}
	return mapping.Group{All: list}, idx
}

// rowsFromRequest reads the editor's rows (parallel cond.* fields).
func rowsFromRequest(r *http.Request) []condRow {
	f := r.PostForm
	attrs, ops, vals, cases := f["cond.attribute"], f["cond.op"], f["cond.value"], f["cond.case"]
	var rows []condRow
	for i := range attrs {
		if i >= 100 {
			break // a rule with more conditions belongs in YAML
		}
		row := condRow{Attribute: attrs[i]}
		if i < len(ops) {
			row.Op = ops[i]
		}
		if i < len(vals) {
			row.Value = vals[i]
		}
		if i < len(cases) {
			row.IgnoreCase = cases[i] == "ignore"
		}
		rows = append(rows, row)
	}
	return rows
}

// withBlankRow returns rows with one empty row at the end.
func withBlankRow(rows []condRow) []condRow {
	var out []condRow
	for _, r := range rows {
		if strings.TrimSpace(r.Attribute) != "" {
			out = append(out, r)
		}
	}
	return append(out, condRow{Op: "equals"})
}

// rowField maps a compile error's path under when.all[i] / when.any[i] to
// the editor row it came from.
func rowField(path string, idx []int) (string, bool) {
	for _, pre := range []string{"when.all[", "when.any["} {
		rest, ok := strings.CutPrefix(path, pre)
		if !ok {
			continue
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", false
		}
		n, err := strconv.Atoi(rest[:end])
		if err != nil || n >= len(idx) {
			return "", false
		}
		return "cond." + strconv.Itoa(idx[n]), true
	}
	return "", false
}

// whenYAML renders a group for the YAML mode.
func whenYAML(g mapping.Group) string {
	if len(g.All) == 0 && len(g.Any) == 0 {
		return ""
	}
	b, err := mapping.MarshalYAML(g)
	if err != nil {
		b, _ = yaml.Marshal(g) // shown as is; saving says what is wrong
	}
	return string(b)
}
