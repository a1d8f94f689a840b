// Package admins is the use case of administering the broker, apart from
// the rules themselves (ruleset): who is an administrator, the admin API
// tokens, and the audit log administrators read.
//
//	verified identity ──> admin condition (mapping.Matcher), on every request   (IsAdmin)
//	Authorization: Bearer brk_… ──> SHA-256 ──> store ──> Actor "token:NAME"   (Authenticate)
//	create token ──> secret shown once, only its hash stored ──> audit          (CreateToken)
//	revoke token ──> store ──> audit                                            (RevokeToken)
//	audit filter ──> store (newest first, keyset pages)                         (Audit)
//
// The web layer (web/adminauth, web/admin, web/api) reaches tokens and the
// audit log only through this package.
package admins
