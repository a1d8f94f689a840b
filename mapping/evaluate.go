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
	// NeedsMFA is true when an allow rule's conditions held but the rule
	// requires MFA and the sign-in had none: a sign-in with MFA would give
	// more roles.
	NeedsMFA bool
	trace    *trace
}

// RuleTrace explains one rule's outcome.
type RuleTrace struct {
	Rule    string
	Effect  string // "allow" or "deny"
	Outcome Outcome
	Reason  string // why it did not match, was skipped or denied
	// Plain is Reason in an admin's words ("groups has no value equal to
	// engineering"), for pages; Reason is the engine's form (condition
	// path and operator), for logs and the API.
	Plain  string   `json:"-"`
	Grants []string // keys of the grants it contributed
	Notes  []string // grants dropped (invalid expansion, duplicate, denied) and why
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
			tr.Outcome, tr.Reason, tr.Plain = Skipped, "disabled", "the rule is disabled"
		case codeOutOfScope:
			tr.Outcome, tr.Reason = Skipped, "provider "+quote(t.provider)+" is not in the rule's scope"
			tr.Plain = "the rule is only for other identity providers than " + t.provider
		case codeIndexMissAbsent:
			tr.Outcome, tr.Reason, tr.Plain = NotMatched, r.indexed.failAbsent, r.indexed.plainAbsent()
		case codeIndexMiss:
			tr.Outcome, tr.Reason, tr.Plain = NotMatched, r.indexed.failNoMatch, r.indexed.plainNoMatch()
		case codeFailed:
			tr.Outcome, tr.Reason = NotMatched, t.failed[fi].reason
			tr.Plain = r.plainReason(tr.Reason)
			fi++
		case codeDetailed:
			*tr = *t.detailed[di]
			tr.Plain = tr.Reason
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
	ev := evaluation{e: e, id: id, v: view{attrs: id.Attributes},
		t: &trace{e: e, provider: id.Provider, codes: make([]uint8, len(e.rules))}}
	codes, candidates := ev.t.codes, e.candidates(id)
	present := make([]bool, len(e.indexAttrs)) // by index slot: the identity has the attribute
	for i, a := range e.indexAttrs {
		present[i] = len(id.Attributes[a]) > 0
	}
	for i, h := range e.hot {
		switch {
		case h.disabled:
			codes[i] = codeDisabled
		case h.scoped && !e.rules[i].providers[id.Provider]:
			codes[i] = codeOutOfScope
		case h.slot >= 0 && (candidates == nil || !candidates[i]):
			// Its indexed equals condition cannot hold.
			codes[i] = codeIndexMiss
			if !present[h.slot] {
				codes[i] = codeIndexMissAbsent
			}
		default:
			codes[i] = ev.rule(i)
		}
	}
	ev.applyDenies()
	d := Decision{Grants: ev.uniqueGrants(), NeedsMFA: ev.needsMFA, trace: ev.t}
	ev.t.markDenied()
	return d
}

// reasonNeedsMFA is the trace reason of a rule that held but requires MFA.
const reasonNeedsMFA = "the rule requires a multi-factor sign-in and this sign-in did not assert MFA"

// evaluation is the working state of one Evaluate call (a value on its
// stack: the view and the skip tables stay off the heap).
type evaluation struct {
	e      *Engine
	id     *broker.Identity
	v      view
	t      *trace
	grants []ownedGrant
	denies []matchedDeny
	// needsMFA: a rule failed only for want of MFA.
	needsMFA bool
}

// ownedGrant is a grant with the trace of the rule that produced it.
type ownedGrant struct {
	g  broker.Grant
	tr *RuleTrace
}

// matchedDeny is a deny rule whose conditions held.
type matchedDeny struct {
	tr *RuleTrace
	r  *compiledRule
}

// rule tests rule i's conditions and returns its trace code. A matching
// allow rule adds its grants; a matching deny rule is kept for applyDenies.
func (ev *evaluation) rule(i int) uint8 {
	r := ev.e.rules[i]
	var bs []binding
	if r.root != nil {
		ok, got, reason := r.root.eval(&ev.v)
		if !ok {
			ev.t.failed = append(ev.t.failed, failure{i, reason})
			return codeFailed
		}
		bs = got
	}
	if r.mfa && !ev.id.MFA {
		ev.needsMFA = true
		ev.t.failed = append(ev.t.failed, failure{i, reasonNeedsMFA})
		return codeFailed
	}
	tr := &RuleTrace{Rule: r.name, Effect: "allow", Outcome: Matched}
	ev.t.detailed = append(ev.t.detailed, tr)
	if r.deny {
		tr.Effect = "deny"
		ev.denies = append(ev.denies, matchedDeny{tr, r})
		return codeDetailed
	}
	ev.addGrants(r, bs, tr)
	return codeDetailed
}

// addGrants expands allow rule r once per capture binding (once when it
// captured nothing); a rule that yields no grant says why in its Reason.
func (ev *evaluation) addGrants(r *compiledRule, bs []binding, tr *RuleTrace) {
	if bs == nil {
		bs = []binding{nil}
	}
	n := len(ev.grants)
	for _, b := range bs {
		for _, g := range ev.e.expand(r, ev.id, b, tr) {
			ev.grants = append(ev.grants, ownedGrant{g, tr})
		}
	}
	if len(ev.grants) == n && len(tr.Notes) > 0 {
		tr.Reason = "matched, but no grant could be built: " + tr.Notes[0]
	}
}

// applyDenies drops every allow grant a matching deny rule covers (deny
// rules win), noting it on both rules' traces.
func (ev *evaluation) applyDenies() {
	if len(ev.denies) == 0 {
		return
	}
	kept := ev.grants[:0]
	for _, og := range ev.grants {
		by := ev.deniedBy(og.g)
		if by == nil {
			kept = append(kept, og)
			continue
		}
		by.Notes = append(by.Notes, "denied "+og.g.RoleARN+" from rule "+og.tr.Rule)
		og.tr.Notes = append(og.tr.Notes, og.g.RoleARN+" denied by rule "+by.Rule)
	}
	ev.grants = kept
}

// deniedBy returns the trace of the first matching deny rule covering g.
func (ev *evaluation) deniedBy(g broker.Grant) *RuleTrace {
	for _, d := range ev.denies {
		if d.r.grant.covers(g) {
			return d.tr
		}
	}
	return nil
}

// uniqueGrants returns the surviving grants in order, each key once; a
// repeat is noted on the rule that produced it.
func (ev *evaluation) uniqueGrants() []broker.Grant {
	var out []broker.Grant
	seen := make(map[string]string, len(ev.grants))
	for _, og := range ev.grants {
		k := og.g.Key()
		if first, dup := seen[k]; dup {
			og.tr.Notes = append(og.tr.Notes, og.g.RoleARN+" already granted by rule "+first)
			continue
		}
		seen[k] = og.tr.Rule
		out = append(out, og.g)
		og.tr.Grants = append(og.tr.Grants, k)
	}
	return out
}

// markDenied gives Outcome Denied to matched allow rules that contributed
// no grant because deny rules removed every one.
func (t *trace) markDenied() {
	for _, tr := range t.detailed {
		if tr.Effect == "allow" && len(tr.Grants) == 0 && len(tr.Notes) > 0 && allDenied(tr.Notes) {
			tr.Outcome, tr.Reason = Denied, tr.Notes[0]
		}
	}
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
