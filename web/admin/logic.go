package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web"
)

// ruleForm is the rule editor's form, field by field.
type ruleForm struct {
	Name, Description, Effect, Providers, When                string
	Disabled, Always                                          bool
	Account, Role, Mode, Downstream, Audience, Partition      string
	Provider, Duration, ConsoleDuration, Destination, Region  string
	Label, GrantDescription, SessionName, SourceIdentity      string
	SessionTags, TransitiveTagKeys, SessionPolicy, PolicyARNs string
	Version                                                   int64

	// WhenMode is how the conditions are edited: "rows" (Match and Rows)
	// or "yaml" (When).
	WhenMode, Match string
	Rows            []condRow
	rowIdx          []int // form row of each condition toRule built
}

func formFromRequest(r *http.Request) ruleForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := ruleForm{
		Name: v("name"), Description: v("description"), Effect: v("effect"), Providers: v("providers"), When: r.PostFormValue("when"),
		Disabled: r.PostFormValue("disabled") != "", Always: r.PostFormValue("always") != "",
		Account: v("grant.account"), Role: v("grant.role"), Mode: v("grant.mode"), Downstream: v("grant.downstream"),
		Audience: v("grant.audience"), Partition: v("grant.partition"), Provider: v("grant.provider"),
		Duration: v("grant.duration"), ConsoleDuration: v("grant.console_duration"), Destination: v("grant.destination"),
		Region: v("grant.region"), Label: v("grant.label"), GrantDescription: v("grant.description"),
		SessionName: v("grant.session_name"), SourceIdentity: v("grant.source_identity"), SessionTags: r.PostFormValue("grant.session_tags"),
		TransitiveTagKeys: v("grant.transitive_tag_keys"), SessionPolicy: v("grant.session_policy"), PolicyARNs: v("grant.policy_arns"),
	}
	fmt.Sscan(v("version"), &f.Version)
	f.WhenMode, f.Match, f.Rows = v("when_mode"), v("match"), rowsFromRequest(r)
	if f.WhenMode != "rows" && f.WhenMode != "yaml" {
		f.WhenMode = "rows"
		if strings.TrimSpace(f.When) != "" {
			f.WhenMode = "yaml" // API-style clients and older forms send YAML
		}
	}
	if f.Match != "any" {
		f.Match = "all"
	}
	return f
}

func formFromRule(r mapping.Rule, version int64) ruleForm {
	f := ruleForm{
		Name: r.Name, Description: r.Description, Effect: r.Effect, Providers: strings.Join(r.Providers, ", "),
		Disabled: r.Disabled, Always: r.Always, Version: version,
		Account: r.Grant.Account, Role: r.Grant.Role, Mode: r.Grant.Mode, Downstream: r.Grant.Downstream,
		Audience: r.Grant.Audience, Partition: r.Grant.Partition, Provider: r.Grant.Provider,
		Destination: r.Grant.Destination, Region: r.Grant.Region, Label: r.Grant.Label, GrantDescription: r.Grant.Description,
		SessionName: r.Grant.SessionName, SourceIdentity: r.Grant.SourceIdentity,
		TransitiveTagKeys: strings.Join(r.Grant.TransitiveTagKeys, ", "), SessionPolicy: r.Grant.SessionPolicy,
		PolicyARNs: strings.Join(r.Grant.PolicyARNs, "\n"),
	}
	if r.Grant.Duration != 0 {
		f.Duration = shortDuration(time.Duration(r.Grant.Duration))
	}
	if r.Grant.ConsoleDuration != 0 {
		f.ConsoleDuration = shortDuration(time.Duration(r.Grant.ConsoleDuration))
	}
	if rows, match, ok := rowsOf(r.When); ok {
		f.WhenMode, f.Match, f.Rows = "rows", match, withBlankRow(rows)
	} else {
		f.WhenMode, f.Match, f.Rows, f.When = "yaml", "all", withBlankRow(nil), whenYAML(r.When)
	}
	if len(r.Grant.SessionTags) > 0 {
		b, _ := yaml.Marshal(r.Grant.SessionTags)
		f.SessionTags = string(b)
	}
	return f
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fieldErrors maps a form field to its messages.
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, msg string) { fe[field] = append(fe[field], msg) }

