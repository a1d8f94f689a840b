package localaws

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/beevik/etree"
)

const (
	attrRole        = "https://aws.amazon.com/SAML/Attributes/Role"
	attrSessionName = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	attrSessionDur  = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	attrTag         = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
	attrSourceID    = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
	attrAffiliation = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"
)

// rejection is one AssumeRoleWithSAML call AWS refuses, with the error code,
// HTTP status and message fragment it must answer with.
type rejection struct {
	name      string
	role      string // default roleAdmin
	provider  string // default testProvider
	spec      func(f *fixture, s *samlSpec)
	assertion func(tb testing.TB, f *fixture) string // instead of building spec
	input     func(in *sts.AssumeRoleWithSAMLInput)
	code      string
	status    int
	msg       string
}

func runRejections(t *testing.T, cases []rejection) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			role, prov := tc.role, tc.provider
			if role == "" {
				role = roleAdmin
			}
			if prov == "" {
				prov = testProvider
			}
			var b64 string
			if tc.assertion != nil {
				b64 = tc.assertion(t, f)
			} else {
				s := f.spec()
				if tc.spec != nil {
					tc.spec(f, &s)
				}
				b64 = f.build(t, s)
			}
			var edits []func(*sts.AssumeRoleWithSAMLInput)
			if tc.input != nil {
				edits = append(edits, tc.input)
			}
			out, err := f.assume(t, role, prov, b64, edits...)
			if err == nil {
				t.Fatalf("accepted (%s), want %s", aws.ToString(out.AssumedRoleUser.Arn), tc.code)
			}
			wantAPIError(t, err, tc.code, tc.status, tc.msg)
		})
	}
}

func setText(path, text string) func(doc *etree.Document) {
	return func(doc *etree.Document) { doc.FindElement(path).SetText(text) }
}

func TestAssumeRoleWithSAMLRejectsBadSignatures(t *testing.T) {
	t.Parallel()
	runRejections(t, []rejection{
		{name: "assertion signed by an unregistered key", spec: func(f *fixture, s *samlSpec) { s.Signer = f.rogue },
			code: codeInvalidIdentity, status: 400, msg: "Assertion signature invalid"},
		{name: "response signed by an unregistered key", spec: func(f *fixture, s *samlSpec) { s.Signer, s.Sign = f.rogue, signResponse },
			code: codeInvalidIdentity, status: 400, msg: "Response signature invalid"},
		{name: "signed by another registered provider's key", spec: func(f *fixture, s *samlSpec) { s.Signer = f.other },
			code: codeInvalidIdentity, status: 400, msg: "Assertion signature invalid"},
		{name: "session name changed after signing the assertion",
			spec: func(_ *fixture, s *samlSpec) {
				s.AfterSign = setText(".//Attribute[@Name='"+attrSessionName+"']/AttributeValue", "mallory")
			},
			code: codeInvalidIdentity, status: 400, msg: "Assertion signature invalid"},
		{name: "NameID changed after signing the response",
			spec: func(_ *fixture, s *samlSpec) {
				s.Sign, s.AfterSign = signResponse, setText(".//Subject/NameID", "root@example.com")
			},
			code: codeInvalidIdentity, status: 400, msg: "Response signature invalid"},
		{name: "signature value altered",
			spec: func(_ *fixture, s *samlSpec) {
				s.AfterSign = func(doc *etree.Document) {
					sv := doc.FindElement(".//SignatureValue")
					sv.SetText("AAAA" + sv.Text()[4:])
				}
			},
			code: codeInvalidIdentity, status: 400, msg: "Assertion signature invalid"},
		{name: "role attribute added after signing the response",
			spec: func(_ *fixture, s *samlSpec) {
				s.Sign = signResponse
				s.AfterSign = func(doc *etree.Document) {
					at := doc.FindElement(".//Attribute[@Name='" + attrRole + "']")
					at.CreateElement("saml:AttributeValue").SetText("arn:aws:iam::123456789012:role/Root," + testProvider)
				}
			},
			code: codeInvalidIdentity, status: 400, msg: "Response signature invalid"},
		{name: "nothing signed", spec: func(_ *fixture, s *samlSpec) { s.Sign = signNone },
			code: codeInvalidIdentity, status: 400, msg: "neither the Response nor the Assertion is signed"},
	})
}

