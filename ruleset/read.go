package ruleset

import (
	"context"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// Change is one entry of a rule's history, as the store records it: the
// rule after the change in its stored encoding (Decode; nil for a delete).
type Change = store.RuleChange

// History returns the changes of the rule named name, newest first
// (ENOTFOUND rule_not_found when it never existed).
func (a *Admin) History(ctx context.Context, name string) ([]Change, error) {
	h, err := a.st.RuleHistory(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(h) == 0 {
		return nil, errNotFound(name)
	}
	return h, nil
}

// Deleted returns the deletions of rules that do not exist now, newest
// first, so that they can be found and restored.
func (a *Admin) Deleted(ctx context.Context) ([]Change, error) {
	return a.st.DeletedRules(ctx)
}

// RecentSignIn is a person's latest sign-in as kept for the simulator and
// the impact preview: the verified identity, without credentials.
type RecentSignIn struct {
	Time              time.Time
	Provider, Subject string
	Identity          *broker.Identity
}

// RecentSignIns returns up to limit of the latest sign-ins, newest first;
// one whose identity cannot be read is left out.
func (a *Admin) RecentSignIns(ctx context.Context, limit int) ([]RecentSignIn, error) {
	ins, err := a.st.RecentSignIns(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]RecentSignIn, 0, len(ins))
	for _, in := range ins {
		id, err := decodeIdentity(in.Identity)
		if err != nil {
			a.log.WarnContext(ctx, "unreadable recent sign-in", "provider", in.Provider, "subject", in.Subject, "err", err)
			continue
		}
		out = append(out, RecentSignIn{Time: in.Time, Provider: in.Provider, Subject: in.Subject, Identity: id})
	}
	return out, nil
}

// Accounts returns the account aliases in force on this instance (the
// store's when there is no Source).
func (a *Admin) Accounts(ctx context.Context) ([]mapping.Account, error) {
	if a.src != nil {
		return a.src.State().Accounts, nil
	}
	c, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	return c.accounts, nil
}
