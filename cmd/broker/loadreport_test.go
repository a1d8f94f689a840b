package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/mapping"
)

// The load report says the CPU per login of each component (the broker,
// the local AWS, the driver, the OP for --provider oidc) from the labelled
// CPU profile, and what each login adds to the store: one session row per
// login, and audit rows.
func TestLoadtestReportsCPUByComponentAndStore(t *testing.T) {
	for _, tc := range []struct {
		provider string
		want     []string
	}{
		{"saml", []string{"broker", "aws", "driver"}},
		{"oidc", []string{"broker", "aws", "driver", "op"}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"loadtest", "--provider", tc.provider, "--duration", "2s", "--concurrency", "2", "--data-dir", t.TempDir()}, &out, &errb)
			if err != nil {
				t.Fatalf("loadtest: %v\n%s%s", err, out.String(), errb.String())
			}
			report := out.String()
			t.Log("\n" + report)
			if !strings.Contains(report, "concurrent "+strings.ToUpper(tc.provider)+" logins") {
				t.Errorf("the report does not name the %s login", tc.provider)
			}
			for _, c := range tc.want {
				m := regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(c) + ` +([\d.]+) ms`).FindStringSubmatch(report)
				if m == nil {
					t.Errorf("no CPU line for %s", c)
					continue
				}
				if v, _ := strconv.ParseFloat(m[1], 64); c == "broker" && v <= 0 {
					t.Errorf("broker CPU per login %v ms, want > 0", v)
				}
			}
			if !regexp.MustCompile(`(?m)^    total +[\d.]+ ms .*utime\+stime over the same interval: [\d.]+ ms\)$`).MatchString(report) {
				t.Errorf("no total CPU line with the process's own figure")
			}
			if !regexp.MustCompile(`(?m)^ +sessions \+1\.00 rows \+[\d.]+ KB$`).MatchString(report) {
				t.Errorf("want one session row per login in the store report")
			}
			if !regexp.MustCompile(`(?m)^  store +\+-?[\d.]+ KB per login: file`).MatchString(report) {
				t.Errorf("no store bytes per login")
			}
		})
	}
}

func TestLoadtestUnknownProvider(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"loadtest", "--provider", "ldap", "--duration", "1s", "--data-dir", t.TempDir()}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `saml or oidc, not "ldap"`) {
		t.Fatalf("err = %v, want a refusal naming the choices", err)
	}
}

// --no-pass-through leaves out the demo rules that pass the IdP's own
// credential to AWS. alice's OIDC sign-in then has no pass-through web
// identity role, so her session keeps no upstream ID token: its row is
// smaller by about the token's size than in a run with those rules.
func TestLoadtestNoPassThrough(t *testing.T) {
	sessionKB := func(extra ...string) float64 {
		t.Helper()
		var out, errb bytes.Buffer
		args := append([]string{"loadtest", "--provider", "oidc", "--duration", "2s", "--concurrency", "2", "--data-dir", t.TempDir()}, extra...)
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("loadtest %v: %v\n%s%s", extra, err, out.String(), errb.String())
		}
		report := out.String()
		if len(extra) > 0 && !strings.Contains(report, "broker-issued roles only") {
			t.Errorf("the report does not say the run is broker-issued only:\n%s", report)
		}
		m := regexp.MustCompile(`(?m)^ +sessions \+1\.00 rows \+([\d.]+) KB$`).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("no session row figure:\n%s", report)
		}
		kb, _ := strconv.ParseFloat(m[1], 64)
		return kb
	}
	with, without := sessionKB(), sessionKB("--no-pass-through")
	t.Logf("session row per login: %.2f KB with pass-through rules, %.2f KB without", with, without)
	if without+0.4 > with {
		t.Errorf("session row %.2f KB without pass-through rules against %.2f KB with them: the ID token is still kept", without, with)
	}
}

// dropPassThrough removes the rules whose grant is pass-through, by SAML
// or by web identity, and keeps every other (broker-issued, or no mode).
func TestDropPassThrough(t *testing.T) {
	rule := func(name, mode, downstream string) mapping.Rule {
		return mapping.Rule{Name: name, Grant: mapping.GrantSpec{Mode: mode, Downstream: downstream}}
	}
	c := &config.Config{Rules: []mapping.Rule{
		rule("pt-saml", string(broker.ModePassThrough), ""),
		rule("issued", string(broker.ModeBrokerIssued), ""),
		rule("pt-web", string(broker.ModePassThrough), string(broker.DownstreamWebIdentity)),
		rule("default", "", ""),
		rule("issued-web", string(broker.ModeBrokerIssued), string(broker.DownstreamWebIdentity)),
	}}
	dropPassThrough(c)
	var kept []string
	for _, r := range c.Rules {
		kept = append(kept, r.Name)
	}
	if got := strings.Join(kept, " "); got != "issued default issued-web" {
		t.Fatalf("kept %q", got)
	}
}
