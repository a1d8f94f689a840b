package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var metricName = regexp.MustCompile(`\bbroker_[a-z0-9_]+`)

// checkExpr fails for an expression naming a broker_ series this package
// does not register (a histogram's _bucket, _sum, _count included), or
// with unbalanced brackets.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	names := metricName.FindAllString(expr, -1)
	if len(names) == 0 {
		t.Errorf("%s: %q names no broker series", where, expr)
	}
	for _, n := range names {
		base := n
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suf); ok && known[b] {
				base = b
			}
		}
		if !known[base] {
			t.Errorf("%s: %s is not a metric the broker exports", where, n)
		}
	}
	for _, p := range []string{"()", "{}", "[]"} {
		if strings.Count(expr, p[:1]) != strings.Count(expr, p[1:]) {
			t.Errorf("%s: unbalanced %s in %q", where, p, expr)
		}
	}
}

func knownNames() map[string]bool {
	known := map[string]bool{}
	for _, n := range New(Config{}).Names() {
		known[n] = true
	}
	return known
}

// TestAlertRules: deploy/prometheus/alerts.yaml parses as Prometheus rule
// groups, has the alerts operators need, and every expression names
// series the broker exports.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	known := knownNames()
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %+v lacks alert, expr, summary or severity", r)
			}
			if alerts[r.Alert] {
				t.Errorf("alert %s twice", r.Alert)
			}
			alerts[r.Alert] = true
			checkExpr(t, r.Alert, r.Expr, known)
		}
	}
	for _, want := range []string{"BrokerSignInFailureRatioHigh", "BrokerSTSErrors", "BrokerIdPMetadataStale", "BrokerStoreErrors", "BrokerNoRulesLoaded"} {
		if !alerts[want] {
			t.Errorf("alert %s missing", want)
		}
	}
}

// TestDashboard: deploy/grafana/broker.json is a dashboard whose every
// query names series the broker exports, and that shows each of them.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("../deploy/grafana/broker.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("not a dashboard: %q %q %d panels", d.Title, d.UID, len(d.Panels))
	}
	known := knownNames()
	shown := map[string]bool{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, p.Title, tg.Expr, known)
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				shown[strings.TrimSuffix(n, "_bucket")] = true
			}
		}
	}
	for n := range known {
		if !shown[n] && n != "broker_active_sessions_count_failures_total" {
			t.Errorf("the dashboard shows nothing of %s", n)
		}
	}
}