func TestAssumeRoleWithSAMLRejectsBadDocuments(t *testing.T) {
	t.Parallel()
	runRejections(t, []rejection{
		{name: "DTD present",
			assertion: func(tb testing.TB, f *fixture) string {
				raw, _ := base64.StdEncoding.DecodeString(f.build(tb, f.spec()))
				return base64.StdEncoding.EncodeToString(append([]byte(`<!DOCTYPE r [<!ENTITY x "y">]>`), raw...))
			},
			code: codeInvalidIdentity, status: 400, msg: "DTDs and entity declarations are not allowed"},
		{name: "not base64", assertion: func(testing.TB, *fixture) string { return "%%%% not base64 %%%%" },
			code: codeInvalidIdentity, status: 400, msg: "not valid base64"},
		{name: "malformed XML", assertion: func(testing.TB, *fixture) string { return base64.StdEncoding.EncodeToString([]byte("<a><b></a>")) },
			code: codeInvalidIdentity, status: 400, msg: "XML is malformed"},
		{name: "not a Response", assertion: func(testing.TB, *fixture) string {
			return base64.StdEncoding.EncodeToString([]byte(`<x:Foo xmlns:x="urn:x"/>`))
		}, code: codeInvalidIdentity, status: 400, msg: "must be a samlp:Response"},
		{name: "encrypted assertion",
			spec: func(_ *fixture, s *samlSpec) {
				s.Sign = signNone
				s.AfterSign = func(doc *etree.Document) {
					resp := doc.Root()
					resp.RemoveChild(resp.FindElement("./Assertion"))
					ed := resp.CreateElement("saml:EncryptedAssertion").CreateElement("xenc:EncryptedData")
					ed.CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
					ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText("AAAA")
				}
			},
			code: codeInvalidIdentity, status: 400, msg: "Encrypted assertions are not supported"},
		{name: "two assertions",
			assertion: func(tb testing.TB, f *fixture) string {
				s := f.spec()
				s.Sign = signAssertion
				s.AfterSign = func(doc *etree.Document) {
					a := doc.FindElement("./Response/Assertion")
					doc.Root().AddChild(a.Copy())
				}
				return f.build(tb, s)
			},
			code: codeInvalidIdentity, status: 400, msg: "exactly one Assertion, found 2"},
		{name: "status not success", spec: func(_ *fixture, s *samlSpec) { s.Status = "urn:oasis:names:tc:SAML:2.0:status:Requester" },
			code: codeInvalidIdentity, status: 400, msg: "StatusCode is not Success"},
		{name: "SAMLAssertion shorter than 4 characters", assertion: func(testing.TB, *fixture) string { return "PD4" },
			code: codeValidation, status: 400, msg: "Member must have length greater than or equal to 4"},
	})
}

