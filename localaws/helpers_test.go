package localaws

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Test identities: one account, two SAML providers, a few roles.
const (
	testAccount   = "123456789012"
	testProvider  = "arn:aws:iam::123456789012:saml-provider/TestIdP"
	otherProvider = "arn:aws:iam::123456789012:saml-provider/OtherIdP"
	testEntityID  = "https://idp.example.com/saml/metadata"
	otherEntityID = "https://other-idp.example.com/metadata"
	roleAdmin     = "arn:aws:iam::123456789012:role/Admin"        // max 3600
	roleLong      = "arn:aws:iam::123456789012:role/team/Long"    // max 43200
	roleDeny      = "arn:aws:iam::123456789012:role/Denied"       // explicit Deny
	roleCond      = "arn:aws:iam::123456789012:role/Conditional"  // saml:aud condition that never holds
	roleOther     = "arn:aws:iam::123456789012:role/OtherOnly"    // trusts OtherIdP only
	roleNoTags    = "arn:aws:iam::123456789012:role/NoTagSession" // no sts:TagSession
	roleLike      = "arn:aws:iam::123456789012:role/ExampleUsers" // StringLike saml:sub
	govProvider   = "arn:aws-us-gov:iam::123456789012:saml-provider/TestIdP"
	govRole       = "arn:aws-us-gov:iam::123456789012:role/Admin"
	awsSAMLURL    = "https://signin.aws.amazon.com/saml"
)

// testKeys caches the RSA keys of the test IdPs: generating 2048-bit keys
// per test would dominate the run time.
var testKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for range 3 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
})

// testIdP is a SAML IdP for tests: a key, a self-signed certificate valid
// around the test clock, and the metadata registering them.
type testIdP struct {
	entityID string
	key      *rsa.PrivateKey
	certDER  []byte
}

func newTestIdP(tb testing.TB, entityID string, keyIndex int, now time.Time) *testIdP {
	tb.Helper()
	keys, err := testKeys()
	if err != nil {
		tb.Fatalf("generate keys: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(keyIndex) + 1),
		Subject:      pkix.Name{CommonName: entityID},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &keys[keyIndex].PublicKey, keys[keyIndex])
	if err != nil {
		tb.Fatalf("create certificate: %v", err)
	}
	return &testIdP{entityID: entityID, key: keys[keyIndex], certDER: der}
}

func (idp *testIdP) metadata() string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + idp.entityID + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(idp.certDER) + `</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
}

// testClock is an injectable clock that tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// trust returns a trust policy document with the given statements.
func trust(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func allowSAML(provider string, actions string, cond string) string {
	s := `{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":` + actions
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + "}"
}

const allActions = `["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"]`

// testRegistry is the registry every fixture starts from.
func testRegistry(idp, other *testIdP, gov *testIdP) *Registry {
	audCond := `{"StringEquals":{"SAML:aud":"` + awsSAMLURL + `"}}`
	return &Registry{
		SAMLProviders: []SAMLProvider{
			{ARN: testProvider, MetadataXML: idp.metadata()},
			{ARN: otherProvider, MetadataXML: other.metadata()},
			{ARN: govProvider, MetadataXML: gov.metadata()},
		},
		Roles: []Role{
			{ARN: roleAdmin, TrustPolicy: trust(allowSAML(testProvider, allActions, audCond))},
			{ARN: roleLong, MaxSessionDuration: 43200, TrustPolicy: trust(allowSAML(testProvider, `"sts:AssumeRoleWithSAML"`, ""))},
			{ARN: roleDeny, TrustPolicy: trust(allowSAML(testProvider, allActions, ""),
				`{"Effect":"Deny","Principal":{"Federated":"`+testProvider+`"},"Action":"sts:*"}`)},
			{ARN: roleCond, TrustPolicy: trust(allowSAML(testProvider, allActions, `{"StringEquals":{"saml:aud":"https://eu-west-1.signin.aws.amazon.com/saml"}}`))},
			{ARN: roleOther, TrustPolicy: trust(allowSAML(otherProvider, allActions, ""))},
			{ARN: roleNoTags, TrustPolicy: trust(allowSAML(testProvider, `"sts:AssumeRoleWithSAML"`, ""))},
			{ARN: roleLike, TrustPolicy: trust(allowSAML(testProvider, `"sts:AssumeRoleWith*"`, `{"StringLike":{"saml:sub":"*@example.com"},"ForAnyValue:StringEquals":{"saml:edupersonaffiliation":"staff"}}`))},
			{ARN: govRole, TrustPolicy: trust(allowSAML(govProvider, allActions, ""))},
		},
	}
}

// fixture is a running local AWS with an SDK client pointed at it.
type fixture struct {
	clock *testClock
	idp   *testIdP // registered as TestIdP (and, with a gov ARN, in aws-us-gov)
	other *testIdP // registered as OtherIdP
	rogue *testIdP // same entityID as idp, key not registered
	gov   *testIdP
	srv   *Server
	ts    *httptest.Server
	sts   *sts.Client
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureWith(tb, nil)
}

// newFixtureWith lets a test adjust the server's Config before New.
func newFixtureWith(tb testing.TB, edit func(*Config)) *fixture {
	tb.Helper()
	clock := &testClock{t: time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)}
	f := &fixture{clock: clock}
	f.idp = newTestIdP(tb, testEntityID, 0, clock.Now())
	f.other = newTestIdP(tb, otherEntityID, 1, clock.Now())
	f.rogue = newTestIdP(tb, testEntityID, 2, clock.Now())
	f.gov = newTestIdP(tb, "https://gov-idp.example.com/metadata", 1, clock.Now())
	cfg := Config{Registry: testRegistry(f.idp, f.other, f.gov), Now: clock.Now, Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv)
	tb.Cleanup(f.ts.Close)
	f.sts = sts.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: aws.AnonymousCredentials{},
		HTTPClient:  f.ts.Client(),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *sts.Options) { o.BaseEndpoint = aws.String(f.ts.URL) })
	return f
}

