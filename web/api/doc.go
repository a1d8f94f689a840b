// Package api serves the admin JSON API, every route behind adminauth
// (Bearer token, or an admin session with X-CSRF-Token) and the token
// scope it needs (Routes; a session allows every scope, a token without
// the scope gets 403 api_token_scope).
//
//	GET    /api/v1/rules              rules:read     rules with versions and the set's revision
//	PUT    /api/v1/rules              rules:write    replace all (revision checked; none at all needs "allow_empty": true)
//	POST   /api/v1/rules              rules:write    create
//	GET    /api/v1/rules/:name        rules:read     one rule
//	PUT    /api/v1/rules/:name        rules:write    update (version checked)
//	DELETE /api/v1/rules/:name?version=  rules:write
//	GET    /api/v1/rules/:name/history   rules:read
//	POST   /api/v1/simulate           rules:read     roles for an identity, against live or candidate rules
//	GET    /api/v1/audit              audit:read     audit events, keyset pages
//	GET    /api/v1/accounts           accounts:read  account aliases
//	GET    /api/v1/sessions?provider=&subject=          sessions:read   a person's live sessions (handles, never ids)
//	DELETE /api/v1/sessions?provider=&subject=          sessions:write  end them all: {"ended": N}
//	DELETE /api/v1/sessions/:handle?provider=&subject=  sessions:write  end one: 204, or 404 session_not_found
//	GET    /api/v1/apps ...           apps:read/apps:write  the apps of the OpenID Provider (apps.go)
//	GET    /api/v1/openapi.json       (none)         the OpenAPI 3.1 document (openapi.go, openapi.json)
//
// openapi.json, written by hand, describes every /api/v1 route (the API
// for apps in web/apps too): tests check that it names exactly the routes
// the site registers and exactly the JSON properties their answers hold.
//
// Rules that do not compile get 422 with {rule,index,field,reason} problems;
// stale versions or revisions get 409. A sessions request without provider
// and subject gets 400 session_owner_missing; every end is audited (access).
package api
