package localaws

import (
	"crypto/sha1"
	"encoding/base64"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

var (
	accessKeyRe = regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`)
	secretRe    = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
)

func TestAssumeRoleWithSAMLAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		spec     func(f *fixture, s *samlSpec)
		audience string // expected Audience (= Recipient)
		role     string // default roleAdmin
	}{
		{"assertion signed", nil, awsSAMLURL, ""},
		{"response signed", func(_ *fixture, s *samlSpec) { s.Sign = signResponse }, awsSAMLURL, ""},
		{"response and assertion signed", func(_ *fixture, s *samlSpec) { s.Sign = signBoth }, awsSAMLURL, ""},
		{"RSA-SHA1 signature", func(_ *fixture, s *samlSpec) { s.SigMethod = dsig.RSASHA1SignatureMethod }, awsSAMLURL, ""},
		{"RSA-SHA512 signature", func(_ *fixture, s *samlSpec) { s.SigMethod = dsig.RSASHA512SignatureMethod }, awsSAMLURL, ""},
		{"urn:amazon:webservices audience", func(_ *fixture, s *samlSpec) {
			s.Audiences = []string{"https://other.example.com", "urn:amazon:webservices"}
		}, awsSAMLURL, ""},
		{"regional recipient and audience, matching saml:aud", func(_ *fixture, s *samlSpec) {
			s.Recipient = "https://eu-west-1.signin.aws.amazon.com/saml"
			s.Audiences = []string{s.Recipient}
		}, "https://eu-west-1.signin.aws.amazon.com/saml", roleCond},
		{"NotBefore within the clock skew", func(f *fixture, s *samlSpec) { s.NotBefore = f.clock.Now().Add(30 * time.Second) }, awsSAMLURL, ""},
		{"response without Issuer", func(_ *fixture, s *samlSpec) { s.ResponseIssuer = "-" }, awsSAMLURL, ""},
		{"signature without KeyInfo", func(_ *fixture, s *samlSpec) {
			s.AfterSign = func(doc *etree.Document) {
				sig := doc.FindElement(".//Assertion/Signature")
				sig.RemoveChild(sig.FindElement("./KeyInfo"))
			}
		}, awsSAMLURL, ""},
		{"role pair in provider,role order with whitespace", func(_ *fixture, s *samlSpec) {
			s.Attrs = withAttr(s.Attrs, attrRole, "\n  "+testProvider+" , "+roleAdmin+"\n")
		}, awsSAMLURL, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := f.spec()
			if tt.spec != nil {
				tt.spec(f, &s)
			}
			role := tt.role
			if role == "" {
				role = roleAdmin
			}
			out, err := f.assume(t, role, testProvider, f.build(t, s))
			if err != nil {
				t.Fatalf("AssumeRoleWithSAML: %v", err)
			}
			c := out.Credentials
			if !accessKeyRe.MatchString(aws.ToString(c.AccessKeyId)) || !secretRe.MatchString(aws.ToString(c.SecretAccessKey)) || len(aws.ToString(c.SessionToken)) < 400 {
				t.Errorf("credentials have the wrong shape: key %q, secret %d chars, token %d chars",
					aws.ToString(c.AccessKeyId), len(aws.ToString(c.SecretAccessKey)), len(aws.ToString(c.SessionToken)))
			}
			if want := f.clock.Now().Add(time.Hour); !aws.ToTime(c.Expiration).Equal(want) {
				t.Errorf("Expiration = %s, want %s", aws.ToTime(c.Expiration), want)
			}
			roleName := role[strings.LastIndex(role, "/")+1:]
			if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/"+roleName+"/alice@example.com" {
				t.Errorf("AssumedRoleUser.Arn = %q", got)
			}
			if id := aws.ToString(out.AssumedRoleUser.AssumedRoleId); !regexp.MustCompile(`^AROA[A-Z2-7]{17}:alice@example\.com$`).MatchString(id) {
				t.Errorf("AssumedRoleId = %q", id)
			}
			sum := sha1.Sum([]byte(testEntityID + testAccount + "/TestIdP"))
			want := map[string]string{
				"Subject": "alice@example.com", "SubjectType": "persistent", "Issuer": testEntityID,
				"Audience": tt.audience, "NameQualifier": base64.StdEncoding.EncodeToString(sum[:]),
			}
			got := map[string]string{
				"Subject": aws.ToString(out.Subject), "SubjectType": aws.ToString(out.SubjectType), "Issuer": aws.ToString(out.Issuer),
				"Audience": aws.ToString(out.Audience), "NameQualifier": aws.ToString(out.NameQualifier),
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %q, want %q", k, got[k], w)
				}
			}
			if out.PackedPolicySize != nil {
				t.Errorf("PackedPolicySize = %d without policies or tags", *out.PackedPolicySize)
			}
		})
	}
}

func TestAssumeRoleWithSAMLDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		role     string
		duration int32 // 0: not sent
		spec     func(f *fixture, s *samlSpec)
		want     time.Duration
	}{
		{"default one hour", roleAdmin, 0, nil, time.Hour},
		{"role maximum of 12 hours", roleLong, 43200, func(_ *fixture, s *samlSpec) { s.SessionNotAfter = time.Time{} }, 12 * time.Hour},
		{"minimum 900", roleAdmin, 900, nil, 15 * time.Minute},
		{"SessionDuration attribute limits the expiry", roleAdmin, 3600,
			func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSessionDur, "1800") }, 30 * time.Minute},
		{"SessionDuration attribute longer than requested", roleLong, 3600,
			func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSessionDur, "7200") }, time.Hour},
		{"SessionNotOnOrAfter limits the expiry", roleLong, 7200,
			func(f *fixture, s *samlSpec) { s.SessionNotAfter = f.clock.Now().Add(20 * time.Minute) }, 20 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := f.spec()
			if tt.spec != nil {
				tt.spec(f, &s)
			}
			out, err := f.assume(t, tt.role, testProvider, f.build(t, s), func(in *sts.AssumeRoleWithSAMLInput) {
				if tt.duration != 0 {
					in.DurationSeconds = aws.Int32(tt.duration)
				}
			})
			if err != nil {
				t.Fatalf("AssumeRoleWithSAML: %v", err)
			}
			if got := aws.ToTime(out.Credentials.Expiration).Sub(f.clock.Now()); got != tt.want {
				t.Errorf("credentials last %s, want %s", got, tt.want)
			}
		})
	}
}

// A comment inside a signed value must not truncate it: the value read is
// the whole signed text, never the part before the comment.
func TestAssumeRoleWithSAMLCommentInNameID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.spec()
	s.BeforeSign = func(a *etree.Element) {
		nid := a.FindElement("./Subject/NameID")
		nid.SetText("alice@example.com")
		nid.CreateComment(" injected ")
		nid.CreateCharData(".evil.com")
	}
	out, err := f.assume(t, roleAdmin, testProvider, f.build(t, s))
	if err != nil {
		t.Fatalf("AssumeRoleWithSAML: %v", err)
	}
	if got := aws.ToString(out.Subject); got != "alice@example.com.evil.com" {
		t.Errorf("Subject = %q, want the whole signed text", got)
	}
}

func TestAssumeRoleWithSAMLTagsPoliciesAndSourceIdentity(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.spec()
	s.Attrs = withAttr(s.Attrs, attrTag+"team", "eng")
	s.Attrs = withAttr(s.Attrs, attrTag+"cost-center", "42")
	s.Attrs = withAttr(s.Attrs, "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys", "team")
	s.Attrs = withAttr(s.Attrs, attrSourceID, "alice")
	out, err := f.assume(t, roleAdmin, testProvider, f.build(t, s), func(in *sts.AssumeRoleWithSAMLInput) {
		in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}`)
		in.PolicyArns = []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}}
		in.MinimumSessionTokenSize = aws.Int32(4096)
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithSAML: %v", err)
	}
	if aws.ToString(out.SourceIdentity) != "alice" {
		t.Errorf("SourceIdentity = %q", aws.ToString(out.SourceIdentity))
	}
	if p := aws.ToInt32(out.PackedPolicySize); p < 1 || p > 100 {
		t.Errorf("PackedPolicySize = %d, want 1..100", p)
	}
	if n := len(aws.ToString(out.Credentials.SessionToken)); n < 4096 || aws.ToInt32(out.SessionTokenSize) != int32(n) {
		t.Errorf("session token %d bytes, SessionTokenSize %d, want >= 4096 and equal", n, aws.ToInt32(out.SessionTokenSize))
	}
}

