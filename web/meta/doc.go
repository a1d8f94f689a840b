// Package meta serves what machines read: protocol metadata and health.
//
//	GET /saml/:p/metadata                 SP metadata of one SAML provider
//	GET /idp/saml/metadata                the broker's own IdP metadata (broker-issued SAML)
//	GET|POST /idp/saml/sso                its SingleSignOnService: IdP-initiated sign-in to AWS, a 303 to
//	                                      /go?account=&role= (the /go parameters kept) or to the portal (sso.go)
//	GET /.well-known/openid-configuration the broker's own OIDC issuer (broker-issued web identity)
//	GET /idp/oidc/jwks                    its signing keys
//	GET /healthz                          liveness
//	GET /readyz                           readiness: the store answers and accepts a write, and at least one IdP is usable;
//	                                      warnings (still 200): the IdP metadata's validUntil within 30 days,
//	                                      AWS (STS, federation) failing (checks.aws "degraded");
//	                                      503 "shutting down" from SIGTERM on (the drain)
package meta
