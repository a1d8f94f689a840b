package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// broker idp-metadata prints the IdP metadata (to stdout or -o), whose
// validUntil is the signing certificate's end, and says the date.
func TestIDPMetadataCommand(t *testing.T) {
	path := writeConfig(t, goodConfig)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"idp-metadata", "--config", path}, &out, &errb); err != nil {
		t.Fatalf("idp-metadata: %v\n%s", err, errb.String())
	}
	var ed struct {
		EntityID   string    `xml:"entityID,attr"`
		ValidUntil time.Time `xml:"validUntil,attr"`
		SSO        []struct {
			Location string `xml:"Location,attr"`
		} `xml:"IDPSSODescriptor>SingleSignOnService"`
	}
	if err := xml.Unmarshal(out.Bytes(), &ed); err != nil {
		t.Fatalf("not metadata: %v\n%s", err, out.String())
	}
	if ed.EntityID != "http://localhost:8080/idp/saml/metadata" || len(ed.SSO) == 0 || ed.SSO[0].Location != "http://localhost:8080/idp/saml/sso" {
		t.Errorf("metadata %+v", ed)
	}
	// The test config's certificate lasts an hour.
	if d := time.Until(ed.ValidUntil); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("validUntil %s, want the certificate's end in about an hour", ed.ValidUntil)
	}
	if !strings.Contains(errb.String(), "validUntil "+ed.ValidUntil.UTC().Format(time.RFC3339)) || !strings.Contains(errb.String(), "saml-provider/broker") {
		t.Errorf("stderr %q does not give the date and the upload command", errb.String())
	}

	file := filepath.Join(t.TempDir(), "idp.xml")
	out.Reset()
	if err := run(context.Background(), []string{"idp-metadata", "--config", path, "-o", file}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || !bytes.Contains(b, []byte(`entityID="http://localhost:8080/idp/saml/metadata"`)) || out.Len() != 0 {
		t.Errorf("-o: %v %q, stdout %q", err, b, out.String())
	}

	// An OIDC issuer only: no SAML IdP metadata to print.
	oidcOnly := strings.Replace(goodConfig, `saml: {key: "file:idp.key", certificate: "file:idp.crt"}`, `oidc: {key: "file:idp.key"}`, 1)
	err := run(context.Background(), []string{"idp-metadata", "--config", writeConfig(t, oidcOnly)}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "issuer.saml.key is not set") {
		t.Errorf("without a SAML issuer: %v", err)
	}
	if err := run(context.Background(), []string{"idp-metadata"}, &out, &errb); err == nil {
		t.Error("no --config: no error")
	}
}
