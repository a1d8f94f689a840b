package webtest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/console"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/localaws"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/sts"
)

// LocalAWS is an access use case that mints the broker's own SAML
// assertions (issuer entity base+"/idp/saml/metadata"), assumes roles and
// signs in to the console at a strict local AWS whose IAM is what iam
// makes of that issuer's metadata, under the rules eng; the local AWS is
// served until the test ends.
func (ev *Env) LocalAWS(t testing.TB, base string, eng *mapping.Engine, iam func(metadata string) *localaws.Registry) (*access.Service, *httptest.Server) {
	t.Helper()
	kp, err := issuer.GenerateKeyPair("broker", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	is, err := issuer.NewSAML(issuer.SAMLConfig{EntityID: base + "/idp/saml/metadata", Signing: kp})
	if err != nil {
		t.Fatal(err)
	}
	md, err := is.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := localaws.New(localaws.Config{Registry: iam(string(md))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	stsClient, err := sts.New(sts.Config{Endpoint: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	con, err := console.New(console.Config{Issuer: base + "/", FederationURL: hs.URL + "/federation"})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := access.New(access.Config{Rules: rulesOf{eng}, SAMLIssuer: is, STS: stsClient, Console: con, Audit: ev.Audit})
	if err != nil {
		t.Fatal(err)
	}
	return acc, hs
}