// formField maps a compile error's field path to the form input that shows it.
func formField(path string) string {
	switch {
	case path == "":
		return "name"
	case strings.HasPrefix(path, "when") || path == "always":
		return "when"
	case strings.HasPrefix(path, "providers"):
		return "providers"
	case strings.HasPrefix(path, "grant."):
		f := strings.TrimPrefix(path, "grant.")
		if i := strings.IndexAny(f, ".["); i > 0 {
			f = f[:i]
		}
		return "grant." + f
	case path == "grant":
		return "grant.account"
	}
	if i := strings.IndexAny(path, ".["); i > 0 {
		return path[:i]
	}
	return path
}

// toRule parses the form; errors are per field.
func (f *ruleForm) toRule() (mapping.Rule, fieldErrors) {
	fe := fieldErrors{}
	r := mapping.Rule{
		Name: f.Name, Description: f.Description, Effect: f.Effect, Disabled: f.Disabled, Always: f.Always,
		Providers: splitList(f.Providers),
		Grant: mapping.GrantSpec{
			Account: f.Account, Role: f.Role, Mode: f.Mode, Downstream: f.Downstream, Audience: f.Audience,
			Partition: f.Partition, Provider: f.Provider, Destination: f.Destination, Region: f.Region,
			Label: f.Label, Description: f.GrantDescription, SessionName: f.SessionName, SourceIdentity: f.SourceIdentity,
			TransitiveTagKeys: splitList(f.TransitiveTagKeys), SessionPolicy: f.SessionPolicy, PolicyARNs: splitList(f.PolicyARNs),
		},
	}
	if r.Effect == "allow" {
		r.Effect = ""
	}
	if f.WhenMode == "rows" {
		r.When, f.rowIdx = groupOf(f.Rows, f.Match)
	} else if strings.TrimSpace(f.When) != "" {
		if err := strictYAML(f.When, &r.When); err != nil {
			fe.add("when", "Conditions are not valid YAML: "+err.Error())
		}
	}
	for field, in := range map[string]struct {
		s   string
		out *mapping.Duration
	}{"grant.duration": {f.Duration, &r.Grant.Duration}, "grant.console_duration": {f.ConsoleDuration, &r.Grant.ConsoleDuration}} {
		if in.s == "" {
			continue
		}
		if err := yaml.Unmarshal([]byte(in.s), in.out); err != nil {
			fe.add(field, fmt.Sprintf("%q is not a duration (e.g. 1h, 90m, 3600).", in.s))
		}
	}
	if strings.TrimSpace(f.SessionTags) != "" {
		if err := strictYAML(f.SessionTags, &r.Grant.SessionTags); err != nil {
			fe.add("grant.session_tags", "Session tags must be YAML key: value lines: "+err.Error())
		}
	}
	return r, fe
}

