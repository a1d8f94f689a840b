package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures New.
type Config struct {
	// Version is the broker's version for broker_build_info; "" = the
	// main module's version from the binary's build info.
	Version string
	// MaxLabelValues bounds the distinct values of each label (default
	// MaxLabelValues).
	MaxLabelValues int
}

// MaxLabelValues is the default bound on the distinct values one label
// keeps; further values are counted as OtherValue.
const MaxLabelValues = 100

// What a label value is replaced by: OtherValue once the label has
// MaxLabelValues distinct values, InvalidValue for a value that is not a
// short identifier (letters, digits, "_", "-", ".", ":"; at most 64).
const (
	OtherValue   = "other"
	InvalidValue = "invalid"
)

// Results of a sign-in or role assumption (the audit log's result).
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Metrics holds the broker's series on its own registry. A nil *Metrics
// is valid and records nothing.
type Metrics struct {
	reg   *prometheus.Registry
	names []string

	signIns          *counterVec
	roleAssumptions  *counterVec
	auditFailures    *counterVec
	awsDuration      *histogramVec
	awsErrors        *counterVec
	idpLastSuccess   *gaugeVec
	idpFailures      *counterVec
	storeDuration    *histogramVec
	storeErrors      *counterVec
	activeSessions   prometheus.Gauge
	rulesRevision    prometheus.Gauge
	rulesLoaded      prometheus.Gauge
	rulesFailures    *counterVec
	rateLimited      *counterVec
	appTokensIssued  *counterVec
	sessionsFailures prometheus.Counter
}

