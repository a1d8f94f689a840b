package localaws

import (
	"strings"
	"testing"
)

const fedARN = "arn:aws:iam::123456789012:saml-provider/IdP"

func TestParsePolicyRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind policyKind
		doc  string
		want string
	}{
		{"not JSON", trustPolicyKind, `{"Statement": [`, "not in the valid JSON format"},
		{"array at the top", trustPolicyKind, `[]`, "must be a JSON object"},
		{"trailing data", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*"}} {}`, "after the policy object"},
		{"duplicate key", trustPolicyKind, `{"Statement":{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"sts:*"}}`, `duplicate key "Effect"`},
		{"duplicate nested key", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"a:b":"1","a:b":"2"}}}}`, `duplicate key "a:b"`},
		{"unknown top-level element", trustPolicyKind, `{"Statements":[]}`, `unknown element "Statements"`},
		{"bad version", trustPolicyKind, `{"Version":"2012-10-18","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*"}}`, "Version must be"},
		{"no statement", trustPolicyKind, `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"empty statement list", trustPolicyKind, `{"Statement":[]}`, "the list is empty"},
		{"statement not an object", trustPolicyKind, `{"Statement":["x"]}`, "a statement must be an object"},
		{"unknown statement element", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Actions":"x"}}`, `unknown element "Actions"`},
		{"bad Sid", trustPolicyKind, `{"Statement":{"Sid":"a b","Effect":"Allow","Principal":"*","Action":"sts:*"}}`, "alpha-numeric"},
		{"missing Effect", trustPolicyKind, `{"Statement":{"Principal":"*","Action":"sts:*"}}`, "Missing required field Effect"},
		{"lower-case effect", trustPolicyKind, `{"Statement":{"Effect":"allow","Principal":"*","Action":"sts:*"}}`, `Effect must be "Allow" or "Deny"`},
		{"trust without Principal", trustPolicyKind, `{"Statement":{"Effect":"Allow","Action":"sts:*"}}`, "Missing required field Principal"},
		{"trust with NotPrincipal", trustPolicyKind, `{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"x"},"Action":"sts:*"}}`, "Has prohibited field NotPrincipal"},
		{"trust with Resource", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Resource":"*"}}`, "Has prohibited field Resource"},
		{"principal of unknown type", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":{"User":"x"},"Action":"sts:*"}}`, `unknown principal type "User"`},
		{"principal string not *", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"arn:x","Action":"sts:*"}}`, "Invalid principal"},
		{"empty principal list", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":{"Federated":[]},"Action":"sts:*"}}`, "non-empty list"},
		{"no Action", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*"}}`, "Missing required field Action"},
		{"Action and NotAction", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","NotAction":"s3:*"}}`, "exclusive"},
		{"malformed action", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"AssumeRoleWithSAML"}}`, "service:ActionName"},
		{"unknown condition operator", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringMatches":{"saml:aud":"x"}}}}`, "Invalid Condition type : StringMatches"},
		{"operator localaws cannot evaluate", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`, "not supported by localaws"},
		{"Null with a qualifier", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"ForAnyValue:Null":{"saml:sub":"true"}}}}`, "Null takes no qualifier"},
		{"Null with a non-boolean", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"Null":{"saml:sub":"yes"}}}}`, `must be "true" or "false"`},
		{"condition key without prefix", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"aud":"x"}}}}`, "prefix:name"},
		{"empty condition values", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"saml:aud":[]}}}}`, "non-empty list"},
		{"policy variable", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"saml:sub":"${saml:iss}"}}}}`, "policy variables"},
		{"trust longer than 2048 characters", trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"saml:sub":"` + strings.Repeat("x", 2048) + `"}}}}`, "more than 2048 characters"},
		{"session policy with Principal", sessionPolicyKind, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`, "should not specify a principal"},
		{"session policy without Resource", sessionPolicyKind, `{"Statement":{"Effect":"Allow","Action":"s3:*"}}`, "Missing required field Resource"},
		{"session policy with a bad Resource", sessionPolicyKind, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}}`, "must be * or an ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parsePolicy(tt.doc, tt.kind)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parsePolicy error = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestParsePolicyAccepts(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		kind policyKind
		doc  string
	}{
		"trust, statement object":        {trustPolicyKind, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"` + fedARN + `"},"Action":"sts:AssumeRoleWithSAML"}}`},
		"trust, numbers and booleans":    {trustPolicyKind, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["sts:*"],"Condition":{"Bool":{"aws:SecureTransport":true},"StringEquals":{"saml:uid":42}}}]}`},
		"trust, several principal kinds": {trustPolicyKind, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root","Service":["ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}}`},
		"session, NotResource and Date":  {sessionPolicyKind, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::b","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := parsePolicy(tc.doc, tc.kind); err != nil {
				t.Fatalf("parsePolicy: %v", err)
			}
		})
	}
}

