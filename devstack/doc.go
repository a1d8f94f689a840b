// Package devstack runs the whole product on one machine with no AWS
// account: the broker, a demo SAML IdP (devidp) with three users, and a
// strict local stand-in for AWS STS and the console sign-in (localaws).
// `broker dev` and the end-to-end tests start it.
//
//	browser ──> broker :8080 ──(AuthnRequest)──> demo IdP :8081 ──(Response)──> broker
//	broker ──(AssumeRoleWithSAML, getSigninToken)──> local AWS :8083 ──> local console page
//
// Keys, passwords and the SQLite file live in the data directory and are
// reused on the next start; the broker's config file is regenerated there
// at each start so it always matches the ports in use.
package devstack
