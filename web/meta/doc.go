// Package meta serves what machines read: protocol metadata and health.
//
//	GET /saml/:p/metadata                 SP metadata of one SAML provider
//	GET /idp/saml/metadata                the broker's own IdP metadata (broker-issued SAML)
//	GET /.well-known/openid-configuration the broker's own OIDC issuer (broker-issued web identity)
//	GET /idp/oidc/jwks                    its signing keys
//	GET /healthz                          liveness
//	GET /readyz                           readiness: the store answers and at least one IdP is usable
package meta
