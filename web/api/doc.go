// Package api serves the admin JSON API, every route behind adminauth
// (Bearer token, or an admin session with X-CSRF-Token).
//
//	GET    /api/v1/rules              rules with versions and the set's revision
//	PUT    /api/v1/rules              replace all (revision checked; none at all needs "allow_empty": true)
//	POST   /api/v1/rules              create
//	GET    /api/v1/rules/:name        one rule
//	PUT    /api/v1/rules/:name        update (version checked)
//	DELETE /api/v1/rules/:name?version=
//	GET    /api/v1/rules/:name/history
//	POST   /api/v1/simulate           roles for an identity, against live or candidate rules
//	GET    /api/v1/audit              audit events, keyset pages
//	GET    /api/v1/accounts           account aliases
//
// Rules that do not compile get 422 with {rule,index,field,reason} problems;
// stale versions or revisions get 409.
package api
