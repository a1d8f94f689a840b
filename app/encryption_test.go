package app

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/saml"
)

const (
	encBase = "http://localhost:8080"
	encACS  = encBase + "/saml/corp/acs"
	encSPMD = encBase + "/saml/corp/metadata"
	encIdP  = "https://idp.example.com"
)

// encryptionBroker is a whole broker whose SAML provider "corp" has an SP
// key, a previous one, and AES-CBC allowed; idp signs its responses.
func encryptionBroker(t *testing.T) (a *App, idp, sp, old issuer.KeyPair) {
	t.Helper()
	dir := t.TempDir()
	gen := func(name string) issuer.KeyPair {
		kp, err := issuer.GenerateKeyPair(name, 24*time.Hour, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for file, b := range map[string][]byte{name + ".key": kp.KeyPEM(), name + ".crt": kp.CertificatePEM()} {
			if err := os.WriteFile(filepath.Join(dir, file), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return kp
	}
	idp, sp, old, _ = gen("idp"), gen("sp"), gen("old"), gen("broker")
	files := map[string]string{
		"k":  "74ZfCQCUuU92AOqaQCcRrfgvmsIJ4NupDVpU7E6jsFc=",
		"sk": "4ZSLQtpY4p9gzvIJQpeznn96/+GQjF0jwUDHM4K1AGM=",
		"md.xml": `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + encIdP + `"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
			base64.StdEncoding.EncodeToString(idp.Certificate.Raw) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>`,
		"broker.yaml": `server:
  external_url: ` + encBase + `
  session_keys: [file:k]
store:
  dsn: broker.db
  encryption_keys: [file:sk]
issuer:
  saml: {key: file:broker.key, certificate: file:broker.crt}
providers:
  - id: corp
    metadata_file: md.xml
    allow_idp_initiated: true
    sp_key: file:sp.key
    sp_certificate: file:sp.crt
    previous_sp_keys:
      - {key: file:old.key, certificate: file:old.crt}
    encryption_algorithms:
      - ` + saml.RSAOAEPMGF1P + `
      - ` + saml.AES128GCM + `
      - ` + saml.AES256GCM + `
      - ` + saml.AES128CBC + `
rules:
  - {name: r, always: true, grant: {account: "111122223333", role: R}}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, probs := config.Load(filepath.Join(dir, "broker.yaml"))
	if len(probs.Errors()) > 0 {
		t.Fatal(probs)
	}
	a, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, idp, sp, old
}

// encResponse is an IdP-initiated Response for the broker, its assertion
// signed by idp then encrypted as o says; the Response is signed when
// o.signResponse.
type encOptions struct {
	to           *x509.Certificate
	cbc          bool
	signResponse bool
	plain        func([]byte) []byte // changes the assertion's bytes
	ciphertext   func([]byte) []byte // changes IV/nonce || ciphertext || tag
	badPadding   bool
}

func encResponse(t *testing.T, idp issuer.KeyPair, o encOptions) string {
	t.Helper()
	signer, err := issuer.NewSigner(idp)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04:05Z") }
	id := fmt.Sprintf("_a%x", random(t, 8))
	a, err := etreeOf(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="` + id + `" Version="2.0" IssueInstant="` + ts(0) + `">` +
		`<saml:Issuer>` + encIdP + `</saml:Issuer><saml:Subject><saml:NameID>alice@example.com</saml:NameID>` +
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="` + ts(5*time.Minute) + `" Recipient="` + encACS + `"/></saml:SubjectConfirmation></saml:Subject>` +
		`<saml:Conditions NotBefore="` + ts(-time.Minute) + `" NotOnOrAfter="` + ts(5*time.Minute) + `"><saml:AudienceRestriction><saml:Audience>` + encSPMD + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
		`<saml:AuthnStatement AuthnInstant="` + ts(0) + `"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement></saml:Assertion>`)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = signer.Sign(a); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(a)
	plain, _ := doc.WriteToBytes()
	if o.plain != nil {
		plain = o.plain(plain)
	}
	r, err := etreeOf(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r` + id + `" Version="2.0" IssueInstant="` + ts(0) + `" Destination="` + encACS + `">` +
		`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">` + encIdP + `</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:Response>`)
	if err != nil {
		t.Fatal(err)
	}
	r.AddChild(encryptedAssertion(t, plain, o))
	if o.signResponse {
		if r, err = signer.Sign(r); err != nil {
			t.Fatal(err)
		}
	}
	doc = etree.NewDocument()
	doc.SetRoot(r)
	b, _ := doc.WriteToBytes()
	return base64.StdEncoding.EncodeToString(b)
}

func etreeOf(s string) (*etree.Element, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		return nil, err
	}
	return doc.Root(), nil
}

// encryptedAssertion: RSA-OAEP-MGF1P with AES-128-GCM, or AES-128-CBC.
func encryptedAssertion(t *testing.T, plain []byte, o encOptions) *etree.Element {
	t.Helper()
	key := random(t, 16)
	block, _ := aes.NewCipher(key)
	alg, ct := saml.AES128GCM, []byte(nil)
	if o.cbc {
		alg = saml.AES128CBC
		n := 16 - len(plain)%16
		padded := append(append([]byte{}, plain...), random(t, n)...)
		padded[len(padded)-1] = byte(n)
		if o.badPadding {
			padded[len(padded)-1] = 0x42
		}
		iv := random(t, 16)
		ct = make([]byte, len(padded))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
		ct = append(iv, ct...)
	} else {
		gcm, _ := cipher.NewGCM(block)
		nonce := random(t, 12)
		ct = gcm.Seal(nonce, nonce, plain, nil)
	}
	if o.ciphertext != nil {
		ct = o.ciphertext(ct)
	}
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, o.to.PublicKey.(*rsa.PublicKey), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	ea, err := etreeOf(`<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
		`<xenc:EncryptionMethod Algorithm="` + alg + `"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="` + saml.RSAOAEPMGF1P + `"/>` +
		`<xenc:CipherData><xenc:CipherValue>` + base64.StdEncoding.EncodeToString(wrapped) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
		`<xenc:CipherData><xenc:CipherValue>` + base64.StdEncoding.EncodeToString(ct) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>`)
	if err != nil {
		t.Fatal(err)
	}
	return ea
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func postACS(a *App, samlResponse string, accept string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/saml/corp/acs", strings.NewReader(url.Values{"SAMLResponse": {samlResponse}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	a.Web.ServeHTTP(rec, req)
	return rec
}

var requestID = regexp.MustCompile(`("request_id":"|Request id <code>)[^"<]*`)

// Through the whole broker, every way decryption can fail gets the same
// answer, byte for byte once the request id is set aside (HTML page and
// JSON alike); an assertion encrypted to the current or the previous SP
// certificate signs in; the metadata served offers the current one only.
func TestEncryptedAssertionsThroughTheBroker(t *testing.T) {
	a, idp, sp, old := encryptionBroker(t)
	stranger, err := issuer.GenerateKeyPair("stranger", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	notXML := func([]byte) []byte { return []byte("not <xml at all") }
	failures := []struct {
		name string
		o    encOptions
	}{
		{"key transport fails (another certificate)", encOptions{to: stranger.Certificate}},
		{"GCM tag wrong", encOptions{to: sp.Certificate, ciphertext: func(b []byte) []byte { b[len(b)-1] ^= 1; return b }}},
		{"GCM ciphertext truncated", encOptions{to: sp.Certificate, ciphertext: func(b []byte) []byte { return b[:16] }}},
		{"GCM plaintext not XML", encOptions{to: sp.Certificate, plain: notXML}},
		{"CBC padding wrong (Response signed)", encOptions{to: sp.Certificate, cbc: true, signResponse: true, badPadding: true}},
		{"CBC ciphertext truncated (Response signed)", encOptions{to: sp.Certificate, cbc: true, signResponse: true, ciphertext: func(b []byte) []byte { return b[:len(b)-5] }}},
		{"CBC plaintext not XML (Response signed)", encOptions{to: sp.Certificate, cbc: true, signResponse: true, plain: notXML}},
	}
	for _, accept := range []string{"", "application/json"} {
		var first *httptest.ResponseRecorder
		for _, f := range failures {
			rec := postACS(a, encResponse(t, idp, f.o), accept)
			// The page keeps the reason code for the log and audit; JSON
			// clients get it.
			if rec.Code != http.StatusUnauthorized || (accept != "" && !strings.Contains(rec.Body.String(), saml.ReasonDecryptFailed)) {
				t.Fatalf("%s (%q): %d\n%s", f.name, accept, rec.Code, rec.Body)
			}
			if first == nil {
				first = rec
				continue
			}
			got, want := requestID.ReplaceAll(rec.Body.Bytes(), nil), requestID.ReplaceAll(first.Body.Bytes(), nil)
			if !bytes.Equal(got, want) || rec.Header().Get("Content-Type") != first.Header().Get("Content-Type") {
				t.Errorf("%s (%q): the answer differs from %s's:\n%s\n---\n%s", f.name, accept, failures[0].name, got, want)
			}
		}
	}

	for _, tc := range []struct {
		name string
		o    encOptions
	}{
		{"GCM to the current certificate", encOptions{to: sp.Certificate}},
		{"GCM to the previous certificate", encOptions{to: old.Certificate}},
		{"CBC in a signed Response", encOptions{to: sp.Certificate, cbc: true, signResponse: true}},
	} {
		// Signed in: the portal offers the one role granted (an IdP-initiated
		// sign-in goes on to /arrive, and opens a role only once the person
		// confirms it).
		rec := postACS(a, encResponse(t, idp, tc.o), "")
		jar := rec.Result().Cookies()
		for hops := 0; rec.Code == http.StatusSeeOther && hops < 3; hops++ {
			req := httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil)
			for _, c := range jar {
				req.AddCookie(c)
			}
			rec = httptest.NewRecorder()
			a.Web.ServeHTTP(rec, req)
			jar = append(rec.Result().Cookies(), jar...)
		}
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="user">alice@example.com<`) || !strings.Contains(rec.Body.String(), `id="confirm-role"`) {
			t.Errorf("%s: %d %q\n%s", tc.name, rec.Code, rec.Header().Get("Location"), rec.Body)
		}
	}
	if rec := postACS(a, encResponse(t, idp, encOptions{to: sp.Certificate, cbc: true}), "application/json"); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), saml.ReasonCBCNeedsSignedResponse) {
		t.Errorf("CBC in an unsigned Response: %d %s", rec.Code, rec.Body)
	}

	rec := httptest.NewRecorder()
	a.Web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/saml/corp/metadata", nil))
	var md crewjam.EntityDescriptor
	if err := xml.Unmarshal(rec.Body.Bytes(), &md); err != nil || len(md.SPSSODescriptors) != 1 {
		t.Fatalf("metadata %d: %v\n%s", rec.Code, err, rec.Body)
	}
	var enc []string
	var certs []string
	for _, kd := range md.SPSSODescriptors[0].KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			certs = append(certs, c.Data)
		}
		for _, m := range kd.EncryptionMethods {
			enc = append(enc, m.Algorithm)
		}
	}
	if want := []string{saml.AES256GCM, saml.AES128GCM, saml.AES128CBC, saml.RSAOAEPMGF1P}; strings.Join(enc, " ") != strings.Join(want, " ") {
		t.Errorf("EncryptionMethods %v, want %v", enc, want)
	}
	// The current certificate appears for encryption and, since logout
	// messages are signed with it, for signing; never a previous one.
	if len(certs) == 0 || len(certs) > 2 {
		t.Errorf("certificates in the metadata: %d, want the current SP certificate (encryption, signing)", len(certs))
	}
	for _, c := range certs {
		if c != base64.StdEncoding.EncodeToString(sp.Certificate.Raw) {
			t.Errorf("a certificate in the metadata is not the current SP certificate")
		}
	}
	if d := md.SPSSODescriptors[0]; len(d.NameIDFormats) != 1 || d.NameIDFormats[0] != crewjam.PersistentNameIDFormat || len(d.AssertionConsumerServices) != 1 {
		t.Errorf("NameIDFormats %v, ACS %v", d.NameIDFormats, d.AssertionConsumerServices)
	}
}
