package access

import (
	"sort"
	"strings"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// ListedRole is one role as the portal lists it (and the roles API and
// the command line after it): the grant, the account in words, and the
// reference that names the role in a /go link.
type ListedRole struct {
	Grant broker.Grant
	// AccountLabel is the account's heading: the grant's account label,
	// else the account id. AccountAlias is the configured alias ("" when none).
	AccountLabel, AccountAlias string
	// RoleName is the role's name, the last path element of its ARN.
	RoleName string
	// Ref names this role in words: the account's alias (else its id),
	// the role's name, and the downstream when a role of the same name
	// comes earlier in the account (so SelectGrant picks exactly this one).
	Ref RoleRef
	// RequiresMFA says the rule granting it requires a multi-factor
	// sign-in (set by Service.Roles; ListRoles does not know the rules).
	RequiresMFA bool
}

// ListRoles orders d's grants as the portal shows them: accounts by their
// label (case-insensitive, stable), and within an account the rules'
// order. accounts are the configured ones (aliases).
func ListRoles(d mapping.Decision, accounts []mapping.Account) []ListedRole {
	aliases := make(map[string]string, len(accounts))
	for _, a := range accounts {
		aliases[a.ID] = a.Alias
	}
	byAcct := map[string][]ListedRole{}
	var order []string
	for _, g := range d.Grants {
		if _, ok := byAcct[g.AccountID]; !ok {
			order = append(order, g.AccountID)
		}
		label := g.AccountLabel
		if label == "" {
			label = g.AccountID
		}
		arn, _ := broker.ParseARN(g.RoleARN)
		byAcct[g.AccountID] = append(byAcct[g.AccountID], ListedRole{
			Grant: g, AccountLabel: label, AccountAlias: aliases[g.AccountID], RoleName: arn.Name(),
		})
	}
	sort.SliceStable(order, func(i, j int) bool {
		return strings.ToLower(byAcct[order[i]][0].AccountLabel) < strings.ToLower(byAcct[order[j]][0].AccountLabel)
	})
	out := make([]ListedRole, 0, len(d.Grants))
	for _, id := range order {
		seen := map[string]bool{}
		for _, r := range byAcct[id] {
			r.Ref = RoleRef{Account: r.AccountAlias, Role: r.RoleName}
			if r.Ref.Account == "" {
				r.Ref.Account = id
			}
			name := strings.ToLower(r.RoleName)
			if seen[name] {
				r.Ref.Via = r.Grant.Downstream
			}
			seen[name] = true
			out = append(out, r)
		}
	}
	return out
}

// Roles lists the roles the rules give id now, in the portal's order
// (ListRoles), with RequiresMFA from the rules that granted them. One
// rule set is used throughout.
func (s *Service) Roles(id *broker.Identity) []ListedRole {
	e := s.cfg.Rules.Engine()
	out := ListRoles(e.Evaluate(id), e.Accounts())
	mfa := map[string]bool{}
	for _, r := range e.Rules() {
		if r.RequireMFA {
			mfa[r.Name] = true
		}
	}
	for i := range out {
		out[i].RequiresMFA = mfa[out[i].Grant.Rule]
	}
	return out
}