func TestPolicyEvaluate(t *testing.T) {
	t.Parallel()
	ctx := map[string][]string{
		"saml:aud":                  {"https://signin.aws.amazon.com/saml"},
		"saml:sub":                  {"alice@example.com"},
		"saml:edupersonaffiliation": {"member", "staff"},
		"aws:tagkeys":               {"team", "cost"},
		"aws:requesttag/team":       {"Eng"},
	}
	allow := func(cond string) string {
		s := `{"Effect":"Allow","Principal":{"Federated":"` + fedARN + `"},"Action":"sts:AssumeRoleWithSAML"`
		if cond != "" {
			s += `,"Condition":` + cond
		}
		return s + "}"
	}
	tests := []struct {
		name      string
		statement []string
		action    string // default sts:AssumeRoleWithSAML
		principal string // default fedARN
		want      decision
	}{
		{"plain allow", []string{allow("")}, "", "", allowed},
		{"other principal", []string{allow("")}, "", "arn:aws:iam::123456789012:saml-provider/Other", implicitDeny},
		{"principal *", []string{`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithSAML"}`}, "", "arn:aws:iam::1:saml-provider/X", allowed},
		{"principal in a list", []string{`{"Effect":"Allow","Principal":{"Federated":["x","` + fedARN + `"]},"Action":"sts:*"}`}, "", "", allowed},
		{"other action", []string{allow("")}, "sts:TagSession", "", implicitDeny},
		{"action glob", []string{`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWith*"}`}, "", "", allowed},
		{"action ? glob", []string{`{"Effect":"Allow","Principal":"*","Action":"sts:?agSession"}`}, "sts:TagSession", "", allowed},
		{"action case-insensitive", []string{`{"Effect":"Allow","Principal":"*","Action":"STS:assumerolewithsaml"}`}, "", "", allowed},
		{"NotAction excludes", []string{`{"Effect":"Allow","Principal":"*","NotAction":"sts:TagSession"}`}, "sts:TagSession", "", implicitDeny},
		{"NotAction includes others", []string{`{"Effect":"Allow","Principal":"*","NotAction":"sts:TagSession"}`}, "", "", allowed},
		{"explicit deny wins", []string{allow(""), `{"Effect":"Deny","Principal":"*","Action":"*"}`}, "", "", explicitDeny},
		{"deny before allow still wins", []string{`{"Effect":"Deny","Principal":"*","Action":"sts:*"}`, allow("")}, "", "", explicitDeny},
		{"deny not matching its condition", []string{allow(""), `{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringEquals":{"saml:sub":"bob"}}}`}, "", "", allowed},
		{"StringEquals match", []string{allow(`{"StringEquals":{"saml:aud":"https://signin.aws.amazon.com/saml"}}`)}, "", "", allowed},
		{"StringEquals keys case-insensitive", []string{allow(`{"StringEquals":{"SAML:AUD":"https://signin.aws.amazon.com/saml"}}`)}, "", "", allowed},
		{"StringEquals values case-sensitive", []string{allow(`{"StringEquals":{"saml:sub":"ALICE@example.com"}}`)}, "", "", implicitDeny},
		{"StringEquals any of several values", []string{allow(`{"StringEquals":{"saml:sub":["bob","alice@example.com"]}}`)}, "", "", allowed},
		{"StringEquals missing key", []string{allow(`{"StringEquals":{"saml:cn":"x"}}`)}, "", "", implicitDeny},
		{"StringEqualsIfExists missing key", []string{allow(`{"StringEqualsIfExists":{"saml:cn":"x"}}`)}, "", "", allowed},
		{"StringEqualsIfExists present, mismatch", []string{allow(`{"StringEqualsIfExists":{"saml:sub":"x"}}`)}, "", "", implicitDeny},
		{"StringEqualsIgnoreCase", []string{allow(`{"StringEqualsIgnoreCase":{"saml:sub":"ALICE@EXAMPLE.COM"}}`)}, "", "", allowed},
		{"StringNotEqualsIgnoreCase", []string{allow(`{"StringNotEqualsIgnoreCase":{"saml:sub":"ALICE@EXAMPLE.COM"}}`)}, "", "", implicitDeny},
		{"StringNotEquals mismatch", []string{allow(`{"StringNotEquals":{"saml:sub":"bob"}}`)}, "", "", allowed},
		{"StringNotEquals match", []string{allow(`{"StringNotEquals":{"saml:sub":"alice@example.com"}}`)}, "", "", implicitDeny},
		{"StringNotEquals missing key holds", []string{allow(`{"StringNotEquals":{"saml:cn":"x"}}`)}, "", "", allowed},
		{"StringLike *", []string{allow(`{"StringLike":{"saml:sub":"*@example.com"}}`)}, "", "", allowed},
		{"StringLike ?", []string{allow(`{"StringLike":{"saml:sub":"alic?@example.com"}}`)}, "", "", allowed},
		{"StringLike no match", []string{allow(`{"StringLike":{"saml:sub":"*@evil.com"}}`)}, "", "", implicitDeny},
		{"StringNotLike", []string{allow(`{"StringNotLike":{"saml:sub":"*@evil.com"}}`)}, "", "", allowed},
		{"keys in one operator are ANDed", []string{allow(`{"StringEquals":{"saml:sub":"alice@example.com","saml:aud":"x"}}`)}, "", "", implicitDeny},
		{"operators are ANDed", []string{allow(`{"StringEquals":{"saml:sub":"alice@example.com"},"StringLike":{"saml:aud":"https://*"}}`)}, "", "", allowed},
		{"multi-valued key without qualifier: any value", []string{allow(`{"StringEquals":{"saml:edupersonaffiliation":"staff"}}`)}, "", "", allowed},
		{"ForAnyValue match", []string{allow(`{"ForAnyValue:StringEquals":{"saml:edupersonaffiliation":["staff","faculty"]}}`)}, "", "", allowed},
		{"ForAnyValue no match", []string{allow(`{"ForAnyValue:StringEquals":{"saml:edupersonaffiliation":"faculty"}}`)}, "", "", implicitDeny},
		{"ForAnyValue missing key", []string{allow(`{"ForAnyValue:StringEquals":{"saml:cn":"x"}}`)}, "", "", implicitDeny},
		{"ForAllValues all match", []string{allow(`{"ForAllValues:StringEquals":{"saml:edupersonaffiliation":["member","staff","x"]}}`)}, "", "", allowed},
		{"ForAllValues one outside", []string{allow(`{"ForAllValues:StringEquals":{"saml:edupersonaffiliation":"staff"}}`)}, "", "", implicitDeny},
		{"ForAllValues missing key holds", []string{allow(`{"ForAllValues:StringEquals":{"saml:cn":"x"}}`)}, "", "", allowed},
		{"ForAllValues:StringNotEquals", []string{allow(`{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`)}, "", "", allowed},
		{"ForAnyValue:StringNotLike", []string{allow(`{"ForAnyValue:StringNotLike":{"saml:edupersonaffiliation":"staff"}}`)}, "", "", allowed},
		{"ForAllValues:StringLike on tag keys", []string{allow(`{"ForAllValues:StringLike":{"aws:TagKeys":["team","c*"]}}`)}, "", "", allowed},
		{"request tag", []string{allow(`{"StringEquals":{"aws:RequestTag/Team":"Eng"}}`)}, "", "", allowed},
		{"Null true on a missing key", []string{allow(`{"Null":{"saml:cn":"true"}}`)}, "", "", allowed},
		{"Null false on a present key", []string{allow(`{"Null":{"saml:sub":"false"}}`)}, "", "", allowed},
		{"Null true on a present key", []string{allow(`{"Null":{"saml:sub":"true"}}`)}, "", "", implicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := parsePolicy(trust(tt.statement...), trustPolicyKind)
			if err != nil {
				t.Fatalf("parsePolicy: %v", err)
			}
			req := authzRequest{principalType: "federated", principal: fedARN, action: "sts:AssumeRoleWithSAML", context: ctx}
			if tt.action != "" {
				req.action = tt.action
			}
			if tt.principal != "" {
				req.principal = tt.principal
			}
			if got := p.evaluate(req); got != tt.want {
				t.Errorf("evaluate = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true}, {"*", "", true}, {"*", "anything", true}, {"a*c", "abbbc", true}, {"a*c", "abbb", false},
		{"?", "é", true}, {"??", "é", false}, {"*a*a*a*b", strings.Repeat("a", 200), false}, {"a*b*c", "axxbyyc", true},
		{"abc", "abcd", false}, {"abc*", "abc", true},
	} {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
