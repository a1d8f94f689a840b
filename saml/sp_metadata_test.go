package saml

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker/issuer"
)

// spMetadata is the SP metadata parsed back the way an IdP built on
// crewjam reads it.
func spMetadata(tb testing.TB, sp *ServiceProvider) *saml.EntityDescriptor {
	tb.Helper()
	b, err := sp.Metadata()
	if err != nil {
		tb.Fatal(err)
	}
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(b, &md); err != nil {
		tb.Fatalf("the SP metadata does not parse: %v\n%s", err, b)
	}
	if len(md.SPSSODescriptors) != 1 {
		tb.Fatalf("%d SPSSODescriptors", len(md.SPSSODescriptors))
	}
	return &md
}

func methods(ms []saml.EncryptionMethod) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Algorithm)
	}
	return out
}

// TestSPMetadata: what the IdP reads. Only the endpoint the broker serves
// (the ACS, HTTP-POST), the NameID format, the current certificate for
// encryption with AES-GCM listed first and CBC only when allowed, and for
// signing only when AuthnRequests are signed.
func TestSPMetadata(t *testing.T) {
	p := newTestIdP(t, t0)
	kp := newTestIdP(t, t0).kp
	gcm := []string{AES256GCM, AES128GCM, AES192GCM}
	keyTransport := []string{RSAOAEP, RSAOAEPMGF1P}
	cases := []struct {
		name       string
		cfg        func(*Config)
		nameID     string
		encryption []string // nil: no encryption key advertised
		signing    bool
	}{
		{"no SP key", nil, NameIDPersistent, nil, false},
		{"SP key", withKey(kp), NameIDPersistent, append(slices.Clone(gcm), keyTransport...), false},
		{"SP key, CBC allowed, AuthnRequests signed", withKey(kp, allowCBC, func(c *Config) { c.SignRequests = true }), NameIDPersistent,
			append(append(slices.Clone(gcm), AES256CBC, AES128CBC, AES192CBC), keyTransport...), true},
		{"a narrowed list, in any order", withKey(kp, func(c *Config) { c.EncryptionAlgorithms = []string{AES128CBC, RSAOAEPMGF1P, AES128GCM} }), NameIDPersistent,
			[]string{AES128GCM, AES128CBC, RSAOAEPMGF1P}, false},
		{"NameID format unspecified", withKey(kp, func(c *Config) { c.NameIDFormat = NameIDUnspecified }), NameIDUnspecified,
			append(slices.Clone(gcm), keyTransport...), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _ := newSP(t, p, tc.cfg)
			md := spMetadata(t, sp)
			d := md.SPSSODescriptors[0]
			if md.EntityID != spMD {
				t.Errorf("entityID %q", md.EntityID)
			}
			if len(d.AssertionConsumerServices) != 1 || d.AssertionConsumerServices[0].Binding != saml.HTTPPostBinding || d.AssertionConsumerServices[0].Location != spACS {
				t.Errorf("AssertionConsumerServices %+v, want only HTTP-POST at %s", d.AssertionConsumerServices, spACS)
			}
			if len(d.SingleLogoutServices)+len(d.ArtifactResolutionServices)+len(d.ManageNameIDServices)+len(d.AttributeConsumingServices) > 0 {
				t.Errorf("endpoints the broker does not serve: SLO %v, artifact %v, manage NameID %v, attribute consuming %v",
					d.SingleLogoutServices, d.ArtifactResolutionServices, d.ManageNameIDServices, d.AttributeConsumingServices)
			}
			if len(d.NameIDFormats) != 1 || string(d.NameIDFormats[0]) != tc.nameID {
				t.Errorf("NameIDFormats %v, want %s", d.NameIDFormats, tc.nameID)
			}
			var enc, sig []saml.KeyDescriptor
			for _, kd := range d.KeyDescriptors {
				switch kd.Use {
				case "encryption":
					enc = append(enc, kd)
				case "signing":
					sig = append(sig, kd)
				default:
					t.Errorf("KeyDescriptor use %q", kd.Use)
				}
			}
			if tc.encryption == nil {
				if len(enc) != 0 {
					t.Errorf("an encryption key without an SP key: %+v", enc)
				}
			} else {
				cert := base64.StdEncoding.EncodeToString(kp.Certificate.Raw)
				if len(enc) != 1 || len(enc[0].KeyInfo.X509Data.X509Certificates) != 1 || enc[0].KeyInfo.X509Data.X509Certificates[0].Data != cert {
					t.Errorf("encryption KeyDescriptors %+v, want one with the SP certificate", enc)
				} else if got := methods(enc[0].EncryptionMethods); !slices.Equal(got, tc.encryption) {
					t.Errorf("EncryptionMethods\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.encryption, "\n"))
				}
			}
			if (len(sig) == 1) != tc.signing || len(sig) > 1 {
				t.Errorf("signing KeyDescriptors %d, want one: %t", len(sig), tc.signing)
			}
		})
	}
}

