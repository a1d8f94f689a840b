package config

import (
	"strings"
	"testing"
)

func TestWarnsOnAnOIDCIssuerURLIAMRefuses(t *testing.T) {
	webIdentityRule := `
  - name: web
    when:
      all:
        - {attribute: groups, equals: dev}
    grant:
      account: sandbox
      role: WebDev
      downstream: web-identity
`
	passThroughRule := strings.Replace(webIdentityRule, "downstream: web-identity", "downstream: web-identity\n      mode: pass-through", 1)
	tests := []struct {
		name, url, rules string
		want             string // "" = no warning on server.external_url
	}{
		{"port, broker-issued web identity", "https://aws.example.com:8443", webIdentityRule, "has a port"},
		{"path is fine for IAM", "https://example.com/aws-broker", webIdentityRule, ""},
		{"no port", "https://aws.example.com", webIdentityRule, ""},
		{"explicit 443 is still a colon", "https://aws.example.com:443", webIdentityRule, "has a port"},
		{"too long", "https://aws.example.com/" + strings.Repeat("p", 240), webIdentityRule, "at most 255"},
		{"port, no web identity issued", "https://aws.example.com:8443", "", ""},
		{"port, pass-through web identity only", "https://aws.example.com:8443", passThroughRule, ""},
		{"loopback dev stack", "http://127.0.0.1:8080", webIdentityRule, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeIssuerKeys(t)
			yml := strings.Replace(validYAML, "external_url: https://aws.example.com/", "external_url: "+tt.url, 1) + tt.rules
			_, probs := parse(t, dir, yml)
			if errs := probs.Errors(); len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			var got []string
			for _, p := range probs {
				if p.Path == "server.external_url" {
					if !p.Warning {
						t.Errorf("not a warning: %s", p)
					}
					got = append(got, p.Message)
				}
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("unexpected warning %q", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("warnings %q, want one containing %q", got, tt.want)
			}
		})
	}
}
