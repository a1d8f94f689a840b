package oidc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
)

// FuzzParseUnverifiedClaims: whatever claims an admin pastes into the
// simulator, the answer is an identity or a *broker.Error with a reason and
// a message. An identity is the one a real sign-in with the same claims
// would give: sub, iss, and the attributes Flatten makes of the claims as
// the sign-in path decodes them (claimsOf: numbers kept as their JSON
// text, so "1.0", "1e2" and "12345678901234567890" mean the same in both).
func FuzzParseUnverifiedClaims(f *testing.F) {
	for _, s := range []string{
		`{"sub":"u-1","iss":"https://op.example.com","groups":["dev","ops"],"realm_access":{"roles":["admin"]},"n":12}`,
		`{"sub":"bob","aud":["broker","other"],"email_verified":true,"https://example.com/claims/team":"platform","x":null}`,
		`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":"too deep"}}}}}}}}}}`,
		`{"a":[[["x",["y"]]],{"b":[1,2.5,-0,1e2]}],"a.b":"dup"}`,
		`{"sub":1,"iss":["x"]}`,
		`[1,2]`, `{"sub":`, `not json`, `null`, `{} trailing`, `"str"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, err := ParseUnverifiedClaims("p", in)
		if err != nil {
			e, ok := err.(*broker.Error)
			if !ok || id != nil || e.Reason == "" || e.Message == "" || (e.Code != broker.EINVALID && e.Code != broker.ETOOLARGE) {
				t.Fatalf("refusal is %T %#v", err, err)
			}
			return
		}
		if id.Provider != "p" || id.Protocol != broker.ProtocolOIDC || !reflect.DeepEqual(id.Attributes[broker.AttrProvider], []string{"p"}) {
			t.Fatalf("identity %+v", id)
		}
		if id.Subject != id.First("sub") || id.Issuer != id.First("iss") {
			t.Fatalf("subject %q / issuer %q are not the first sub / iss values %v", id.Subject, id.Issuer, id.Attributes)
		}
		for k, vs := range id.Attributes {
			if len(vs) == 0 {
				t.Fatalf("attribute %q = %v", k, vs)
			}
		}
		// The sign-in path: the first JSON value of the same text, decoded
		// as verify decodes an ID token payload.
		dec := json.NewDecoder(strings.NewReader(strings.TrimSpace(in)))
		var first json.RawMessage
		if err := dec.Decode(&first); err != nil {
			return
		}
		claims, err := claimsOf(func(v any) error { return json.Unmarshal(first, v) })
		if err != nil {
			t.Fatalf("the simulator took claims a sign-in refuses: %v", err)
		}
		want := Flatten(claims)
		want[broker.AttrProvider] = []string{"p"}
		if !reflect.DeepEqual(id.Attributes, want) {
			t.Fatalf("simulator attributes %v, a sign-in would give %v", id.Attributes, want)
		}
	})
}