// New returns the broker's metrics on a fresh registry, with the Go
// runtime and process collectors and broker_build_info.
func New(cfg Config) *Metrics {
	max := cfg.MaxLabelValues
	if max <= 0 {
		max = MaxLabelValues
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg}
	counter := func(name, help string, labels ...string) *counterVec {
		m.names = append(m.names, name)
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return &counterVec{v: v, g: newGuards(len(labels), max)}
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *histogramVec {
		m.names = append(m.names, name)
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
		reg.MustRegister(v)
		return &histogramVec{v: v, g: newGuards(len(labels), max)}
	}
	gauge := func(name, help string) prometheus.Gauge {
		m.names = append(m.names, name)
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		reg.MustRegister(g)
		return g
	}
	m.signIns = counter("broker_signins_total",
		"Sign-ins by provider, result and reason, as written to the audit log (an aggregated failure event counts each failure it stands for).",
		"provider", "result", "reason")
	m.roleAssumptions = counter("broker_role_assumptions_total",
		"Role assumptions (console sign-ins) by downstream, result and reason, as written to the audit log.",
		"downstream", "result", "reason")
	m.auditFailures = counter("broker_audit_write_failures_total",
		"Audit records the store did not take, by event.", "event")
	m.awsDuration = histogram("broker_aws_request_duration_seconds",
		"Latency of calls to AWS STS and the federation endpoint (each attempt the broker makes).",
		[]float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, "service", "operation")
	m.awsErrors = counter("broker_aws_request_errors_total",
		"Failed calls to AWS STS and the federation endpoint by AWS error code (or timeout, unreachable, http_STATUS).",
		"service", "operation", "code")
	m.idpLastSuccess = &gaugeVec{v: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "broker_idp_metadata_last_success_timestamp_seconds",
		Help: "When the IdP metadata in use (SAML, URL metadata) was fetched, or OIDC discovery succeeded (Unix seconds).",
	}, []string{"kind", "provider"}), g: newGuards(2, max)}
	reg.MustRegister(m.idpLastSuccess.v)
	m.names = append(m.names, "broker_idp_metadata_last_success_timestamp_seconds")
	m.idpFailures = counter("broker_idp_metadata_refresh_failures_total",
		"Failed IdP metadata refreshes (SAML) and discovery attempts (OIDC).", "kind", "provider")
	m.storeDuration = histogram("broker_store_operation_duration_seconds",
		"Latency of store operations.",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}, "operation")
	m.storeErrors = counter("broker_store_errors_total",
		"Store operations that returned an error, by error code (internal and unavailable are failures of the store; not_found, conflict and replay are answers).",
		"operation", "code")
	m.activeSessions = gauge("broker_active_sessions",
		"Live portal sessions in the store (counted periodically).")
	m.rulesRevision = gauge("broker_rules_revision", "Revision of the rule set in force on this instance.")
	m.rulesLoaded = gauge("broker_rules_loaded", "Rules in force on this instance (0: nobody gets a role).")
	m.rulesFailures = counter("broker_rules_reload_failures_total",
		"Failed rule reloads by stage (store: could not read; compile: stored rules do not compile, the previous ones stay).", "stage")
	m.rateLimited = counter("broker_rate_limited_total", "Requests refused with 429 by limit.", "limit")
	m.appTokensIssued = counter("broker_app_tokens_issued_total",
		"Tokens the OpenID Provider for apps issued, by kind (access, refresh).", "kind")
	m.sessionsFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "broker_active_sessions_count_failures_total",
		Help: "Failed counts of live sessions (broker_active_sessions keeps its last value)."})
	reg.MustRegister(m.sessionsFailures)
	reg.MustRegister(buildInfo(cfg.Version))
	m.names = append(m.names, "broker_active_sessions_count_failures_total", "broker_build_info")
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// buildInfo is broker_build_info{version, revision, go_version} 1.
func buildInfo(version string) prometheus.Collector {
	revision := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	if version == "" {
		version = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "broker_build_info", Help: "The broker's version, VCS revision and Go version (always 1).",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "go_version": runtime.Version()},
	})
	g.Set(1)
	return g
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry the series live on (tests, extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SignIns counts n sign-ins of provider with result (ResultSuccess or
// ResultFailure) and reason ("" on success).
func (m *Metrics) SignIns(provider, result, reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.signIns.add(float64(n), provider, result, reason)
}

// RoleAssumption counts one role assumption of downstream ("saml",
// "web_identity"; "" when it failed before a grant was found).
func (m *Metrics) RoleAssumption(downstream, result, reason string) {
	if m == nil {
		return
	}
	m.roleAssumptions.add(1, downstream, result, reason)
}

// AuditWriteFailed counts an audit record of event the store did not take.
func (m *Metrics) AuditWriteFailed(event string) {
	if m == nil {
		return
	}
	m.auditFailures.add(1, event)
}

// Services of AWSCall.
const (
	ServiceSTS        = "sts"
	ServiceFederation = "federation"
)

// AWSCall records one call to AWS: its latency and, when code is not "",
// its failure (the AWS error code, "timeout", "unreachable", "http_400").
func (m *Metrics) AWSCall(service, operation string, d time.Duration, code string) {
	if m == nil {
		return
	}
	m.awsDuration.observe(d.Seconds(), service, operation)
	if code != "" {
		m.awsErrors.add(1, service, operation, code)
	}
}

// Kinds of IdP for IdPRefreshed and IdPRefreshFailed.
const (
	KindSAML = "saml"
	KindOIDC = "oidc"
)

// IdPRefreshed records that provider's metadata in use was fetched at
// fetched (SAML) or its discovery succeeded then (OIDC).
func (m *Metrics) IdPRefreshed(kind, provider string, fetched time.Time) {
	if m == nil {
		return
	}
	m.idpLastSuccess.set(float64(fetched.UnixMilli())/1000, kind, provider)
	m.idpFailures.add(0, kind, provider) // the series exists from the first success
}

// IdPRefreshFailed counts a failed metadata refresh or discovery.
func (m *Metrics) IdPRefreshFailed(kind, provider string) {
	if m == nil {
		return
	}
	m.idpFailures.add(1, kind, provider)
}

// StoreOp records one store operation: its latency and, when code is not
// "", its error code (broker.ErrorCode).
func (m *Metrics) StoreOp(operation string, d time.Duration, code string) {
	if m == nil {
		return
	}
	m.storeDuration.observe(d.Seconds(), operation)
	if code != "" {
		m.storeErrors.add(1, operation, code)
	}
}

// SetActiveSessions sets the number of live sessions; a negative n
// records a failed count (the gauge keeps its value).
func (m *Metrics) SetActiveSessions(n int64) {
	if m == nil {
		return
	}
	if n < 0 {
		m.sessionsFailures.Inc()
		return
	}
	m.activeSessions.Set(float64(n))
}

// SetRules records the rule set in force: its revision and how many rules.
func (m *Metrics) SetRules(revision int64, rules int) {
	if m == nil {
		return
	}
	m.rulesRevision.Set(float64(revision))
	m.rulesLoaded.Set(float64(rules))
}

// Stages of RulesReloadFailed.
const (
	StageStore   = "store"
	StageCompile = "compile"
)

// RulesReloadFailed counts a failed rule reload at stage.
func (m *Metrics) RulesReloadFailed(stage string) {
	if m == nil {
		return
	}
	m.rulesFailures.add(1, stage)
}

// RateLimited counts a request refused by the limit named limit.
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.add(1, limit)
}

// Kinds of app tokens.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// AppTokenIssued counts a token the OpenID Provider for apps issued.
func (m *Metrics) AppTokenIssued(kind string) {
	if m == nil {
		return
	}
	m.appTokensIssued.add(1, kind)
}

// HTTPStatusCode is the code of a failed HTTP call answered with status.
func HTTPStatusCode(status int) string { return "http_" + strconv.Itoa(status) }
