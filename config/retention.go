package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Retention configures how long the store keeps the rows that only grow.
// Sessions and replay entries are deleted when they expire; these are
// the rows kept for people to read later.
type Retention struct {
	// Audit is how long audit events are kept (default 400d).
	Audit Period `yaml:"audit"`
	// SignIns is how long a person's latest sign-in (their verified
	// attributes, for the rule simulator and the impact preview) is kept
	// (default 90d).
	SignIns Period `yaml:"sign_ins"`
}

// Default retention periods.
const (
	DefaultAuditRetention  = 400 * Day
	DefaultSignInRetention = 90 * Day
)

// Day is 24 hours (retention periods are written in days: "400d").
const Day = 24 * time.Hour

// Period is a long duration: "400d", "12h", "90m", or integer seconds.
type Period time.Duration

// String writes whole days as "Nd".
func (p Period) String() string {
	d := time.Duration(p)
	if d != 0 && d%Day == 0 {
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	return d.String()
}

// MarshalYAML writes the period as String does.
func (p Period) MarshalYAML() (any, error) { return p.String(), nil }

// UnmarshalYAML reads "400d", a Go duration ("72h") or integer seconds.
// A bad value is a *yaml.TypeError, so decoding goes on and the problem
// keeps its line.
func (p *Period) UnmarshalYAML(n *yaml.Node) error {
	bad := func(msg string) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
	}
	if n.Kind != yaml.ScalarNode {
		return bad(`a period is a string like "400d" or "12h"`)
	}
	d, err := parsePeriod(n.Value)
	if err != nil {
		return bad(err.Error())
	}
	*p = Period(d)
	return nil
}

func parsePeriod(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*366 {
			return 0, fmt.Errorf("%q is not a number of days (e.g. 400d)", s)
		}
		return time.Duration(n) * Day, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a period (e.g. 400d, 36h)", s)
	}
	return d, nil
}

func (c *Config) validateRetention(p *problems) {
	r := c.Store.Retention
	for _, x := range []struct {
		path     string
		v        Period
		min, max time.Duration
	}{
		{"store.retention.audit", r.Audit, Day, 100 * 366 * Day},
		{"store.retention.sign_ins", r.SignIns, Day, 10 * 366 * Day},
	} {
		if d := time.Duration(x.v); d < x.min || d > x.max {
			p.add(x.path, "must be between %s and %s, got %s", Period(x.min), Period(x.max), x.v)
		}
	}
}
