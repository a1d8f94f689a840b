package issuer_test

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/issuer"
)

// The metadata's validUntil is the signing certificate's notAfter in every
// copy, whenever it is served, so the date IAM records is one the broker
// knows; the warning starts 30 days before it.
func TestMetadataValidUntil(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	kp, err := issuer.GenerateKeyPair("broker", 400*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	is, err := issuer.NewSAML(issuer.SAMLConfig{EntityID: "https://broker.example.com/idp/saml/metadata", Signing: kp, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	want := kp.Certificate.NotAfter.UTC()
	if got := is.MetadataValidUntil(); !got.Equal(want) {
		t.Fatalf("MetadataValidUntil = %s, want the certificate's notAfter %s", got, want)
	}
	for _, at := range []time.Time{t0, t0.Add(90 * 24 * time.Hour)} {
		now = at
		md, err := is.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		var ed struct {
			ValidUntil time.Time `xml:"validUntil,attr"`
		}
		if err := xml.Unmarshal(md, &ed); err != nil {
			t.Fatal(err)
		}
		if !ed.ValidUntil.Equal(want) {
			t.Errorf("metadata served at %s says validUntil %s, want %s", at, ed.ValidUntil, want)
		}
	}
	cases := []struct {
		name string
		now  time.Time
		want string
	}{
		{"31 days before", want.Add(-31 * 24 * time.Hour), ""},
		{"30 days before", want.Add(-issuer.MetadataRenewal), "expires on " + want.Format("2006-01-02")},
		{"a day before", want.Add(-24 * time.Hour), "upload the new metadata (broker idp-metadata)"},
		{"at validUntil", want, "expired on " + want.Format("2006-01-02")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := is.MetadataExpiryWarning(tc.now)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("MetadataExpiryWarning = %q, want %q", got, tc.want)
			}
		})
	}
}