// spProvider hands crewjam's IdP the broker's SP metadata.
type spProvider struct{ md *saml.EntityDescriptor }

func (s spProvider) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != s.md.EntityID {
		return nil, os.ErrNotExist
	}
	return s.md, nil
}

// TestCrewjamIdPEncryptsForTheMetadata: crewjam's IdP, given only the SP
// metadata, answers the broker's AuthnRequest with an assertion encrypted
// with the first block cipher the metadata offers, which the broker then
// accepts: AES-256-GCM by default, AES-CBC (under a signed Response) for a
// provider that allows only CBC.
func TestCrewjamIdPEncryptsForTheMetadata(t *testing.T) {
	p := newTestIdP(t, t0)
	kp := newTestIdP(t, t0).kp
	cases := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"default", withKey(kp), AES256GCM},
		{"CBC allowed too", withKey(kp, allowCBC), AES256GCM},
		{"only AES-128-CBC", withKey(kp, func(c *Config) { c.EncryptionAlgorithms = []string{RSAOAEPMGF1P, AES128CBC} }), AES128CBC},
		{"require encryption", withKey(kp, func(c *Config) { c.RequireEncryption = true }), AES256GCM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _ := newSP(t, p, tc.cfg)
			b64, reqID := crewjamIdPResponse(t, p.kp, sp)
			raw, _ := base64.StdEncoding.DecodeString(b64)
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(raw); err != nil {
				t.Fatal(err)
			}
			m := doc.FindElement("//EncryptedAssertion/EncryptedData/EncryptionMethod")
			if m == nil || m.SelectAttrValue("Algorithm", "") != tc.want {
				t.Fatalf("crewjam's IdP did not encrypt with %s:\n%s", tc.want, raw)
			}
			res, err := sp.ParseResponse(t.Context(), ACSInput{SAMLResponse: b64, RequestIDs: []string{reqID}, CurrentURL: spACS})
			if err != nil {
				t.Fatalf("the broker refused crewjam's encrypted response: %v", err)
			}
			if res.Identity.Subject != "alice" {
				t.Errorf("subject %q", res.Identity.Subject)
			}
		})
	}
}

// crewjamIdPResponse runs crewjam's IdP with kp on the broker's
// AuthnRequest and SP metadata, and returns its Response and the request
// ID.
func crewjamIdPResponse(tb testing.TB, kp issuer.KeyPair, sp *ServiceProvider) (string, string) {
	tb.Helper()
	mdURL, _ := url.Parse(idpEntity)
	ssoURL, _ := url.Parse("https://idp.example.com/sso")
	idp := &saml.IdentityProvider{Key: kp.Key, Certificate: kp.Certificate, MetadataURL: *mdURL, SSOURL: *ssoURL,
		ServiceProviderProvider: spProvider{spMetadata(tb, sp)}, SignatureMethod: dsig.RSASHA256SignatureMethod,
		Clock: dsig.NewFakeClockAt(t0)}
	loc, reqID, err := sp.LoginRedirect("relay", LoginOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	req, err := saml.NewIdpAuthnRequest(idp, httptest.NewRequest(http.MethodGet, loc, nil))
	if err != nil {
		tb.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		tb.Fatalf("crewjam's IdP refused the AuthnRequest: %v", err)
	}
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, &saml.Session{ID: "s1", NameID: "alice", UserName: "alice", CreateTime: t0, ExpireTime: t0.Add(time.Hour)}); err != nil {
		tb.Fatal(err)
	}
	form, err := req.PostBinding()
	if err != nil {
		tb.Fatal(err)
	}
	return form.SAMLResponse, reqID
}
