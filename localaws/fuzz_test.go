package localaws

import (
	"encoding/base64"
	"testing"
	"time"
)

// The fuzz targets check that no input makes the parsers panic; their seed
// corpora run with every go test.

func FuzzParsePolicy(f *testing.F) {
	f.Add(trust(allowSAML(testProvider, allActions, `{"ForAllValues:StringLike":{"aws:TagKeys":["a*"]},"Null":{"saml:cn":"true"}}`)))
	f.Add(`{"Statement":{"Effect":"Deny","Principal":"*","NotAction":["sts:?*"]}}`)
	f.Add(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["*"],"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}}]}`)
	f.Add(`{"a":[{"b":{"c":[1,true,null]}}]}`)
	ctx := map[string][]string{"saml:sub": {"alice"}, "aws:tagkeys": {"a", "b"}}
	f.Fuzz(func(t *testing.T, doc string) {
		for _, kind := range []policyKind{trustPolicyKind, sessionPolicyKind} {
			p, err := parsePolicy(doc, kind)
			if err == nil && kind == trustPolicyKind {
				p.evaluate(authzRequest{principalType: "federated", principal: testProvider, action: "sts:AssumeRoleWithSAML", context: ctx})
			}
		}
	})
}

func FuzzSAMLResponse(f *testing.F) {
	fx := newFixture(f)
	f.Add([]byte(mustDecode(f, fx.build(f, fx.spec()))))
	s := fx.spec()
	s.Sign = signBoth
	f.Add([]byte(mustDecode(f, fx.build(f, s))))
	f.Add([]byte(mustDecode(f, fixtureB64(f, "TestXswPermutationFiveIsRejected_response"))))
	f.Add([]byte(`<!DOCTYPE x><x/>`))
	certs := fx.srv.iam.samlProviders[testProvider].certs
	prov := fx.srv.iam.samlProviders[testProvider]
	now := fx.clock.Now()
	f.Fuzz(func(t *testing.T, raw []byte) {
		doc, e := decodeSAMLResponse(base64.StdEncoding.EncodeToString(raw))
		if e != nil {
			return
		}
		resp, el, e := verifySignatures(doc.Root(), certs, now)
		if e != nil {
			return
		}
		_ = checkStatus(resp)
		a, err := parseAssertion(el)
		if err != nil {
			return
		}
		_ = checkAssertion(a, resp, prov, now, time.Minute)
		if c, e := readAWSClaims(a); e == nil {
			samlRequestContext(a, prov, c)
		}
	})
}

func FuzzRegistryYAML(f *testing.F) {
	f.Add("roles:\n  - arn: " + roleAdmin + "\n    trust_policy: {Statement: {Effect: Allow, Principal: '*', Action: 'sts:*'}}\n")
	f.Add("saml_providers:\n  - arn: " + testProvider + "\n    metadata_xml: <x/>\n")
	f.Add("oidc_providers:\n  - {arn: 'arn:aws:iam::123456789012:oidc-provider/a.example', url: 'https://a.example', client_ids: [x]}\n")
	f.Fuzz(func(t *testing.T, doc string) {
		r, err := decodeRegistry([]byte(doc))
		if err == nil {
			for i := range r.SAMLProviders {
				r.SAMLProviders[i].MetadataFile = "" // no file system access from fuzzed input
			}
			compileRegistry(r)
		}
	})
}

func mustDecode(tb testing.TB, b64 string) string {
	tb.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.Fatal(err)
	}
	return string(raw)
}
