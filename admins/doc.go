// Package admins is the use case of administering the broker, apart from
// the rules themselves (ruleset): who is an administrator, the admin API
// tokens, and the audit log administrators read.
//
//	verified identity ──> admin condition (mapping.Matcher), on every request   (IsAdmin)
//	Authorization: Bearer brk_… ──> SHA-256 ──> store (records last use)        (Authenticate)
//	   ──> expired? (api_token_expired)
//	   ──> creator's latest sign-in (store) meets the admin condition now?
//	       no, or none kept ──> api_token_orphaned
//	   ──> Caller{Actor "token:NAME", Token.Scopes}; refusals audited
//	route's scope not in the token ──> api_token_scope, audited              (RefuseScope)
//	create token: name, scopes (Scopes()), lifetime (0 = default, ≤ max),
//	   creator an admin by their latest sign-in ──> secret shown once,
//	   only its hash stored ──> audit with scopes and expiry                    (CreateToken)
//	revoke token ──> store ──> audit                                            (RevokeToken)
//	audit filter ──> store (newest first, keyset pages)                         (Audit)
//
// A token is as good as its creator: it works only while the latest
// verified sign-in the store keeps of the person who created it satisfies
// the admin condition now. There is no directory to ask, so that sign-in
// is the broker's latest word on the person: signing in again without the
// admin group, a change of the admin condition, or the record's purge by
// retention (store.retention.sign_ins) each stop the token at once.
//
// The web layer (web/adminauth, web/admin, web/api) reaches tokens and the
// audit log only through this package.
package admins
