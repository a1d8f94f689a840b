// Package ruleset keeps the role mapping rules in the store, changes them
// (Admin: the one way every writer does) and keeps the compiled engine
// every instance uses in step with them (Source).
//
//	admin pages, JSON API (and `broker rules apply --url` through it),
//	`broker rules apply --config`, start-up seed
//	    │ Actor{ID, request}
//	    ▼
//	Admin.Create/Update/SetEnabled/Delete/Move/Reorder/ReplaceAll/Revert/Restore/SaveAccount/DeleteAccount/Seed
//	    1. read the store's current rules and accounts (not an instance's snapshot)
//	    2. check the whole candidate set compiles ──> Problems{rule, index, field, reason}
//	    3. save with the rule's version / the set's revision ──> ECONFLICT when stale
//	       (the store records the history)
//	    4. one audit event (rule_saved, rule_deleted, rules_reordered, rules_replaced,
//	       rules_seeded, account_saved, account_deleted) as the actor
//	    5. Source.Refresh: this instance applies the change at once
//	    ▼
//	store (rules, accounts, revision) ◄── Source.Run polls the revision ──> Source.Engine() ──> access
//
//	Check(rules, opts)                      pure: the config file's rules (`broker check`, start-up)
//	Admin.Check / Candidate                 a candidate set against the store, nothing saved
//	Admin.Simulate(rules|nil, identity)     grants and trace; nil = the rules in force
//	Admin.ImpactPreview(before, after, n)   who gains or loses which role over the last n sign-ins
//	Admin.Rule / Current / History / Deleted / Accounts / RecentSignIns   reads for the admin pages and API
//	Admin.SaveShortLink / DeleteShortLink   the short links /go/NAME (routing data like the
//	                                        aliases: checked as a /go link, audited shortlink_saved,
//	                                        shortlink_deleted; no revision, nothing to recompile)
//	Admin.ShortLinks / ShortLink            reads for the admin pages, the API and the portal's /go/NAME
//
// The store is the source of truth: every instance polls the store's rule
// revision (one indexed single-row query) and recompiles when it moves,
// so a rule saved on one instance is in force on all of them within about
// a second. The engine is swapped atomically: a login in flight keeps the
// engine it started with. Stored rules that do not compile keep the
// previous engine in force (fail closed).
//
// Rule shapes: mapping.Rule is the engine's (and the YAML/JSON format's),
// store.StoredRule/NamedRule the store's; the conversions between them are
// in stored.go and nowhere else.
package ruleset
