package localaws

import (
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Real IdP responses and the XML signature wrapping permutations from
// crewjam/saml v0.5.1's test data (testdata/thirdparty/SOURCES.md), checked
// with the clocks noted there. They exercise the verifier against
// signatures this package did not produce.

const crewjamData = "../testdata/thirdparty/crewjam-saml/"

func fixtureCerts(tb testing.TB, metadata string) []*x509.Certificate {
	tb.Helper()
	md, err := os.ReadFile(filepath.Join(crewjamData, metadata))
	if err != nil {
		tb.Fatal(err)
	}
	_, certs, err := parseIdPMetadata(md)
	if err != nil {
		tb.Fatalf("metadata %s: %v", metadata, err)
	}
	return certs
}

func fixtureB64(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(crewjamData, name))
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// verifyB64 runs decoding and signature verification, then parses the
// verified assertion.
func verifyB64(b64 string, certs []*x509.Certificate, at time.Time) (*samlAssertion, *stsError) {
	doc, e := decodeSAMLResponse(b64)
	if e != nil {
		return nil, e
	}
	_, el, e := verifySignatures(doc.Root(), certs, at)
	if e != nil {
		return nil, e
	}
	a, err := parseAssertion(el)
	if err != nil {
		return nil, errInvalidToken("assertion_malformed", err, "%s", err.Error())
	}
	return a, nil
}

var (
	oneLoginTime   = time.Date(2016, 1, 5, 17, 53, 12, 0, time.UTC)
	googleTime     = time.Date(2016, 1, 5, 16, 55, 39, 0, time.UTC)
	toolkitTime    = time.Date(2014, 7, 17, 14, 12, 57, 0, time.UTC) // signing cert valid from 14:12:56
	oktaTime       = time.Date(2020, 3, 3, 19, 24, 28, 0, time.UTC)
	oneLoginMD     = "TestSPCanHandleOneloginResponse_IDPMetadata"
	googleMD       = "TestSPCanHandlePlaintextResponse_IDPMetadata"
	toolkitMD      = "TestServiceProviderCanHandleSignedAssertionsResponse_IDPMetadata"
	oktaMD         = "TestSPCanHandleOktaSignedResponseEncryptedAssertion_IDPMetadata"
	googleResponse = "TestSPCanHandlePlaintextResponse_response"
)

func TestRealIdPSignaturesVerify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, response, metadata string
		at                       time.Time
		nameID                   string
	}{
		{"OneLogin, Response signed", "TestSPCanHandleOneloginResponse_response", oneLoginMD, oneLoginTime, "ross@kndr.org"},
		{"Google Workspace, Response signed", googleResponse, googleMD, googleTime, "ross@octolabs.io"},
		{"OneLogin toolkit, Assertion signed", "TestServiceProviderCanHandleSignedAssertionsResponse_response", toolkitMD, toolkitTime, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, e := verifyB64(fixtureB64(t, tc.response), fixtureCerts(t, tc.metadata), tc.at)
			if e != nil {
				t.Fatalf("rejected: %v", e)
			}
			if a.nameID == "" || (tc.nameID != "" && a.nameID != tc.nameID) {
				t.Errorf("NameID = %q, want %q", a.nameID, tc.nameID)
			}
		})
	}
}

func TestRealIdPResponsesRejected(t *testing.T) {
	t.Parallel()
	googleInjected := func(tb testing.TB) string {
		raw, err := base64.StdEncoding.DecodeString(fixtureB64(tb, googleResponse))
		if err != nil {
			tb.Fatal(err)
		}
		mut := strings.Replace(string(raw), "ross@octolabs.io", "ross@octolabs.io<!-- and a comment -->.example.com", 1)
		return base64.StdEncoding.EncodeToString([]byte(mut))
	}
	tests := []struct {
		name     string
		response func(tb testing.TB) string
		metadata string
		at       time.Time
		reason   string
	}{
		{"Google response with a comment injected into NameID", googleInjected, googleMD, googleTime, "signature_invalid"},
		{"Okta response with an encrypted assertion", func(tb testing.TB) string {
			return fixtureB64(tb, "TestSPCanHandleOktaSignedResponseEncryptedAssertion_response")
		}, oktaMD, oktaTime, "encrypted_assertion"},
		{"OneLogin response checked after its certificate expired", func(tb testing.TB) string {
			return fixtureB64(tb, "TestSPCanHandleOneloginResponse_response")
		}, oneLoginMD, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), "signature_invalid"},
	}
	for i, word := range []string{"One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"} {
		md, at := toolkitMD, toolkitTime
		if i < 2 {
			md, at = oneLoginMD, oneLoginTime
		}
		file := "TestXswPermutation" + word + "IsRejected_response"
		tests = append(tests, struct {
			name     string
			response func(tb testing.TB) string
			metadata string
			at       time.Time
			reason   string
		}{"XSW permutation " + word, func(tb testing.TB) string { return fixtureB64(tb, file) }, md, at, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, e := verifyB64(tt.response(t), fixtureCerts(t, tt.metadata), tt.at)
			if e == nil {
				t.Fatalf("accepted, NameID %q", a.nameID)
			}
			if e.code != codeInvalidIdentity || (tt.reason != "" && e.reason != tt.reason) {
				t.Errorf("error = %s/%s (%v), want %s/%s", e.code, e.reason, e.cause, codeInvalidIdentity, tt.reason)
			}
		})
	}
}
