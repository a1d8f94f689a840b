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
//	App.Serve(ctx, listener) ──> http.Server + refresh/upkeep loops ──> graceful shutdown
package app
