package metrics

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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

// alertFile is deploy/prometheus/alerts.yaml, decoded strictly.
type alertFile struct {
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

func readAlerts(t *testing.T) alertFile {
	t.Helper()
	b, err := os.ReadFile("../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f alertFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	return f
}

// dashboard is deploy/grafana/broker.json, the parts the tests read.
type dashboard struct {
	Title  string `json:"title"`
	UID    string `json:"uid"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/broker.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAlertRules: deploy/prometheus/alerts.yaml parses as Prometheus rule
// groups, has the alerts operators need, and every expression names
// series the broker exports.
func TestAlertRules(t *testing.T) {
	f := readAlerts(t)
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
	d := readDashboard(t)
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

// scraped is what GET /metrics of a registry with one series of every
// vector (each method called once) answers: the names of the families
// exposed, and the label names of each (a histogram under its family
// name, "le" included).
func scraped(t *testing.T) map[string]map[string]bool {
	t.Helper()
	m := New(Config{Version: "test"})
	m.SignIns("okta", ResultFailure, "signature_invalid", 1)
	m.RoleAssumption("console", ResultSuccess, "")
	m.AuditWriteFailed("signin")
	m.AWSCall("sts", "AssumeRoleWithSAML", time.Millisecond, "Throttling")
	m.IdPRefreshed("saml", "okta", time.Now())
	m.IdPRefreshFailed("oidc", "google")
	m.StoreOp("complete_signin", time.Millisecond, "unavailable")
	m.SetActiveSessions(1)
	m.SetRules(1, 1)
	m.RulesReloadFailed("compile")
	m.RateLimited("signin")
	m.AppTokenIssued("access")
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	sample := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$`)
	label := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)
	out := map[string]map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		s := sample.FindStringSubmatch(line)
		if s == nil {
			continue
		}
		name := s[1]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok && strings.Contains(string(body), "# TYPE "+b+" histogram") {
				name = b
			}
		}
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		for _, l := range label.FindAllStringSubmatch(s[2], -1) {
			out[name][l[1]] = true
		}
	}
	return out
}

// TestRegisteredNamesAreScraped: Names (what the alert and dashboard
// tests compare expressions with) is exactly the broker_ families a
// scrape of /metrics shows, so neither can name a series Prometheus
// would never see.
func TestRegisteredNamesAreScraped(t *testing.T) {
	got := scraped(t)
	names := New(Config{}).Names()
	for _, n := range names {
		if got[n] == nil {
			t.Errorf("%s is registered but GET /metrics does not show it", n)
		}
	}
	for n := range got {
		if strings.HasPrefix(n, "broker_") && !slices.Contains(names, n) {
			t.Errorf("GET /metrics shows %s, which Names leaves out", n)
		}
	}
}

var (
	selector = regexp.MustCompile(`\b(broker_[a-z0-9_]+)\{([^}]*)\}`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	grouping = regexp.MustCompile(`\b(?:by|on|without|ignoring)\s*\(([^)]*)\)`)
)

// checkLabels fails for a label an expression matches or groups by that
// the series it names do not carry (a typo there matches nothing, and an
// alert on it never fires). job, instance and le come from the scrape
// or the histogram; Grafana's $variables are left alone.
func checkLabels(t *testing.T, where, expr string, series map[string]map[string]bool) {
	t.Helper()
	ambient := map[string]bool{"job": true, "instance": true}
	any := map[string]bool{}
	for _, n := range metricName.FindAllString(expr, -1) {
		base := n
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suf); ok && series[b] != nil {
				base = b
			}
		}
		for l := range series[base] {
			any[l] = true
		}
	}
	for _, s := range selector.FindAllStringSubmatch(expr, -1) {
		base := s[1]
		if b, ok := strings.CutSuffix(base, "_bucket"); ok && series[b] != nil {
			base = b
		}
		for _, m := range matcher.FindAllStringSubmatch(s[2], -1) {
			if !ambient[m[1]] && !series[base][m[1]] {
				t.Errorf("%s: %s has no label %q (in %q)", where, s[1], m[1], s[0])
			}
		}
	}
	for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !ambient[l] && !any[l] {
				t.Errorf("%s: no series of %q has the label %q it groups by", where, expr, l)
			}
		}
	}
}

// TestAlertAndDashboardLabels: every label the alert rules and the
// dashboard's queries select or group by is one the scraped series carry.
func TestAlertAndDashboardLabels(t *testing.T) {
	series := scraped(t)
	f := readAlerts(t)
	n := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			checkLabels(t, r.Alert, r.Expr, series)
			n++
		}
	}
	d := readDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			checkLabels(t, p.Title, tg.Expr, series)
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d expressions checked", n)
	}
}
