package ruleset

import (
	"context"
	"encoding/json"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// Simulation is what the rules decide for one identity, with the
// rule-by-rule trace. It is plain data: the admin UI and the API format it.
type Simulation struct {
	Identity *broker.Identity
	Grants   []broker.Grant // in rule order
	Trace    []mapping.RuleTrace
}

// Simulate evaluates rules for id: candidate rules (compiled with the
// store's current accounts; EINVALID with Problems when they do not
// compile), or, when rules is nil, the rules in force (the local Source's
// engine, or the store's rules when there is no Source). Nothing changes.
func (a *Admin) Simulate(ctx context.Context, rules []mapping.Rule, id *broker.Identity) (Simulation, error) {
	eng, err := a.engine(ctx, rules)
	if err != nil {
		return Simulation{}, err
	}
	// Pasted attributes say MFA as the rules read it ("mfa": "true");
	// without it, a pasted response or claims set is read with the
	// default MFA values of its protocol (a provider's mfa_values may
	// differ: a recent sign-in carries the real answer).
	switch v := id.First(broker.AttrMFA); {
	case v != "":
		id.MFA = v == "true"
	case id.Protocol == broker.ProtocolOIDC:
		broker.SetMFA(id, broker.DefaultOIDCMFAValues)
	case id.Protocol == broker.ProtocolSAML:
		broker.SetMFA(id, broker.DefaultSAMLMFAValues)
	}
	return simulate(eng, id), nil
}

func simulate(e *mapping.Engine, id *broker.Identity) Simulation {
	d := e.Evaluate(id)
	return Simulation{Identity: id, Grants: d.Grants, Trace: d.Trace()}
}

// engine compiles candidate rules with the store's accounts, or returns
// the engine in force when rules is nil.
func (a *Admin) engine(ctx context.Context, rules []mapping.Rule) (*mapping.Engine, error) {
	if rules == nil && a.src != nil {
		return a.src.Engine(), nil
	}
	c, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	var bad Problems
	if rules == nil {
		rules, bad = c.candidate("", nil)
	}
	eng, ps := a.check(rules, bad, c.accounts)
	if ps != nil {
		return nil, invalid(ps, ReasonRulesInvalid, "The rules do not compile.")
	}
	return eng, nil
}

// RecentIdentity returns the identity of the latest sign-in of subject at
// provider, from the sign-ins kept for the simulator (ENOTFOUND
// signin_unknown when it is not among them).
func (a *Admin) RecentIdentity(ctx context.Context, provider, subject string) (*broker.Identity, error) {
	ins, err := a.st.RecentSignIns(ctx, 5000)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if in.Provider == provider && in.Subject == subject {
			return decodeIdentity(in.Identity)
		}
	}
	return nil, broker.Errorf(broker.ENOTFOUND, "signin_unknown", "That sign-in is no longer in the recent list.")
}

// decodeIdentity reads a stored sign-in's identity.
func decodeIdentity(b []byte) (*broker.Identity, error) {
	var id broker.Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return nil, err
	}
	if id.Attributes == nil {
		id.Attributes = map[string][]string{}
	}
	return &id, nil
}
