// Package broker holds the domain types of the AWS federation broker:
// who signed in (Identity), what the rules grant them (Grant), what STS
// returned (Credentials) and the typed errors every layer speaks (Error).
//
// It imports only the standard library and package partition (a
// standard-library-only leaf that owns the AWS partition facts ParseARN
// checks against). Protocol packages (saml, oidc, issuer, sts, console),
// the rules engine (mapping) and the use case (access) depend on it; it
// depends on none of them.
//
//	web ──> saml/oidc ──> broker.Identity ──> access ──> mapping ──> []broker.Grant
//	                                             │
//	                     user picks a grant ─────┘
//	access ──> issuer (broker-issued) or upstream credential (pass-through)
//	       ──> sts ──> broker.Credentials ──> console ──> 302 to AWS
package broker