func strictYAML(s string, out any) error {
	dec := yaml.NewDecoder(strings.NewReader(s))
	dec.KnownFields(true)
	err := dec.Decode(out)
	if err != nil {
		// yaml errors start with "yaml: "; the admin knows it is YAML.
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// candidate returns the current rules with rule put in place of the rule
// named replace (appended when replace is ""), or removed when rule is nil.
func Candidate(cur []ruleset.Rule, replace string, rule *mapping.Rule) []mapping.Rule {
	out := make([]mapping.Rule, 0, len(cur)+1)
	done := false
	for _, r := range cur {
		if replace != "" && r.Name == replace {
			done = true
			if rule != nil {
				out = append(out, *rule)
			}
			continue
		}
		out = append(out, r.Rule)
	}
	if !done && rule != nil {
		out = append(out, *rule)
	}
	return out
}

// compileFor compiles rules against the live options and reports the
// problems of the rule named name as form field errors (problems of other
// rules under "name").
func (h *Handler) compileFor(rules []mapping.Rule, accounts []mapping.Account, name string, fe fieldErrors, rowIdx ...int) *mapping.Engine {
	eng, err := mapping.Compile(rules, h.cfg.Rules.Options(accounts))
	if err == nil {
		return eng
	}
	var ces mapping.CompileErrors
	if !errors.As(err, &ces) {
		fe.add("name", err.Error())
		return nil
	}
	for _, ce := range ces {
		if ce.Rule == name || (ce.Rule == "" && ce.Field == "name") {
			if field, ok := rowField(ce.Field, rowIdx); ok {
				fe.add(field, ce.Reason)
				continue
			}
			fe.add(formField(ce.Field), ce.Reason)
		} else {
			fe.add("name", ce.Error())
		}
	}
	return nil
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

const impactSignIns = 1000

func (h *Handler) impact(ctx context.Context, before, after *mapping.Engine) (impactReport, error) {
	var rep impactReport
	ins, err := h.cfg.Store.RecentSignIns(ctx, impactSignIns)
	if err != nil {
		return rep, err
	}
	for _, in := range ins {
		id, err := decodeIdentity(in.Identity)
		if err != nil {
			continue
		}
		rep.Checked++
		was, now := grantSet(before.Evaluate(id)), grantSet(after.Evaluate(id))
		row := impactRow{Who: web.DisplayName(id), Provider: in.Provider, Subject: in.Subject}
		for k, label := range now {
			if _, ok := was[k]; !ok {
				row.Gained = append(row.Gained, label)
			}
		}
		for k, label := range was {
			if _, ok := now[k]; !ok {
				row.Lost = append(row.Lost, label)
			}
		}
		if len(row.Gained)+len(row.Lost) > 0 {
			sort.Strings(row.Gained)
			sort.Strings(row.Lost)
			rep.Changed = append(rep.Changed, row)
		}
	}
	return rep, nil
}

// grantSet keys grants by role, provider and downstream, labelled for people.
func grantSet(d mapping.Decision) map[string]string {
	m := map[string]string{}
	for _, g := range d.Grants {
		m[g.Key()] = grantLabel(g)
	}
	return m
}

func grantLabel(g broker.Grant) string {
	l := g.RoleARN
	if g.AccountLabel != "" {
		l = g.AccountLabel + " · " + l
	}
	return l
}

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

// SimResult is what the simulator shows for one identity.
type SimResult struct {
	Provider   string              `json:"provider"`
	Subject    string              `json:"subject"`
	Attributes map[string][]string `json:"attributes"`
	Roles      []SimGrant          `json:"roles"`
	Trace      []mapping.RuleTrace `json:"trace"`
	Unverified bool                `json:"unverified,omitempty"`
}

type SimGrant struct {
	RoleARN         string `json:"role_arn"`
	Account         string `json:"account"`
	Label           string `json:"label,omitempty"`
	Mode            string `json:"mode"`
	Duration        string `json:"duration,omitempty"`
	ConsoleDuration string `json:"console_duration,omitempty"`
	Rule            string `json:"rule,omitempty"`
}

func Simulate(e *mapping.Engine, id *broker.Identity) SimResult {
	d := e.Evaluate(id)
	res := SimResult{Provider: id.Provider, Subject: id.Subject, Attributes: id.Attributes, Trace: d.Trace()}
	for _, g := range d.Grants {
		sg := SimGrant{RoleARN: g.RoleARN, Account: g.AccountID, Label: g.Label, Mode: string(g.Mode), Rule: g.Rule}
		if g.CredentialDuration > 0 {
			sg.Duration = shortDuration(g.CredentialDuration)
		}
		if g.ConsoleDuration > 0 {
			sg.ConsoleDuration = shortDuration(g.ConsoleDuration)
		}
		res.Roles = append(res.Roles, sg)
	}
	return res
}

// identityFromClaims builds an identity from a pasted claims JSON object
// (an ID token's payload or flattened attributes).
func IdentityFromClaims(provider, s string) (*broker.Identity, error) {
	s = strings.TrimSpace(s)
	if len(s) > 256<<10 {
		return nil, broker.Errorf(broker.ETOOLARGE, "claims_too_large", "The claims JSON is too large.")
	}
	var claims map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return nil, broker.Wrap(err, broker.EINVALID, "claims_invalid", "The claims are not a JSON object: "+err.Error())
	}
	// The same flattening as a real OIDC sign-in.
	id := &broker.Identity{Provider: provider, Protocol: broker.ProtocolOIDC, Attributes: oidc.Flatten(claims)}
	if sub := id.First("sub"); sub != "" {
		id.Subject = sub
	}
	if iss := id.First("iss"); iss != "" {
		id.Issuer = iss
	}
	id.Attributes[broker.AttrProvider] = []string{provider}
	return id, nil
}

var ruleNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// accountsOf converts the live accounts.
func (h *Handler) LiveAccounts() []mapping.Account { return h.cfg.Rules.State().Accounts }

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

// shortDuration writes 4h, 90m or 1h30m rather than 4h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
