package admin

import (
	"fmt"
	"sort"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web"
)

// simResult is what the simulator shows for one identity.
type simResult struct {
	Provider   string              `json:"provider"`
	Subject    string              `json:"subject"`
	Attributes map[string][]string `json:"attributes"`
	Roles      []simGrant          `json:"roles"`
	Trace      []mapping.RuleTrace `json:"trace"`
	Unverified bool                `json:"unverified,omitempty"`
}

type simGrant struct {
	RoleARN         string `json:"role_arn"`
	Account         string `json:"account"`
	Label           string `json:"label,omitempty"`
	Mode            string `json:"mode"`
	Duration        string `json:"duration,omitempty"`
	ConsoleDuration string `json:"console_duration,omitempty"`
	Rule            string `json:"rule,omitempty"`
}

// simResultOf formats a simulation for the pages.
func simResultOf(sim ruleset.Simulation) simResult {
	id := sim.Identity
	res := simResult{Provider: id.Provider, Subject: id.Subject, Attributes: id.Attributes, Trace: sim.Trace}
	for _, g := range sim.Grants {
		sg := simGrant{RoleARN: g.RoleARN, Account: g.AccountID, Label: g.Label, Mode: string(g.Mode), Rule: g.Rule}
		if g.CredentialDuration > 0 {
			sg.Duration = web.ShortDuration(g.CredentialDuration)
		}
		if g.ConsoleDuration > 0 {
			sg.ConsoleDuration = web.ShortDuration(g.ConsoleDuration)
		}
		res.Roles = append(res.Roles, sg)
	}
	return res
}

// impactRow says how one recent user's roles change.
type impactRow struct {
	Who      string   `json:"who"`
	Provider string   `json:"provider"`
	Subject  string   `json:"subject"`
	Gained   []string `json:"gained,omitempty"`
	Lost     []string `json:"lost,omitempty"`
}

// impactReport compares two engines over the recent sign-ins.
type impactReport struct {
	Checked int         `json:"checked"`
	Changed []impactRow `json:"changed"`
}

// impactReportOf formats an impact preview for the pages.
func impactReportOf(imp ruleset.Impact) impactReport {
	rep := impactReport{Checked: imp.Checked}
	for _, ch := range imp.Changed {
		row := impactRow{Who: web.DisplayName(ch.Identity), Provider: ch.Identity.Provider, Subject: ch.Identity.Subject}
		for _, g := range ch.Gained {
			row.Gained = append(row.Gained, grantLabel(g))
		}
		for _, g := range ch.Lost {
			row.Lost = append(row.Lost, grantLabel(g))
		}
		sort.Strings(row.Gained)
		sort.Strings(row.Lost)
		rep.Changed = append(rep.Changed, row)
	}
	return rep
}

func grantLabel(g broker.Grant) string {
	l := g.RoleARN
	if g.AccountLabel != "" {
		l = g.AccountLabel + " · " + l
	}
	return l
}

func ago(t time.Time, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}