// assume calls AssumeRoleWithSAML through the SDK with the given role.
func (f *fixture) assume(tb testing.TB, role, provider, assertion string, edit ...func(*sts.AssumeRoleWithSAMLInput)) (*sts.AssumeRoleWithSAMLOutput, error) {
	tb.Helper()
	in := &sts.AssumeRoleWithSAMLInput{RoleArn: aws.String(role), PrincipalArn: aws.String(provider), SAMLAssertion: aws.String(assertion)}
	for _, e := range edit {
		e(in)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.sts.AssumeRoleWithSAML(ctx, in)
}

// mustAssume returns credentials for roleAdmin from a fresh assertion.
func (f *fixture) mustAssume(tb testing.TB, edit ...func(*sts.AssumeRoleWithSAMLInput)) *sts.AssumeRoleWithSAMLOutput {
	tb.Helper()
	out, err := f.assume(tb, roleAdmin, testProvider, f.build(tb, f.spec()), edit...)
	if err != nil {
		tb.Fatalf("AssumeRoleWithSAML: %v", err)
	}
	return out
}

// wantAPIError asserts err is the STS error code with the HTTP status, and
// that its message contains msg.
func wantAPIError(tb testing.TB, err error, code string, status int, msg string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("call succeeded, want %s (%d)", code, status)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		tb.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code {
		tb.Errorf("error code = %q (%s), want %q", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		tb.Fatalf("error %v carries no HTTP response", err)
	}
	if re.HTTPStatusCode() != status {
		tb.Errorf("HTTP status = %d, want %d", re.HTTPStatusCode(), status)
	}
	if re.ServiceRequestID() == "" {
		tb.Errorf("no request id in the error")
	}
	if !strings.Contains(ae.ErrorMessage(), msg) {
		tb.Errorf("error message = %q, want it to contain %q", ae.ErrorMessage(), msg)
	}
}

func pairValue(role, provider string) string { return role + "," + provider }

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (a log sink).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
