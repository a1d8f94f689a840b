// Package access is the broker's use case, free of HTTP: it turns a
// verified identity into the roles the rules grant and, when the person picks
// one, into an AWS console session.
//
//	broker.Identity ──> mapping.Engine.Evaluate ──> []broker.Grant      (Decide)
//
//	pick grant ──> credential for STS:
//	                 pass-through:  the upstream SAML Response, unchanged
//	                 broker-issued: issuer mints a Response for exactly this role
//	           ──> sts.AssumeRoleWith{SAML,WebIdentity} ──> broker.Credentials
//	           ──> console.LoginURL (getSigninToken + login URL)
//	           ──> audit record (success or the precise failure reason)  (Assume)
//
// Every outcome, good or bad, is written to the audit log with who, what,
// when and from where. Secrets (assertions, credentials, the login URL) never
// reach the audit log or the logger.
package access