func TestAssumeRoleWithSAMLRejectsBadAssertions(t *testing.T) {
	t.Parallel()
	now := func(f *fixture) time.Time { return f.clock.Now() }
	runRejections(t, []rejection{
		{name: "wrong issuer", spec: func(_ *fixture, s *samlSpec) { s.Issuer = "https://evil.example.com/idp" },
			code: codeInvalidIdentity, status: 400, msg: "Issuer not present in specified provider"},
		{name: "wrong response issuer", spec: func(_ *fixture, s *samlSpec) { s.ResponseIssuer = "https://evil.example.com/idp" },
			code: codeInvalidIdentity, status: 400, msg: "Issuer not present in specified provider"},
		{name: "wrong audience", spec: func(_ *fixture, s *samlSpec) { s.Audiences = []string{"https://sp.example.com/metadata"} },
			code: codeInvalidIdentity, status: 400, msg: "Response does not contain the required audience"},
		{name: "no audience restriction", spec: func(_ *fixture, s *samlSpec) { s.Audiences = nil },
			code: codeInvalidIdentity, status: 400, msg: "Response does not contain the required audience"},
		{name: "missing SubjectConfirmation", spec: func(_ *fixture, s *samlSpec) { s.Confirmations = 0 },
			code: codeInvalidIdentity, status: 400, msg: "exactly one SubjectConfirmation, it has 0"},
		{name: "two SubjectConfirmations", spec: func(_ *fixture, s *samlSpec) { s.Confirmations = 2 },
			code: codeInvalidIdentity, status: 400, msg: "exactly one SubjectConfirmation, it has 2"},
		{name: "holder-of-key SubjectConfirmation", spec: func(_ *fixture, s *samlSpec) { s.SCMethod = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key" },
			code: codeInvalidIdentity, status: 400, msg: "Method must be " + cmBearer},
		{name: "SubjectConfirmationData without NotOnOrAfter", spec: func(_ *fixture, s *samlSpec) { s.SCNotOnOrAfter = time.Time{} },
			code: codeInvalidIdentity, status: 400, msg: "must have NotOnOrAfter and Recipient"},
		{name: "SubjectConfirmationData without Recipient", spec: func(_ *fixture, s *samlSpec) { s.Recipient = "" },
			code: codeInvalidIdentity, status: 400, msg: "must have NotOnOrAfter and Recipient"},
		{name: "expired SubjectConfirmation", spec: func(f *fixture, s *samlSpec) { s.SCNotOnOrAfter = now(f).Add(-2 * time.Minute) },
			code: codeExpiredToken, status: 400, msg: "SubjectConfirmationData NotOnOrAfter"},
		{name: "wrong Recipient", spec: func(_ *fixture, s *samlSpec) { s.Recipient = "https://broker.example.com/saml/acs" },
			code: codeInvalidIdentity, status: 400, msg: "Recipient must be the AWS sign-in SAML endpoint"},
		{name: "look-alike Recipient", spec: func(_ *fixture, s *samlSpec) { s.Recipient = "https://signin.aws.amazon.com.evil.com/saml" },
			code: codeInvalidIdentity, status: 400, msg: "Recipient must be the AWS sign-in SAML endpoint"},
		{name: "Recipient of another partition", spec: func(_ *fixture, s *samlSpec) { s.Recipient = "https://signin.amazonaws-us-gov.com/saml" },
			code: codeInvalidIdentity, status: 400, msg: "Recipient must be the AWS sign-in SAML endpoint"},
		{name: "expired Conditions", spec: func(f *fixture, s *samlSpec) { s.NotOnOrAfter = now(f).Add(-2 * time.Minute) },
			code: codeExpiredToken, status: 400, msg: "Conditions NotOnOrAfter"},
		{name: "not yet valid", spec: func(f *fixture, s *samlSpec) { s.NotBefore = now(f).Add(5 * time.Minute) },
			code: codeInvalidIdentity, status: 400, msg: "not yet valid"},
		{name: "issued in the future", spec: func(f *fixture, s *samlSpec) { s.IssueInstant, s.NotBefore = now(f).Add(10*time.Minute), time.Time{} },
			code: codeInvalidIdentity, status: 400, msg: "is in the future"},
		{name: "IdP session ended", spec: func(f *fixture, s *samlSpec) { s.SessionNotAfter = now(f).Add(-time.Minute) },
			code: codeExpiredToken, status: 400, msg: "SessionNotOnOrAfter"},
	})
}

func TestAssumeRoleWithSAMLRejectsClaims(t *testing.T) {
	t.Parallel()
	runRejections(t, []rejection{
		{name: "role pair not in the Role attribute", spec: func(_ *fixture, s *samlSpec) {
			s.Attrs = withAttr(s.Attrs, attrRole, pairValue(roleLong, testProvider))
		}, code: codeIDPRejectedClaim, status: 403, msg: "does not contain the pair " + roleAdmin + "," + testProvider},
		{name: "role paired with another provider", spec: func(_ *fixture, s *samlSpec) {
			s.Attrs = withAttr(s.Attrs, attrRole, pairValue(roleAdmin, otherProvider))
		}, code: codeIDPRejectedClaim, status: 403, msg: "does not contain the pair"},
		{name: "no Role attribute", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrRole) },
			code: codeIDPRejectedClaim, status: 403, msg: "has no " + attrRole},
		{name: "missing RoleSessionName", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSessionName) },
			code: codeInvalidIdentity, status: 400, msg: "RoleSessionName is required in AuthnResponse"},
		{name: "RoleSessionName with a space", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSessionName, "Alice Smith") },
			code: codeInvalidIdentity, status: 400, msg: "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"},
		{name: "RoleSessionName of one character", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSessionName, "a") },
			code: codeInvalidIdentity, status: 400, msg: "must match"},
		{name: "RoleSessionName of 65 characters", spec: func(_ *fixture, s *samlSpec) {
			s.Attrs = withAttr(s.Attrs, attrSessionName, strings.Repeat("a", 65))
		}, code: codeInvalidIdentity, status: 400, msg: "must match"},
		{name: "two RoleSessionName values", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSessionName, "alice", "bob") },
			code: codeInvalidIdentity, status: 400, msg: "exactly one value"},
		{name: "SessionDuration attribute below 900", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSessionDur, "600") },
			code: codeInvalidIdentity, status: 400, msg: "SessionDuration in AuthnResponse"},
		{name: "SessionDuration attribute not a number", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSessionDur, "1h") },
			code: codeInvalidIdentity, status: 400, msg: "SessionDuration in AuthnResponse"},
		{name: "session tag key with aws: prefix", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrTag+"aws:team", "x") },
			code: codeInvalidIdentity, status: 400, msg: "Session tag key"},
		{name: "session tag value too long", spec: func(_ *fixture, s *samlSpec) {
			s.Attrs = withAttr(s.Attrs, attrTag+"team", strings.Repeat("v", 257))
		}, code: codeInvalidIdentity, status: 400, msg: "invalid value"},
		{name: "invalid SourceIdentity", spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSourceID, "aws:alice") },
			code: codeInvalidIdentity, status: 400, msg: `Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"`},
	})
}

