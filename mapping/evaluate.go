package mapping

import (
	"strings"

	"github.com/broker-dev/broker"
)

// Outcome says what a rule did for one identity.
type Outcome string

const (
	Matched    Outcome = "matched"     // conditions held; its grants (if any survived) are in the decision
	NotMatched Outcome = "not_matched" // a condition did not hold: Reason says which
	Denied     Outcome = "denied"      // an allow rule whose every grant a deny rule removed
	Skipped    Outcome = "skipped"     // disabled, or out of its provider scope
)

// Decision is the result of evaluating the rules for one identity.
type Decision struct {
	Grants []broker.Grant // deduplicated by Key(), in rule order then value order
	trace  *trace
}

// RuleTrace explains one rule's outcome.
type RuleTrace struct {
	Rule    string
	Effect  string // "allow" or "deny"
	Outcome Outcome
	Reason  string   // why it did not match, was skipped or denied
	Grants  []string // keys of the grants it contributed
	Notes   []string // grants dropped (invalid expansion, duplicate, denied) and why
}

// trace is the compact record Evaluate keeps: one byte per rule, details
// only for the rules it actually evaluated. Trace() expands it on demand,
// so evaluating 10,000 rules does not build 10,000 structs nobody reads.
type trace struct {
	e        *Engine
	provider string
	codes    []uint8
	failed   []failure    // evaluated rules that did not match, in rule order
	detailed []*RuleTrace // matched rules, in rule order
}

type failure struct {
	idx    int
	reason string
}

const (
	codeIndexMissAbsent uint8 = iota + 1
	codeIndexMiss
	codeDisabled
	codeOutOfScope
	codeFailed
	codeDetailed
)

// Trace returns one entry per rule, in rule order.
func (d Decision) Trace() []RuleTrace {
	t := d.trace
	if t == nil {
		return nil
	}
	out := make([]RuleTrace, len(t.codes))
	fi, di := 0, 0
	for i, code := range t.codes {
		r := t.e.rules[i]
		tr := &out[i]
		tr.Rule, tr.Effect = r.name, "allow"
		if r.deny {
			tr.Effect = "deny"
		}
		switch code {
		case codeDisabled:
			tr.Outcome, tr.Reason = Skipped, "disabled"
		case codeOutOfScope:
			tr.Outcome, tr.Reason = Skipped, "provider "+quote(t.provider)+" is not in the rule's scope"
		case codeIndexMissAbsent:
			tr.Outcome, tr.Reason = NotMatched, r.indexed.failAbsent
		case codeIndexMiss:
			tr.Outcome, tr.Reason = NotMatched, r.indexed.failNoMatch
		case codeFailed:
			tr.Outcome, tr.Reason = NotMatched, t.failed[fi].reason
			fi++
		case codeDetailed:
			*tr = *t.detailed[di]
			di++
		}
	}
	return out
}

// Evaluate applies the rules to id. It is pure, deterministic, never
// panics, and is safe for concurrent use.
func (e *Engine) Evaluate(id *broker.Identity) Decision {
	if id == nil {
		id = &broker.Identity{}
	}
	v := &view{attrs: id.Attributes}
	candidates := e.candidates(id)
	t := &trace{e: e, provider: id.Provider, codes: make([]uint8, len(e.rules))}
	type owned struct {
		g  broker.Grant
		tr *RuleTrace
	}
	var grants []owned
	var denies []*RuleTrace
	denyRule := map[*RuleTrace]*compiledRule{}
	present := make([]bool, len(e.indexAttrs))
	for i, a := range e.indexAttrs {
		present[i] = len(id.Attributes[a]) > 0
	}
	for i := range e.hot {
		h := e.hot[i]
		switch {
		case h.disabled:
			t.codes[i] = codeDisabled
			continue
		case h.slot >= 0 && (candidates == nil || !candidates[i]) && !h.scoped:
			t.codes[i] = codeIndexMiss
			if !present[h.slot] {
				t.codes[i] = codeIndexMissAbsent
			}
			continue
		}
		r := e.rules[i]
		switch {
		case r.providers != nil && !r.providers[id.Provider]:
			t.codes[i] = codeOutOfScope
			continue
		case h.slot >= 0 && (candidates == nil || !candidates[i]):
			t.codes[i] = codeIndexMiss
			if !present[h.slot] {
				t.codes[i] = codeIndexMissAbsent
			}
			continue
		}
		bs := []binding{nil}
		if r.root != nil {
			ok, got, reason := r.root.eval(v)
			if !ok {
				t.codes[i] = codeFailed
				t.failed = append(t.failed, failure{i, reason})
				continue
			}
			if got != nil {
				bs = got
			}
		}
		tr := &RuleTrace{Rule: r.name, Effect: "allow", Outcome: Matched}
		t.codes[i] = codeDetailed
		t.detailed = append(t.detailed, tr)
		if r.deny {
			tr.Effect = "deny"
			denies = append(denies, tr)
			denyRule[tr] = r
			continue
		}
		n := len(grants)
		for _, b := range bs {
			for _, g := range e.expand(r, id, b, tr) {
				grants = append(grants, owned{g, tr})
			}
		}
		if len(grants) == n && len(tr.Notes) > 0 {
			tr.Reason = "matched, but no grant could be built: " + tr.Notes[0]
		}
	}
	// Deny rules win: drop every allow grant a matching deny rule covers.
	if len(denies) > 0 {
		kept := grants[:0]
		for _, og := range grants {
			var by *RuleTrace
			for _, dt := range denies {
				if denyRule[dt].grant.covers(og.g) {
					by = dt
					break
				}
			}
			if by == nil {
				kept = append(kept, og)
				continue
			}
			by.Notes = append(by.Notes, "denied "+og.g.RoleARN+" from rule "+og.tr.Rule)
			og.tr.Notes = append(og.tr.Notes, og.g.RoleARN+" denied by rule "+by.Rule)
		}
		grants = kept
	}
	d := Decision{trace: t}
	seen := make(map[string]string, len(grants))
	for _, og := range grants {
		k := og.g.Key()
		if first, dup := seen[k]; dup {
			og.tr.Notes = append(og.tr.Notes, og.g.RoleARN+" already granted by rule "+first)
			continue
		}
		seen[k] = og.tr.Rule
		d.Grants = append(d.Grants, og.g)
		og.tr.Grants = append(og.tr.Grants, k)
	}
	for _, tr := range t.detailed {
		if tr.Effect == "allow" && len(tr.Grants) == 0 && len(tr.Notes) > 0 && allDenied(tr.Notes) {
			tr.Outcome, tr.Reason = Denied, tr.Notes[0]
		}
	}
	return d
}

func allDenied(notes []string) bool {
	for _, n := range notes {
		if !strings.Contains(n, " denied by rule ") {
			return false
		}
	}
	return true
}

// candidates marks the indexed rules whose equals condition can hold.
func (e *Engine) candidates(id *broker.Identity) []bool {
	var out []bool
	for attr, byValue := range e.index {
		for _, val := range id.Attributes[attr] {
			for _, ri := range byValue[val] {
				if out == nil {
					out = make([]bool, len(e.rules))
				}
				out[ri] = true
			}
		}
	}
	return out
}

// covers reports whether a deny rule's pattern matches g.
func (g compiledGrant) covers(gr broker.Grant) bool {
	if g.accountPat != nil && !g.accountPat.MatchString(gr.AccountID) {
		return false
	}
	if g.rolePat != nil && !matchRole(g.rolePat, gr.RoleARN) {
		return false
	}
	return true
}

func quote(s string) string { return `"` + s + `"` }
