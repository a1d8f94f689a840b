package mapping

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rule maps identities that satisfy When to a role (Grant). Rules are a
// public format (YAML config, JSON API, CLI export): keep field names stable.
type Rule struct {
	// Name is unique, [A-Za-z0-9_.-]{1,64}.
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	Disabled    bool   `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Effect is "allow" (default) or "deny". A matching deny rule removes
	// the allow grants its Grant pattern matches (all, if it has none).
	Effect string `yaml:"effect,omitempty" json:"effect,omitempty"`
	// Providers limits the rule to these provider ids; empty = any.
	Providers []string `yaml:"providers,omitempty" json:"providers,omitempty"`
	// Always makes a rule without conditions match everyone. Without it, an
	// empty When is a compile error (a rule that silently matches everybody
	// is more often a mistake than a wish).
	Always bool `yaml:"always,omitempty" json:"always,omitempty"`
	// RequireMFA makes an allow rule match only a sign-in the IdP asserted
	// as multi-factor (broker.Identity.MFA): its roles stay hidden until
	// the person signs in with MFA.
	RequireMFA bool `yaml:"require_mfa,omitempty" json:"require_mfa,omitempty"`
	// MaxAuthAge makes the rule's roles open only for a person who signed
	// in at the IdP at most this long ago (Identity.AuthnInstant); an
	// older sign-in is sent to sign in afresh (ForceAuthn, prompt=login).
	MaxAuthAge Duration  `yaml:"max_auth_age,omitempty" json:"max_auth_age,omitempty"`
	When       Group     `yaml:"when,omitempty" json:"when,omitempty"`
	Grant      GrantSpec `yaml:"grant,omitempty" json:"grant,omitempty"`
}

// Group holds conditions: all of All and, if Any is not empty, at least one
// of Any must hold.
type Group struct {
	All []Condition `yaml:"all,omitempty" json:"all,omitempty"`
	Any []Condition `yaml:"any,omitempty" json:"any,omitempty"`
}

// Condition tests one attribute with exactly one operator, or is a nested
// group (All / Any set, nothing else).
//
// A positive operator (equals, glob, regex, prefix, suffix, exists) holds if
// ANY value of the attribute matches. NotEquals holds if NO value equals
// (so it also holds when the attribute is absent); Absent holds if the
// attribute has no values.
type Condition struct {
	Attribute  string `yaml:"attribute,omitempty" json:"attribute,omitempty"`
	Equals     string `yaml:"equals,omitempty" json:"equals,omitempty"`
	NotEquals  string `yaml:"not_equals,omitempty" json:"not_equals,omitempty"`
	Glob       string `yaml:"glob,omitempty" json:"glob,omitempty"`
	Regex      string `yaml:"regex,omitempty" json:"regex,omitempty"`
	Prefix     string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	Suffix     string `yaml:"suffix,omitempty" json:"suffix,omitempty"`
	Exists     bool   `yaml:"exists,omitempty" json:"exists,omitempty"`
	Absent     bool   `yaml:"absent,omitempty" json:"absent,omitempty"`
	IgnoreCase bool   `yaml:"ignore_case,omitempty" json:"ignore_case,omitempty"`

	All []Condition `yaml:"all,omitempty" json:"all,omitempty"`
	Any []Condition `yaml:"any,omitempty" json:"any,omitempty"`
}

// GrantSpec describes the role a rule grants. String fields may hold
// templates: ${N} / ${name} (regex captures), ${attr:NAME} (first value of
// an attribute), $$ (a literal $).
type GrantSpec struct {
	Account    string   `yaml:"account,omitempty" json:"account,omitempty"`     // 12-digit id or alias; a glob in deny/pass-through patterns
	Role       string   `yaml:"role,omitempty" json:"role,omitempty"`           // name, path/name or ARN; a glob in deny/pass-through patterns
	Partition  string   `yaml:"partition,omitempty" json:"partition,omitempty"` // default Options.DefaultPartition
	Provider   string   `yaml:"provider,omitempty" json:"provider,omitempty"`   // IAM SAML provider ARN (broker-issued SAML)
	Mode       string   `yaml:"mode,omitempty" json:"mode,omitempty"`           // pass-through | broker-issued
	Downstream string   `yaml:"downstream,omitempty" json:"downstream,omitempty"`
	Audience   string   `yaml:"audience,omitempty" json:"audience,omitempty"`
	Duration   Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	// ConsoleDuration is the console session length (15m..12h).
	ConsoleDuration   Duration          `yaml:"console_duration,omitempty" json:"console_duration,omitempty"`
	Destination       string            `yaml:"destination,omitempty" json:"destination,omitempty"`
	Region            string            `yaml:"region,omitempty" json:"region,omitempty"`
	Label             string            `yaml:"label,omitempty" json:"label,omitempty"`
	Description       string            `yaml:"description,omitempty" json:"description,omitempty"`
	SessionName       string            `yaml:"session_name,omitempty" json:"session_name,omitempty"`
	SessionTags       map[string]string `yaml:"session_tags,omitempty" json:"session_tags,omitempty"`
	TransitiveTagKeys []string          `yaml:"transitive_tag_keys,omitempty" json:"transitive_tag_keys,omitempty"`
	SourceIdentity    string            `yaml:"source_identity,omitempty" json:"source_identity,omitempty"`
	SessionPolicy     string            `yaml:"session_policy,omitempty" json:"session_policy,omitempty"`
	PolicyARNs        []string          `yaml:"policy_arns,omitempty" json:"policy_arns,omitempty"`
}

// Account names an AWS account for rules and the portal.
type Account struct {
	ID    string `yaml:"id" json:"id"`
	Alias string `yaml:"alias,omitempty" json:"alias,omitempty"`
	Label string `yaml:"label,omitempty" json:"label,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("90m",
// "12h") or as integer seconds.
type Duration time.Duration

// String formats the duration as an admin writes it: 8h, 90s, 1h30m
// (time.Duration's form without its trailing zero units: not 8h0m0s).
// Exported rules and API answers use it, so they read as written.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalJSON writes a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON accepts "1h30m" or 5400.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return d.parse(s)
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration must be a string like \"1h\" or integer seconds")
	}
	*d = Duration(time.Duration(n) * time.Second)
	return nil
}

// MarshalYAML writes a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML accepts "1h30m" or 5400.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: duration must be a string like \"1h\" or integer seconds", n.Line)
	}
	return d.parse(n.Value)
}

func (d *Duration) parse(s string) error {
	if s == "" {
		*d = 0
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 90m, 12h or seconds)", s)
	}
	*d = Duration(v)
	return nil
}
