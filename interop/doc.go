// Package interop holds tests of the broker against independent
// implementations of the protocols it speaks, run as separate processes:
// panva's oidc-provider (an OpenID Certified OP, from the npm registry) as
// the upstream OpenID Provider of the broker's relying party.
//
// panva's openid-client (an OpenID Certified relying party, npm) is an app
// of the broker's OpenID Provider for apps (package apps, run on httptest
// with a SQLite store, the issuer key and a login bridge reduced to a
// signed-in person): interop/openid-client/rp.mjs does discovery, code
// with PKCE S256, state and nonce (a tampered state is rejected by the
// library, the real one passes), ID token validation, userinfo,
// introspection, refresh rotation and reuse detection, revocation, and a
// public client's flow, printing one JSON line per step that
// TestOpenIDClientAgainstAppsOP asserts.
//
// The node dependencies live in interop/oidc-provider and
// interop/openid-client; `.ci/run` installs them with `npm ci` (`make
// deps` too). Without them the tests are skipped, unless
// BROKER_REQUIRE_INTEROP=1 (set in CI), which turns the skip into a failure.
//
// interop/simplesamlphp runs SimpleSAMLphp (Debian's simplesamlphp package,
// under PHP's built-in server) as the SAML IdP of a whole broker, with a
// configuration the test writes to a temporary directory: SP-initiated
// sign-in through its login form, and SP- and IdP-initiated single logout.
// Install it with `sudo bash .ci/system` (apt-get install
// --no-install-recommends simplesamlphp php-cli php-xml php-mbstring), then
//
//	go test -race -count=1 ./interop/simplesamlphp
//
// Without it the tests skip, unless BROKER_REQUIRE_SIMPLESAMLPHP=1 (set in
// CI). The single logout tests skip unless BROKER_SLO_READY=1 until the
// broker serves /saml/ID/slo; `-v` shows the skips.
package interop
