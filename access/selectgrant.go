package access

import (
	"regexp"
	"strings"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// RoleRef names a role the way people and scripts write it: the account
// by id, alias or label (or left out when Role is an ARN), the role by
// ARN, name, path/name or label, and optionally the downstream (saml or
// web-identity) when the rules grant the role both ways. Deep links, the
// credentials API and the command line all name roles so.
type RoleRef struct {
	Account, Role string
	Via           broker.Downstream
}

var accountIDRe = regexp.MustCompile(`^[0-9]{12}$`)

// SelectGrant returns the grant ref names among d's grants: the first in
// the rules' order (the portal's), by role ARN, else by name or
// path/name, else by label. accounts are the configured ones (aliases and
// labels). A role not granted is EFORBIDDEN ReasonRoleNotGranted with a
// message naming the role and the account in words.
func SelectGrant(d mapping.Decision, accounts []mapping.Account, ref RoleRef) (broker.Grant, error) {
	acct := lookupAccount(ref, accounts, d.Grants)
	var byName, byLabel []broker.Grant
	for _, g := range d.Grants {
		if !acct.ids[g.AccountID] || (ref.Via != "" && g.Downstream != ref.Via) {
			continue
		}
		if strings.HasPrefix(ref.Role, "arn:") {
			if g.RoleARN == ref.Role {
				return g, nil
			}
			continue
		}
		arn, _ := broker.ParseARN(g.RoleARN)
		switch {
		case strings.EqualFold(arn.Name(), ref.Role) || strings.EqualFold(strings.TrimPrefix(arn.Resource, "role/"), ref.Role):
			byName = append(byName, g)
		case strings.EqualFold(g.Label, ref.Role):
			byLabel = append(byLabel, g)
		}
	}
	if len(byName) > 0 {
		return byName[0], nil
	}
	if len(byLabel) > 0 {
		return byLabel[0], nil
	}
	return broker.Grant{}, notGranted(ref, acct, d.NeedsMFA)
}

// accountRef is the account a reference names: the ids it may mean and
// how to say it to a person.
type accountRef struct {
	ids   map[string]bool
	words string
}

// lookupAccount reads ref's account (or the account of its role ARN): an
// account id, else an alias of the configured accounts, else a label (of
// a configured account or of one of the person's grants).
func lookupAccount(ref RoleRef, configured []mapping.Account, grants []broker.Grant) accountRef {
	name := ref.Account
	if name == "" {
		arn, _ := broker.ParseARN(ref.Role)
		name = arn.AccountID
	}
	out := accountRef{ids: map[string]bool{}}
	if accountIDRe.MatchString(name) {
		out.ids[name] = true
	} else {
		for _, a := range configured {
			if a.Alias != "" && strings.EqualFold(a.Alias, name) {
				out.ids[a.ID] = true
			}
		}
		if len(out.ids) == 0 {
			for _, a := range configured {
				if a.Label != "" && strings.EqualFold(a.Label, name) {
					out.ids[a.ID] = true
				}
			}
			for _, g := range grants {
				if strings.EqualFold(g.AccountLabel, name) {
					out.ids[g.AccountID] = true
				}
			}
		}
	}
	out.words = name
	if len(out.ids) == 1 {
		for id := range out.ids {
			out.words = accountWords(id, configured, grants)
		}
	}
	return out
}

// accountWords is "Production (444455556666)", or the id alone when the
// account has no name.
func accountWords(id string, configured []mapping.Account, grants []broker.Grant) string {
	label := ""
	for _, a := range configured {
		if a.ID == id {
			label = a.Label
			if label == "" {
				label = a.Alias
			}
		}
	}
	for _, g := range grants {
		if label == "" && g.AccountID == id && g.AccountLabel != id {
			label = g.AccountLabel
		}
	}
	if label == "" || label == id {
		return id
	}
	return label + " (" + id + ")"
}

// notGranted names, in words, the role and account the person lacks.
func notGranted(ref RoleRef, acct accountRef, needsMFA bool) error {
	role := ref.Role
	if strings.HasPrefix(role, "arn:") {
		arn, _ := broker.ParseARN(role)
		role = arn.Name()
	}
	msg := "You do not have the role " + role + " in " + acct.words
	if ref.Via != "" {
		msg += " through " + string(ref.Via)
	}
	msg += ". Pick one of the roles listed on the portal, or ask your administrator for this one."
	if needsMFA {
		msg += " Some roles appear only after a sign-in with multi-factor authentication."
	}
	return broker.Errorf(broker.EFORBIDDEN, ReasonRoleNotGranted, "%s", msg)
}
