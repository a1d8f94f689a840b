// Package app wires a validated configuration into a running broker: store,
// SAML service providers, the broker's own IdP, STS and console clients, the
// access use case and the web server, plus the background loops (metadata
// refresh, store upkeep: purge by store.retention, then compact). cmd/broker
// and the end-to-end tests both use it.
//
//	config.Config ──> New: OpenStore ─> buildIssuers ─> buildProviders
//	    ─> check + seed the config's rules (ruleset) ─> loadRules ─> buildAccess
//	    (sts, console) ─> buildWeb (admins, ruleset.Admin, access.Sessions,
//	    web/site) ──> App{store, providers, issuer, access, web}
//	SAML providers get the store as their metadata cache (the last good
//	copy) and auditMetadataChange as their change callback (audit event
//	idp_metadata_changed: provider, keys_before, keys_after).
//	App.Serve(ctx, listener) ──> http.Server (requests in flight tracked, inflight.go)
//	    + refresh/upkeep loops
//	ctx ends (SIGTERM) ──> drain: /readyz 503, still serving (server.shutdown_drain)
//	    ──> listener closed, grace for requests in flight (server.shutdown_grace)
//	    ──> the rest cut: logged and audited request_cut ──> loops stopped, flush
//	    ──> Close: store closed
package app
