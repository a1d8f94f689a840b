package saml

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
)

func TestParseUnverifiedReadsAttributes(t *testing.T) {
	raw, err := os.ReadFile(fixtures + "/aws-google-auth/valid-response.xml")
	if err != nil {
		t.Fatal(err)
	}
	// Its signature does not verify (the content was edited upstream): the
	// simulator still reads it, which is exactly why it must never sign in.
	for name, in := range map[string]string{"xml": string(raw), "base64": base64.StdEncoding.EncodeToString(raw)} {
		id, err := ParseUnverified("google", in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if id.Provider != "google" || id.Subject == "" || len(id.Roles) != 3 || id.Attributes[broker.AttrProvider][0] != "google" {
			t.Fatalf("%s: identity %+v", name, id)
		}
	}
}

func TestParseUnverifiedRefuses(t *testing.T) {
	enc, err := os.ReadFile(fixtures + "/crewjam-saml/TestSPCanHandleOktaSignedResponseEncryptedAssertion_response")
	if err != nil {
		t.Fatal(err)
	}
	xsw, err := os.ReadFile(fixtures + "/crewjam-saml/TestXswPermutationOneIsRejected_response")
	if err != nil {
		t.Fatal(err)
	}
	commas, err := os.ReadFile(fixtures + "/aws-google-auth/too-many-commas.xml")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ in, reason string }{
		"empty":       {"  ", "saml_empty"},
		"garbage":     {"%%%not base64", "saml_not_base64"},
		"dtd":         {`<!DOCTYPE x [<!ENTITY a "b">]><Response/>`, "dtd_forbidden"},
		"encrypted":   {string(enc), "saml_encrypted"},
		"two":         {string(xsw), "saml_assertion_count"},
		"bad roles":   {string(commas), "role_attribute_invalid"},
		"huge":        {strings.Repeat("A", MaxUnverifiedBytes*2), "saml_too_large"},
		"not closing": {"<samlp:Response><saml:Assertion>", "saml_malformed"},
	} {
		_, err := ParseUnverified("p", tc.in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if got := broker.ErrorReason(err); got != tc.reason {
			t.Errorf("%s: reason %q (%v), want %q", name, got, err, tc.reason)
		}
	}
}

// FuzzParseUnverified: whatever an admin pastes, the simulator's parser
// answers with an identity or an *broker.Error, never a panic.
func FuzzParseUnverified(f *testing.F) {
	for _, name := range []string{"/aws-google-auth/valid-response.xml", "/aws-google-auth/too-many-commas.xml", "/crewjam-saml/TestXswPermutationOneIsRejected_response"} {
		if b, err := os.ReadFile(fixtures + name); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("<Response><Assertion></Assertion></Response>")
	f.Add("PD94bWw=")
	f.Fuzz(func(t *testing.T, in string) {
		id, err := ParseUnverified("p", in)
		if err != nil {
			if broker.ErrorCode(err) == broker.EINTERNAL || broker.ErrorMessage(err) == "" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if id == nil || id.Provider != "p" {
			t.Fatalf("identity %+v", id)
		}
	})
}
