// Package admin serves the admin pages (server-rendered, no JavaScript
// needed), every route behind adminauth.
//
//	GET  /admin/rules                    rules, searchable
//	GET  /admin/rules/new, /:name        editor: condition rows or YAML, simulate, impact preview
//	POST /admin/rules/new, /:name        save (version checked)
//	POST /admin/rules/:name/toggle       enable/disable (impact shown first, then confirm)
//	POST /admin/rules/:name/delete       delete (impact shown first, then confirm)
//	POST /admin/rules/:name/move         reorder (revision checked)
//	GET  /admin/rules/:name/history      every version with line diffs
//	POST /admin/rules/:name/revert       back to a version, or restore a deleted rule
//	GET|POST /admin/simulate             roles and per-rule trace for a sign-in, SAML response or claims
//	GET  /admin/audit                    audit log, filters, CSV export
//	GET|POST /admin/accounts, POST /admin/accounts/:id/delete   account aliases
//	GET|POST /admin/tokens, POST /admin/tokens/:id/delete       admin API tokens
//	GET  /admin/sessions?provider=&subject=  a person's live sessions (handles, never ids)
//	POST /admin/sessions/end, /end-all   end one (by handle) or all of a person's sessions (audited in access)
//	GET|POST /admin/apps/new, /:id       the apps of the OpenID Provider: register (secret shown once), edit (version checked)
//	POST /admin/apps/:id/secret, /delete new secret, delete (asked first, then confirm); see apps.go
package admin