func TestAssumeRoleWithSAMLConditionsOnSAMLKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	out, err := f.assume(t, roleLike, testProvider, f.build(t, f.spec()))
	if err != nil {
		t.Fatalf("StringLike saml:sub and ForAnyValue saml:edupersonaffiliation should allow: %v", err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/ExampleUsers/alice@example.com" {
		t.Errorf("Arn = %q", got)
	}
}

func TestAssumeRoleWithSAMLGovCloud(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.spec()
	s.Signer, s.Issuer = f.gov, f.gov.entityID
	s.Recipient, s.Audiences = "https://signin.amazonaws-us-gov.com/saml", []string{"urn:amazon:webservices:govcloud"}
	s.Attrs = withAttr(s.Attrs, attrRole, pairValue(govRole, govProvider))
	out, err := f.assume(t, govRole, govProvider, f.build(t, s))
	if err != nil {
		t.Fatalf("AssumeRoleWithSAML: %v", err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws-us-gov:sts::123456789012:assumed-role/Admin/alice@example.com" {
		t.Errorf("Arn = %q", got)
	}
}

func TestAssumeRoleWithSAMLLogsNoSecrets(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	f := newFixtureWith(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	s := f.spec()
	b64 := f.build(t, s)
	out, err := f.assume(t, roleAdmin, testProvider, b64)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.assume(t, roleAdmin, testProvider, b64) // replay: logged refusal
	logs := buf.String()
	for name, secret := range map[string]string{
		"assertion": b64[:40], "secret key": aws.ToString(out.Credentials.SecretAccessKey),
		"session token": aws.ToString(out.Credentials.SessionToken)[:40], "access key id": aws.ToString(out.Credentials.AccessKeyId),
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
	if !strings.Contains(logs, "reason=replay") {
		t.Errorf("the refusal's reason is not logged:\n%s", logs)
	}
}
