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
// the sign-in path decodes them (go-oidc: encoding/json into float64).
//
// Numbers are left out of that comparison: the simulator keeps a number's
// JSON text ("1.0", "1e2", "12345678901234567890") while a sign-in formats
// the float64 ("1", "100", "12345678901234567000", or refuses 1e400), so
// the two differ today (reported; not fixed here).
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
		// as go-oidc decodes an ID token payload.
		dec := json.NewDecoder(strings.NewReader(strings.TrimSpace(in)))
		var claims map[string]any
		if err := dec.Decode(&claims); err != nil || hasNumber(claims) {
			return
		}
		want := Flatten(claims)
		want[broker.AttrProvider] = []string{"p"}
		if !reflect.DeepEqual(id.Attributes, want) {
			t.Fatalf("simulator attributes %v, a sign-in would give %v", id.Attributes, want)
		}
	})
}

func hasNumber(v any) bool {
	switch x := v.(type) {
	case float64:
		return true
	case []any:
		for _, e := range x {
			if hasNumber(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasNumber(e) {
				return true
			}
		}
	}
	return false
}
