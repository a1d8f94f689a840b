// Package simplesamlphp tests the broker's SAML service provider against
// SimpleSAMLphp (Debian's simplesamlphp package) as a real IdP peer: a
// whole broker (app.New, SQLite in a temp directory) whose provider "ssp"
// reads SimpleSAMLphp's IdP metadata, driven by an HTTP client with a
// cookie jar like a browser.
//
//	test ──> writes a SimpleSAMLphp config dir in t.TempDir():
//	         config.php, authsources.php (exampleauth:UserPass: alice, bob),
//	         metadata/saml20-idp-hosted.php (a fresh key + certificate),
//	         metadata/saml20-sp-remote.php (the broker: ACS, SLO, its SP
//	         certificate; persistent NameID from uid; signed logout both ways)
//	     ──> SIMPLESAMLPHP_CONFIG_DIR=… php -S 127.0.0.1:FREE -t DOCROOT
//	         (DOCROOT/simplesaml links to /usr/share/simplesamlphp/www)
//	     ──> the broker on another free port, metadata_url = SimpleSAMLphp's
//	         …/simplesaml/saml2/idp/metadata.php, sp_key + sign_requests
//
//	browser ──> broker /saml/ssp/login ──(signed AuthnRequest)──> SimpleSAMLphp
//	        ──> login form ──(signed Response, auto-post)──> broker /saml/ssp/acs ──> portal
//	        ──> POST /logout ──(LogoutRequest)──> SimpleSAMLphp ──(LogoutResponse)──> broker /saml/ssp/slo
//	        ──> SimpleSAMLphp …/SingleLogoutService.php?ReturnTo= ──(LogoutRequest)──> broker /saml/ssp/slo
//
// Two tests pin SimpleSAMLphp's half of single logout whatever the broker
// does: it sends /saml/ssp/slo a signed LogoutRequest naming the sign-in's
// NameID and SessionIndex, and it answers a LogoutRequest signed with the
// broker's SP key (and only that key) with a signed successful
// LogoutResponse. The end-to-end logout tests skip until BROKER_SLO_READY
// is set (the broker's /saml/ID/slo is being built; the guard goes with it).
//
// The config templates are testdata/*.php.tmpl. Without php or
// SimpleSAMLphp the tests skip; BROKER_REQUIRE_SIMPLESAMLPHP=1 (set in
// .ci/run) makes that a failure. Run: go test -race ./interop/simplesamlphp
package simplesamlphp
