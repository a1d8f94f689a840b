// Package devstack runs the whole product on one machine with no AWS
// account: the broker, a demo SAML IdP and a demo OpenID Provider (devidp)
// with three users, and a strict local stand-in for AWS STS and the console
// sign-in (localaws). `broker dev` and the end-to-end tests start it.
//
//	browser ──> broker :8080 ──(AuthnRequest)──> demo IdP :8081 ──(Response)──> broker
//	        ──> broker :8080 ──(code + PKCE)────> demo OP  :8082 ──(ID token)──> broker
//	broker ──(AssumeRoleWithSAML / WithWebIdentity, getSigninToken)──> local AWS :8083 ──> console page
//
// Keys, passwords and the SQLite file live in the data directory and are
// reused on the next start (Options.PostgresDSN puts the store in
// PostgreSQL instead); the broker's config file and the local AWS registry
// are regenerated there at each start so they always match the ports in use.
package devstack
