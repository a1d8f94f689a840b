// Package metrics is the broker's Prometheus instrumentation: one registry
// of its own (never the process-wide default), the series every other
// package reports into, and the /metrics handler.
//
//	access (the one function that writes audit records) ──> SignIns, RoleAssumption
//	sts, console ──> AWSCall (latency histogram, errors by AWS error code)
//	saml, oidc ──> IdPRefreshed, IdPRefreshFailed (metadata / discovery age)
//	app's store wrapper ──> StoreOp (latency, errors by code), AppTokenIssued
//	app's upkeep ──> SetActiveSessions
//	ruleset.Source ──> SetRules, RulesReloadFailed
//	web/ratelimit ──> RateLimited
//	Handler ──> GET /metrics (public listener, or server.metrics_listen)
//
// Every method is safe on a nil *Metrics (it does nothing), so a package
// takes an optional *Metrics without checking for it.
//
// Label values are bounded: callers pass only stable identifiers (provider
// ids from the config, reasons and error codes from fixed sets), never
// user names, role ARNs or paths; and as a guard every label keeps at most
// MaxLabelValues distinct values, the rest are counted as "other", and a
// value that is not a short identifier is counted as "invalid".
//
// This package imports only the standard library and client_golang: every
// other package may import it.
package metrics
