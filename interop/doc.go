// Package interop holds tests of the broker against independent
// implementations of the protocols it speaks, run as separate processes:
// panva's oidc-provider (an OpenID Certified OP, from the npm registry) as
// the upstream OpenID Provider of the broker's relying party.
//
// The node dependencies live in interop/oidc-provider; `.ci/run` installs
// them with `npm ci`. Without them the test is skipped, unless
// BROKER_REQUIRE_INTEROP=1 (set in CI), which turns the skip into a failure.
package interop
