package oidc

import (
	"encoding/json"
	"strings"

	"github.com/broker-dev/broker"
)

// maxClaimsJSON bounds a pasted claims object.
const maxClaimsJSON = 256 << 10

// ParseUnverifiedClaims builds an identity from a pasted claims JSON object
// (an ID token's payload, or attributes already flattened), flattened
// exactly as a real sign-in with provider would be. Nothing is verified:
// it is for the admin rule simulator only, never for a sign-in.
func ParseUnverifiedClaims(provider, claimsJSON string) (*broker.Identity, error) {
	s := strings.TrimSpace(claimsJSON)
	if len(s) > maxClaimsJSON {
		return nil, broker.Errorf(broker.ETOOLARGE, "claims_too_large", "The claims JSON is too large.")
	}
	var claims map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return nil, broker.Wrap(err, broker.EINVALID, "claims_invalid", "The claims are not a JSON object: "+err.Error())
	}
	id := &broker.Identity{Provider: provider, Protocol: broker.ProtocolOIDC, Attributes: Flatten(claims)}
	if sub := id.First("sub"); sub != "" {
		id.Subject = sub
	}
	if iss := id.First("iss"); iss != "" {
		id.Issuer = iss
	}
	id.Attributes[broker.AttrProvider] = []string{provider}
	return id, nil
}
