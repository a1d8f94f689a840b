// Package devstack runs the whole product on one machine with no AWS
// account: the broker, a demo SAML IdP and a demo OpenID Provider (devidp)
// with three users, and a strict local stand-in for AWS STS and the console
// sign-in (localaws), and a demo app that signs people in with the broker
// (devapp). `broker dev` and the end-to-end tests start it.
//
//	browser ──> broker :8080 ──(AuthnRequest)──> demo IdP :8081 ──(Response)──> broker
//	        ──> broker :8080 ──(code + PKCE)────> demo OP  :8082 ──(ID token)──> broker
//	broker ──(AssumeRoleWithSAML / WithWebIdentity, getSigninToken)──> local AWS :8083 ──> console page
//	demo app 127.0.0.1:8084 ──(code + PKCE)──> broker ──(ID token, aws_roles)──> demo app
//	         ──(POST /api/v1/credentials)──> broker; ──(GetCallerIdentity)──> local AWS
//
// Keys, passwords and the SQLite file live in the data directory and are
// reused on the next start (Options.PostgresDSN puts the store in
// PostgreSQL instead); the broker's config file and the local AWS registry
// are regenerated there at each start so they always match the ports in use.
package devstack
