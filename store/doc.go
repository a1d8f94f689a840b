// Package store declares what the broker persists and the contract every
// backend meets; sqlstore implements it on SQLite (embedded, the default)
// and PostgreSQL (several broker instances on one database), and storetest
// is the conformance suite both must pass.
//
//	web/access/ruleset ──> Store ──> sqlstore ──> SQLite file (one instance)
//	                                           └─> PostgreSQL   (any number)
//	   replay cache   Remember(namespace, key, expires)        one atomic upsert, never evicted before expiry
//	   sessions       Create/Get/Update/DeleteSession          Data encrypted at rest (AES-256-GCM)
//	                  TouchSession (last seen, idle timeout)   a list never holds Data; a delete names a provider
//	                  ListSessions / DeleteSessions(filter)    or a subject: a person's, or one upstream session's
//	   audit log      AppendAudit / ListAudit                  append-only, newest first, keyset pagination, kept Retention.Audit
//	   rules          Rules, PutRule, DeleteRule, Reorder,     versioned; a stale version or revision
//	                  ReplaceRules, RuleHistory, DeletedRules  is ECONFLICT, never merged; every change in history
//	   accounts       Accounts / PutAccount / DeleteAccount    aliases and labels used by the rules
//	   API tokens     Create/APITokens/APITokenByHash/Delete   only the SHA-256 of the secret is stored; expiry, scopes, creator
//	   sign-ins       RecordSignIn / RecentSignIns / SignIn    latest per person, encrypted, kept Retention.SignIns
//	   a login        CompleteSignIn(SignInWrite)              replay entry, previous session out, session, sign-in
//	                                                           and audit in one short transaction; EREPLAY writes nothing
//	   readiness      CheckWrite                               a one-row write: the database accepts writes
//	   IdP metadata   SaveMetadata / LoadMetadata              last good copy per provider; the newest fetch wins
//	   favourites     Favourites / SetFavourite                a person's pinned roles by grant key, at most MaxFavourites
//	   upkeep         Purge(Retention): expired sessions and replay entries,
//	                  audit events and sign-ins past their retention;
//	                  Compact: give the space back (SQLite); Ping, Close
//
// Nothing that matters lives in one process's memory, so any number of
// broker instances can share a store.
package store
