package admin

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web"
)

// ruleForm is the rule editor's form, field by field.
type ruleForm struct {
	Name, Description, Effect, Providers, When, MaxAuthAge    string
	Disabled, Always, RequireMFA                              bool
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
		RequireMFA: r.PostFormValue("require_mfa") != "", MaxAuthAge: v("max_auth_age"),
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
		Disabled: r.Disabled, Always: r.Always, RequireMFA: r.RequireMFA, Version: version,

		Account: r.Grant.Account, Role: r.Grant.Role, Mode: r.Grant.Mode, Downstream: r.Grant.Downstream,
		Audience: r.Grant.Audience, Partition: r.Grant.Partition, Provider: r.Grant.Provider,
		Destination: r.Grant.Destination, Region: r.Grant.Region, Label: r.Grant.Label, GrantDescription: r.Grant.Description,
		SessionName: r.Grant.SessionName, SourceIdentity: r.Grant.SourceIdentity,
		TransitiveTagKeys: strings.Join(r.Grant.TransitiveTagKeys, ", "), SessionPolicy: r.Grant.SessionPolicy,
		PolicyARNs: strings.Join(r.Grant.PolicyARNs, "\n"),
	}
	if r.MaxAuthAge != 0 {
		f.MaxAuthAge = web.ShortDuration(time.Duration(r.MaxAuthAge))
	}
	if r.Grant.Duration != 0 {
		f.Duration = web.ShortDuration(time.Duration(r.Grant.Duration))
	}
	if r.Grant.ConsoleDuration != 0 {
		f.ConsoleDuration = web.ShortDuration(time.Duration(r.Grant.ConsoleDuration))
	}
	if rows, match, ok := rowsOf(r.When); ok {
		f.WhenMode, f.Match, f.Rows = "rows", match, withBlankRow(rows)
	} else {
		f.WhenMode, f.Match, f.Rows, f.When = "yaml", "all", withBlankRow(nil), whenYAML(r.When)
	}
	if len(r.Grant.SessionTags) > 0 {
		b, err := mapping.MarshalYAML(r.Grant.SessionTags)
		if err != nil {
			b, _ = yaml.Marshal(r.Grant.SessionTags)
		}
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
		RequireMFA: f.RequireMFA, Providers: splitList(f.Providers),
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
	}{"grant.duration": {f.Duration, &r.Grant.Duration}, "grant.console_duration": {f.ConsoleDuration, &r.Grant.ConsoleDuration},
		"max_auth_age": {f.MaxAuthAge, &r.MaxAuthAge}} {
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

var ruleNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// problemFields shows the problems of a candidate rule set in the editor:
// those of the edited rule (named name) on their field or condition row,
// the others' (another rule, the accounts) with the name.
func problemFields(ps ruleset.Problems, name string, fe fieldErrors, rowIdx []int) {
	own, others := ps.Split(name)
	for _, p := range own {
		if field, ok := rowField(p.Field, rowIdx); ok {
			fe.add(field, p.Reason)
			continue
		}
		fe.add(formField(p.Field), p.Reason)
	}
	for _, p := range others {
		fe.add("name", p.Error())
	}
}
