package saml

import (
	"encoding/base64"
	"encoding/xml"
	"strings"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// MaxUnverifiedBytes bounds a pasted response.
const MaxUnverifiedBytes = 256 << 10

// ParseUnverified reads the attributes of a pasted SAML Response (base64
// or raw XML) WITHOUT checking its signature, audience, time or replay.
// It exists for the admin rule simulator only: its result must never sign
// anyone in. Encrypted assertions cannot be read (they need the SP key
// and are refused).
func ParseUnverified(provider, s string) (*broker.Identity, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, broker.Errorf(broker.EINVALID, "saml_empty", "Paste a SAML response (base64 or XML).")
	}
	if len(s) > MaxUnverifiedBytes*4/3+4 {
		return nil, broker.Errorf(broker.ETOOLARGE, "saml_too_large", "The SAML response is too large.")
	}
	raw := []byte(s)
	if !strings.HasPrefix(s, "<") {
		b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "", " ", "", "\t", "").Replace(s))
		if err != nil {
			return nil, broker.Wrap(err, broker.EINVALID, "saml_not_base64", "The SAML response is neither XML nor base64.")
		}
		raw = b
	}
	if err := rejectDTD(raw); err != nil {
		return nil, broker.Wrap(err, broker.EINVALID, "dtd_forbidden", "The SAML response contains a DTD, which SAML never needs.")
	}
	t, err := scan(raw)
	if err != nil {
		return nil, broker.Wrap(err, broker.EINVALID, "saml_malformed", "The SAML response is not well-formed XML.")
	}
	if !t.is(t.root, nsProtocol, "Response") {
		return nil, broker.Wrap(errNotResponse, broker.EINVALID, "saml_malformed", "The pasted XML is not a SAML 2.0 Response.")
	}
	// The same count as sign-in: by namespace and local name, anywhere.
	for _, a := range t.assertions {
		if a.Tag == "EncryptedAssertion" {
			return nil, broker.Errorf(broker.EINVALID, "saml_encrypted", "The assertion is encrypted; paste the decrypted response or use a recent sign-in instead.")
		}
	}
	if n := len(t.assertions); n != 1 || t.assertions[0].Parent() != t.root || t.ns[t.assertions[0]] != nsAssertion {
		return nil, broker.Errorf(broker.EINVALID, "saml_assertion_count", "The response must contain exactly one assertion, found %d.", n)
	}
	var resp saml.Response
	if err := xml.Unmarshal(raw, &resp); err != nil || resp.Assertion == nil {
		return nil, broker.Wrap(err, broker.EINVALID, "saml_malformed", "The SAML response is not well-formed XML.")
	}
	id, err := identityFromAssertion(resp.Assertion)
	if err != nil {
		return nil, broker.Wrap(err, broker.EINVALID, reasonOf(err), "The assertion's attributes are invalid: "+err.Error())
	}
	id.Provider = provider
	id.Issuer = resp.Assertion.Issuer.Value
	id.Attributes[broker.AttrIssuer] = []string{id.Issuer}
	id.Attributes[broker.AttrProvider] = []string{provider}
	return id, nil
}
