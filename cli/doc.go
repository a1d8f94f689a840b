// Package cli is the broker's command line client: it signs a person in
// at the broker's own OpenID Provider as the built-in public client
// broker-cli, keeps the tokens in the person's config directory, and
// calls the broker's HTTP API for roles, AWS credentials and console
// links. It is a client of the HTTP API only: it knows nothing of the
// server's packages (apps, access, web, store).
//
//	broker login ──> discovery (URL/.well-known/openid-configuration)
//	    browser: code + PKCE S256, loopback redirect http://127.0.0.1:PORT/callback
//	             (one request served, state checked, ID token and nonce verified)
//	    device:  RFC 8628 device authorization grant, the person approves at /device
//	    ──> tokens/HASH.json (0600, the URL inside), the URL saved as the default
//	any command ──> access token near expiry? refresh under tokens/HASH.lock,
//	    save the rotated refresh token, then use the access token
//	broker credentials ──> cache/URLHASH/KEYHASH.json (0600) until 5 minutes
//	    before Expiration; misses fetched once under an exclusive flock,
//	    the cache read again after taking it ──> POST /api/v1/credentials
//	broker roles, configure, console, exec ──> GET /api/v1/roles,
//	    POST /api/v1/console, POST /api/v1/credentials
//	broker logout ──> RFC 7009 revocation of the refresh token (best effort),
//	    then the token file and the credential cache deleted
//
// Errors are *broker.Error: Message says what happened and what the
// person does next (run `broker login --url URL`, the server's own words
// for a role not granted or MFA needed); Reason is one of the Reason
// constants or the server's reason.
package cli
