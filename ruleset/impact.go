package ruleset

import (
	"context"
	"sort"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// DefaultImpactSignIns is how many recent sign-ins ImpactPreview checks
// when asked for 0.
const DefaultImpactSignIns = 1000

// Impact compares what two rule sets grant to the people who signed in
// recently.
type Impact struct {
	Checked int              // sign-ins compared
	Changed []IdentityImpact // only the people whose roles change, newest sign-in first
}

// IdentityImpact is how one person's roles change.
type IdentityImpact struct {
	Identity     *broker.Identity
	Gained, Lost []broker.Grant // sorted by Grant.Key
}

// ImpactPreview evaluates before and after for each of the last signIns
// sign-ins (0: DefaultImpactSignIns) and returns who gains or loses which
// role. A nil rule list is the rules in force (see Simulate); candidate
// rules that do not compile are EINVALID with Problems. Nothing changes.
func (a *Admin) ImpactPreview(ctx context.Context, before, after []mapping.Rule, signIns int) (Impact, error) {
	var rep Impact
	was, err := a.engine(ctx, before)
	if err != nil {
		return rep, err
	}
	now, err := a.engine(ctx, after)
	if err != nil {
		return rep, err
	}
	if signIns <= 0 {
		signIns = DefaultImpactSignIns
	}
	ins, err := a.st.RecentSignIns(ctx, signIns)
	if err != nil {
		return rep, err
	}
	for _, in := range ins {
		id, err := decodeIdentity(in.Identity)
		if err != nil {
			continue
		}
		rep.Checked++
		b, n := grantSet(was.Evaluate(id)), grantSet(now.Evaluate(id))
		row := IdentityImpact{Identity: id, Gained: missing(n, b), Lost: missing(b, n)}
		if len(row.Gained)+len(row.Lost) > 0 {
			rep.Changed = append(rep.Changed, row)
		}
	}
	return rep, nil
}

// grantSet keys grants by role, provider and downstream.
func grantSet(d mapping.Decision) map[string]broker.Grant {
	m := map[string]broker.Grant{}
	for _, g := range d.Grants {
		m[g.Key()] = g
	}
	return m
}

// missing returns the grants of a whose key b lacks, sorted by key.
func missing(a, b map[string]broker.Grant) []broker.Grant {
	var out []broker.Grant
	for k, g := range a {
		if _, ok := b[k]; !ok {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}
