package portal

import (
	"html/template"
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
	// Today are the newest of today's console sessions (maxToday);
	// TodayCount counts them all, at least (TodayAtLeast) when the
	// history read ended inside today.
	Today        []opening
	TodayCount   int
	TodayAtLeast bool
	// Total is how many roles the person has, Shown how many match Query.
	Total, Shown int
	// OpenAccounts: accounts start expanded.
	OpenAccounts bool
	// CanPin: the broker keeps favourites.
	CanPin bool
	// The lists' HTML (cards.go): Pinned, Recent and every account with
	// its roles.
	PinnedHTML, RecentHTML, AccountsHTML template.HTML
}

// buildRoles fills the lists from the person's grants, their pins and
// history, filtered by the search.
func buildRoles(accts []accountView, aliases map[string]string, favs map[string]bool, hist history, query string, canPin bool) rolesPage {
	p := rolesPage{Query: query, CanPin: canPin}
	terms := strings.Fields(strings.ToLower(query))
	// The roles the history names (recent, today), by role identity.
	byUse := map[string]roleView{}
	wanted := make(map[string]bool, len(hist.recent)+len(hist.today))
	for _, use := range hist.recent {
		wanted[use] = true
	}
	today := hist.today[:min(len(hist.today), maxToday)]
	for _, o := range today {
		wanted[roleUse(o.RoleARN, o.Mode)] = true
	}
	acctText := map[string]string{} // grant key: its account's search text
	kept := accts[:0]
	for _, a := range accts {
		a.Alias = aliases[a.ID]
		a.Search = strings.ToLower(a.ID + " " + a.Alias + " " + a.Label)
		roles := a.Roles[:0]
		for _, r := range a.Roles {
			p.Total++
			r.AccountLabel, r.CanPin = a.Label, canPin
			r.Pinned = favs[r.Key]
			use := roleUse(r.RoleARN, r.Mode)
			if u, ok := hist.last[use]; ok {
				r.LastCredentials, r.LastConsole = u.Credentials, u.Console
			}
			acctText[r.Key] = a.Search
			if _, dup := byUse[use]; !dup && wanted[use] {
				byUse[use] = r
			}
			if len(terms) > 0 && !matches(roleSearch(a.Search, r), terms) {
				continue
			}
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
	// Cards outside their account name it, and carry their search text.
	elsewhere := func(r roleView) roleView {
		r.ShowAccount, r.Search = true, roleSearch(acctText[r.Key], r)
		return r
	}
	for _, a := range kept {
		for _, r := range a.Roles {
			if r.Pinned {
				p.Pinned = append(p.Pinned, elsewhere(r))
			}
		}
	}
	for _, use := range hist.recent {
		if len(p.Recent) == maxRecent {
			break
		}
		if r, ok := byUse[use]; ok && !r.Pinned {
			if r = elsewhere(r); matches(r.Search, terms) {
				p.Recent = append(p.Recent, r)
			}
		}
	}
	p.TodayCount, p.TodayAtLeast = len(hist.today), hist.todayUncounted
	for _, o := range today {
		if r, ok := byUse[roleUse(o.RoleARN, o.Mode)]; ok {
			o.RoleLabel, o.Within = r.Label, r.AccountLabel
		} else if arn, err := broker.ParseARN(o.RoleARN); err == nil {
			o.RoleLabel, o.Within = arn.Name(), arn.AccountID
		}
		p.Today = append(p.Today, o)
	}
	return p
}

// OpenedAt and EndsAt are the opening's times for the page (UTC).
func (o opening) OpenedAt() string { return o.Opened.UTC().Format("15:04") }

func (o opening) EndsAt() string {
	if o.Expires.IsZero() {
		return "at an unknown time"
	}
	return o.Expires.UTC().Format("15:04") + " UTC"
}

// roleSearch is the lower-case text a search matches for a role: its
// account's (id, alias, label) and its label, role name and description.
func roleSearch(account string, r roleView) string {
	return strings.TrimSpace(account + " " + strings.ToLower(r.Label+" "+r.RoleName+" "+r.Description))
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
