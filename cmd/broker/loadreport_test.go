package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
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