func TestAssumeRoleWithSAMLRejectsParameters(t *testing.T) {
	t.Parallel()
	longARNs := func(in *sts.AssumeRoleWithSAMLInput) {
		for range 10 {
			in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::123456789012:policy/" + randomName(1900))})
		}
	}
	runRejections(t, []rejection{
		{name: "unregistered provider", provider: "arn:aws:iam::123456789012:saml-provider/Nobody",
			code: codeInvalidIdentity, status: 400, msg: "Specified provider doesn't exist"},
		{name: "unknown role", role: "arn:aws:iam::123456789012:role/Nobody",
			code: codeAccessDenied, status: 403, msg: "Not authorized to perform sts:AssumeRoleWithSAML"},
		{name: "RoleArn is not a role ARN", role: "arn:aws:iam::123456789012:user/alice",
			code: codeValidation, status: 400, msg: "Request ARN is invalid"},
		{name: "PrincipalArn shorter than 20", provider: "arn:aws:iam::1:x",
			code: codeValidation, status: 400, msg: "Value 'arn:aws:iam::1:x' at 'principalArn' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{name: "DurationSeconds below 900", input: func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(899) },
			code: codeValidation, status: 400, msg: "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{name: "DurationSeconds above 43200", role: roleLong, input: func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(43201) },
			code: codeValidation, status: 400, msg: "Member must have value less than or equal to 43200"},
		{name: "DurationSeconds above the role's MaxSessionDuration", input: func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(3601) },
			code: codeValidation, status: 400, msg: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{name: "Policy longer than 2048", input: func(in *sts.AssumeRoleWithSAMLInput) {
			in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 2048) + `"}]}`)
		}, code: codeValidation, status: 400, msg: "Member must have length less than or equal to 2048"},
		{name: "Policy not JSON", input: func(in *sts.AssumeRoleWithSAMLInput) {
			in.Policy = aws.String(`{"Version": "2012-10-17", "Statement": [`)
		},
			code: codeMalformedPolicy, status: 400, msg: "not in the valid JSON format"},
		{name: "Policy with a Principal", input: func(in *sts.AssumeRoleWithSAMLInput) {
			in.Policy = aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`)
		}, code: codeMalformedPolicy, status: 400, msg: "Policy document should not specify a principal"},
		{name: "Policy without Resource", input: func(in *sts.AssumeRoleWithSAMLInput) {
			in.Policy = aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*"}}`)
		}, code: codeMalformedPolicy, status: 400, msg: "Missing required field Resource"},
		{name: "Policy with duplicate keys", input: func(in *sts.AssumeRoleWithSAMLInput) {
			in.Policy = aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Action":"s3:*","Resource":"*"}}`)
		}, code: codeMalformedPolicy, status: 400, msg: `duplicate key "Effect"`},
		{name: "11 PolicyArns", input: func(in *sts.AssumeRoleWithSAMLInput) {
			for range 11 {
				in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			}
		}, code: codeValidation, status: 400, msg: "at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"},
		{name: "PolicyArn that is not a policy", input: func(in *sts.AssumeRoleWithSAMLInput) {
			in.PolicyArns = []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:s3:::my-bucket-name")}}
		}, code: codeValidation, status: 400, msg: "is not an IAM managed policy ARN"},
		{name: "packed policy too large", input: longARNs,
			code: codePackedPolicyLarge, status: 400, msg: "Packed policy consumes"},
		{name: "many errors at once", role: "short", provider: "short", input: func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(1) },
			code: codeValidation, status: 400, msg: "3 validation errors detected"},
	})
}
