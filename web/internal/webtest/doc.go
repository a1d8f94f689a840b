// Package webtest is what the web packages' tests share: fakes of the
// upstream IdP, the session store, STS, the federation endpoint, the SAML
// issuer, the audit log and the replay cache, and environments that build
// the whole site (web/site) on them and send requests through it like a
// browser (a cookie jar, form posts, headers).
//
//	Env       the site with one SAML provider (okta) on the fakes;
//	          Do/Send/SignIn drive it, the fakes are fields to set or read
//	AdminEnv  the site with the admin pages and API on an in-memory SQLite
//	          store and a live rule set; As signs in as anyone, API sends JSON
//
// Each audience's tests live with the audience (web/portal, web/meta,
// web/adminauth, web/admin, web/api, the frame in web) and the assembled
// whole in web/site; all of them are external test packages that go
// through the full site, so they see what a browser or a tool sees.
//
// Only tests import this package. It reaches the store (the fakes speak
// store's types, AdminEnv runs store/sqlstore), which production code under
// web never does.
package webtest
