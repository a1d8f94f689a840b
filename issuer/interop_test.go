package issuer_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/localaws"
)

// The strict local STS accepts what the issuer mints: signature against
// the published metadata, audience, recipient, role pair, session name,
// duration, tags (with sts:TagSession) and source identity.
func TestLocalSTSAcceptsIssuedAssertion(t *testing.T) {
	kp, err := issuer.GenerateKeyPair("broker", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	is, err := issuer.NewSAML(issuer.SAMLConfig{EntityID: "https://broker.example.com/idp/saml/metadata", Signing: kp})
	if err != nil {
		t.Fatal(err)
	}
	md, err := is.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	const acct = "111122223333"
	pair := broker.RolePair{RoleARN: "arn:aws:iam::" + acct + ":role/Dev", ProviderARN: "arn:aws:iam::" + acct + ":saml-provider/broker"}
	srv, err := localaws.New(localaws.Config{Registry: &localaws.Registry{
		SAMLProviders: []localaws.SAMLProvider{{ARN: pair.ProviderARN, MetadataXML: string(md)}},
		Roles: []localaws.Role{{ARN: pair.RoleARN, MaxSessionDuration: 7200, TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
			"Principal":{"Federated":"` + pair.ProviderARN + `"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"],
			"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml","aws:RequestTag/team":"platform"}}}]}`}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	client := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Credentials: aws.AnonymousCredentials{}})

	out, err := is.Issue(context.Background(), issuer.SAMLRequest{
		Subject: "alice", Role: pair, RoleSessionName: "alice@example.com", SessionDuration: 2 * time.Hour,
		PrincipalTags: map[string]string{"team": "platform"}, TransitiveTagKeys: []string{"team"}, SourceIdentity: "alice",
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.AssumeRoleWithSAML(context.Background(), &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(pair.RoleARN), PrincipalArn: aws.String(pair.ProviderARN), SAMLAssertion: aws.String(out.Base64),
		DurationSeconds: aws.Int32(7200),
	})
	if err != nil {
		t.Fatalf("local STS refused the minted assertion: %v", err)
	}
	if got := aws.ToString(res.AssumedRoleUser.Arn); got != "arn:aws:sts::"+acct+":assumed-role/Dev/alice@example.com" {
		t.Errorf("assumed role %q", got)
	}
	if got := aws.ToString(res.SourceIdentity); got != "alice" {
		t.Errorf("source identity %q", got)
	}
	if d := time.Until(aws.ToTime(res.Credentials.Expiration)); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("credentials last %s, want 2h", d)
	}
}
