package admin

import "slices"

// auditEvents are the events the broker writes to the audit log, the
// audit page's event filter choices, grouped as people look for them.
// TestAuditEventsKnown keeps the list in step with the code that audits.
var auditEvents = []string{
	// People
	"signin", "logout", "logout_event_missing", "session_ended", "sessions_ended",
	"role_assumed", "console_url_issued", "credentials_issued",
	// Apps
	"app_signin", "app_token_issued", "app_code_replayed", "app_refresh_reused",
	"app_consent_granted", "app_consent_denied", "app_consent_revoked",
	"app_device_approved", "app_device_denied", "app_device_code_wrong",
	"app_client_created", "app_client_updated", "app_client_deleted", "app_client_secret_rotated",
	// Administration
	"rule_saved", "rule_deleted", "rules_reordered", "rules_replaced", "rules_seeded",
	"account_saved", "account_deleted", "shortlink_saved", "shortlink_deleted",
	"api_token_created", "api_token_revoked", "api_token_refused",
	"idp_metadata_changed",
	// The broker itself
	"request_cut",
}

// auditEventChoices are the event filter's options: every known event,
// and asked (from a link or an older page) when it is not one of them.
func auditEventChoices(asked string) []string {
	if asked == "" || slices.Contains(auditEvents, asked) {
		return auditEvents
	}
	return append([]string{asked}, auditEvents...)
}
