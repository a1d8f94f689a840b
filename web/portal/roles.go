package portal

import (
	"strconv"
	"strings"
	"time"

	"github.com/broker-dev/broker"
)

// The portal's list of roles at real-company scale (hundreds of accounts):
//
//	pinned    the person's favourites (store), in pin order
//	recent    roles they opened lately (their own role_assumed audit events), not pinned
//	accounts  every role by account, collapsible; open when there are few or a search
//	today     console sessions they opened today, with their end
//
// A search (?q=, words matched in any order against the account's id,
// alias and label and the role's label, name and description) filters
// every list on the server; portal.js does the same in place as the
// person types.

// openAccountsUpTo: with at most this many accounts they start open.
const openAccountsUpTo = 12

// rolesPage is the lists of the portal page.
type rolesPage struct {
	Query          string
	Pinned, Recent []roleView
	Accounts       []accountView
	Today          []opening
	// Total is how many roles the person has, Shown how many match Query.
	Total, Shown int
	// OpenAccounts: accounts start expanded.
	OpenAccounts bool
	// CanPin: the broker keeps favourites.
	CanPin bool
}

// buildRoles fills the lists from the person's grants, their pins and
// history, filtered by the search.
func buildRoles(accts []accountView, aliases map[string]string, favs map[string]bool, hist history, query string, canPin bool) rolesPage {
	p := rolesPage{Query: query, CanPin: canPin}
	terms := strings.Fields(strings.ToLower(query))
	byKey := map[string]roleView{}
	byUse := map[string]roleView{}
	kept := accts[:0]
	for _, a := range accts {
		roles := a.Roles[:0]
		for _, r := range a.Roles {
			p.Total++
			r.AccountLabel = a.Label
			r.Search = strings.ToLower(strings.Join([]string{a.ID, aliases[a.ID], a.Label, r.Label, r.RoleName, r.Description}, " "))
			r.Pinned = favs[r.Key]
			if u, ok := hist.last[roleUse(r.RoleARN, r.Mode)]; ok {
				r.LastCredentials, r.LastConsole = u.Credentials, u.Console
			}
			if _, dup := byUse[roleUse(r.RoleARN, r.Mode)]; !dup {
				byUse[roleUse(r.RoleARN, r.Mode)] = r
			}
			if !matches(r.Search, terms) {
				continue
			}
			byKey[r.Key] = r
			roles = append(roles, r)
		}
		if len(roles) > 0 {
			a.Roles = roles
			kept = append(kept, a)
		}
		p.Shown += len(roles)
	}
	p.Accounts = kept
	p.OpenAccounts = len(terms) > 0 || len(kept) <= openAccountsUpTo
	for _, a := range kept {
		for _, r := range a.Roles {
			if r.Pinned {
				p.Pinned = append(p.Pinned, r)
			}
		}
	}
	for _, use := range hist.recent {
		if len(p.Recent) == maxRecent {
			break
		}
		if r, ok := byUse[use]; ok && !r.Pinned && matches(r.Search, terms) {
			p.Recent = append(p.Recent, r)
		}
	}
	for _, o := range hist.today {
		if r, ok := byUse[roleUse(o.RoleARN, o.Mode)]; ok {
			o.RoleLabel, o.Within = r.Label, r.AccountLabel
		} else if arn, err := broker.ParseARN(o.RoleARN); err == nil {
			o.RoleLabel, o.Within = arn.Name(), arn.AccountID
		}
		p.Today = append(p.Today, o)
	}
	numberForms(p.Pinned, "p")
	numberForms(p.Recent, "h")
	n := 0
	for i := range p.Accounts {
		for j := range p.Accounts[i].Roles {
			p.Accounts[i].Roles[j].FormID = "r" + strconv.Itoa(n)
			n++
		}
	}
	return p
}

// stamp gives every card what its forms need.
func (p *rolesPage) stamp(csrf, dest string) {
	set := func(roles []roleView, showAccount bool) {
		for i := range roles {
			roles[i].CSRF, roles[i].Destination, roles[i].CanPin, roles[i].ShowAccount = csrf, dest, p.CanPin, showAccount
		}
	}
	set(p.Pinned, true)
	set(p.Recent, true)
	for i := range p.Accounts {
		set(p.Accounts[i].Roles, false)
	}
}

// OpenedAt and EndsAt are the opening's times for the page (UTC).
func (o opening) OpenedAt() string { return o.Opened.UTC().Format("15:04") }

func (o opening) EndsAt() string {
	if o.Expires.IsZero() {
		return "at an unknown time"
	}
	return o.Expires.UTC().Format("15:04") + " UTC"
}

// matches says whether every search term is in the role's text.
func matches(text string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(text, t) {
			return false
		}
	}
	return true
}

// numberForms gives each card of a list a form id of its own (the pin
// button posts the card's form from outside it).
func numberForms(roles []roleView, prefix string) {
	for i := range roles {
		roles[i].FormID = prefix + strconv.Itoa(i)
	}
}

// roleInAccount names a role for a sentence: "Administrator in Sandbox".
func roleInAccount(g broker.Grant) string {
	role := g.Label
	if role == "" {
		arn, _ := broker.ParseARN(g.RoleARN)
		role = arn.Name()
	}
	acct := g.AccountLabel
	if acct == "" {
		acct = g.AccountID
	}
	return role + " in " + acct
}

// getsLess says whether what AWS gave last time is shorter than what the
// rule asks (0 = AWS's default, 1 h): the card shows what the person gets.
func getsLess(last, rule time.Duration) bool {
	if rule == 0 {
		rule = time.Hour
	}
	return last > 0 && last < rule-time.Minute
}
