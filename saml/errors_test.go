package saml

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/broker-dev/broker"
)

// refusalOf returns the RefusedError behind a ParseResponse error.
func refusalOf(tb testing.TB, err error) *RefusedError {
	tb.Helper()
	var re *RefusedError
	if !errors.As(err, &re) {
		tb.Fatalf("%v: no RefusedError in the chain", err)
	}
	return re
}

// TestRefusalsNameTheVerifiedSubject: a refusal after a signature verified
// names the person the IdP vouched for; a refusal before one did, or
// because none did, names nobody, whatever the document claims.
func TestRefusalsNameTheVerifiedSubject(t *testing.T) {
	p := newTestIdP(t, t0)
	other := newTestIdP(t, t0)
	spKP := newTestIdP(t, t0).kp
	withKey := func(c *Config) { c.Key, c.Certificate = spKP.Key, spKP.Certificate }
	passThrough := func(c *Config) { c.PassThrough = true }
	badRole := map[string][]string{broker.SAMLAttrRole: {"arn:aws:iam::111122223333:role/A,arn:aws:iam::111122223333:saml-provider/P,"}}
	tamper := func(s string) string { return strings.Replace(s, "alice@example.com", "mallory@example.com", 1) }
	cases := []struct {
		name    string
		idp     *testIdP
		r       resp
		cfg     func(*Config)
		pending string
		reason  string
		subject string
	}{
		// After the signature verified.
		{"expired", p, resp{issued: t0.Add(-time.Hour)}, nil, "req-1", "assertion_expired", "alice@example.com"},
		{"expired, assertion signed only", p, resp{issued: t0.Add(-time.Hour), unsignedResp: true}, nil, "req-1", "assertion_expired", "alice@example.com"},
		{"expired, Response signed only", p, resp{issued: t0.Add(-time.Hour), unsignedAssert: true}, nil, "req-1", "assertion_expired", "alice@example.com"},
		{"not yet valid", p, resp{issued: t0.Add(10 * time.Minute)}, nil, "req-1", "not_yet_valid", "alice@example.com"},
		{"issued too long ago", p, resp{issued: t0.Add(-2 * time.Minute)}, nil, "req-1", "response_too_old", "alice@example.com"},
		{"audience", p, resp{audiences: []string{"https://other-sp.example.com"}}, nil, "req-1", "audience_mismatch", "alice@example.com"},
		{"recipient", p, resp{recipient: "https://evil.example.com/acs"}, nil, "req-1", "recipient_mismatch", "alice@example.com"},
		{"destination", p, resp{destination: "https://evil.example.com/acs"}, nil, "req-1", "destination_mismatch", "alice@example.com"},
		{"not a pending request", p, resp{}, nil, "req-2", "in_response_to_mismatch", "alice@example.com"},
		{"IdP-initiated not allowed", p, resp{inResponseTo: "-"}, nil, "req-1", "idp_initiated_not_allowed", "alice@example.com"},
		{"no AuthnStatement", p, resp{noAuthn: true}, nil, "req-1", "no_authn_statement", "alice@example.com"},
		{"malformed Role, pass-through", p, resp{attrs: badRole}, passThrough, "req-1", "role_attribute_invalid", "alice@example.com"},
		{"encrypted, audience", p, resp{audiences: []string{"https://other-sp.example.com"}, encryptTo: spKP.Certificate}, withKey, "req-1", "audience_mismatch", "alice@example.com"},
		{"NameID with spaces", p, resp{nameID: "  bob@example.com ", audiences: []string{"https://other-sp.example.com"}}, nil, "req-1", "audience_mismatch", "bob@example.com"},
		// Before a signature verified, or none did.
		{"tampered", p, resp{tamper: tamper}, nil, "req-1", "signature_invalid", ""},
		{"tampered and expired", p, resp{issued: t0.Add(-time.Hour), tamper: tamper}, nil, "req-1", "assertion_expired", ""},
		{"tampered, wrong audience", p, resp{audiences: []string{"https://other-sp.example.com"}, tamper: tamper}, nil, "req-1", "signature_invalid", ""},
		{"signed by someone else, expired", other, resp{issued: t0.Add(-time.Hour)}, nil, "req-1", "assertion_expired", ""},
		{"unsigned, expired", p, resp{issued: t0.Add(-time.Hour), unsignedResp: true, unsignedAssert: true}, nil, "req-1", "assertion_expired", ""},
		{"unsigned", p, resp{unsignedResp: true, unsignedAssert: true}, nil, "req-1", "signature_missing", ""},
		{"IdP said no", p, resp{status: statusRequester}, nil, "req-1", "status_not_success", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _ := newSP(t, p, tc.cfg)
			_, err := parse(t, sp, tc.idp.build(t, tc.r), tc.pending)
			if broker.ErrorReason(err) != tc.reason {
				t.Fatalf("err = %v, want reason %s", err, tc.reason)
			}
			if got := refusalOf(t, err).VerifiedSubject(); got != tc.subject {
				t.Errorf("subject %q, want %q", got, tc.subject)
			}
			if msg := broker.ErrorMessage(err); strings.Contains(msg, "example.com") || strings.Contains(msg, "<") {
				t.Errorf("message %q names the subject or holds markup", msg)
			}
		})
	}
}

func TestReplayNamesTheSubject(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _ := newSP(t, p, nil)
	b64 := p.build(t, resp{})
	if _, err := parse(t, sp, b64, "req-1"); err != nil {
		t.Fatal(err)
	}
	_, err := parse(t, sp, b64, "req-1")
	if broker.ErrorCode(err) != broker.EREPLAY || refusalOf(t, err).Subject != "alice@example.com" {
		t.Fatalf("replay: %v (subject %q)", err, refusalOf(t, err).Subject)
	}
	if msg := broker.ErrorMessage(err); !strings.Contains(msg, "already used") {
		t.Errorf("message %q", msg)
	}
}

// failure is a Response that carries the IdP's refusal as IdPs send it:
// unsigned, no assertion, a second-level status code and a message.
func failure(status, sub, message string) string {
	root := etree.NewElement("samlp:Response")
	root.CreateAttr("xmlns:samlp", nsProtocol)
	root.CreateAttr("xmlns:saml", nsAssertion)
	root.CreateAttr("ID", "_fail")
	root.CreateAttr("Version", "2.0")
	root.CreateAttr("IssueInstant", t0.Format(time.RFC3339))
	root.CreateAttr("Destination", spACS)
	root.CreateAttr("InResponseTo", "req-1")
	root.CreateElement("saml:Issuer").SetText(idpEntity)
	st := root.CreateElement("samlp:Status")
	code := st.CreateElement("samlp:StatusCode")
	code.CreateAttr("Value", status)
	if sub != "" {
		code.CreateElement("samlp:StatusCode").CreateAttr("Value", sub)
	}
	if message != "" {
		st.CreateElement("samlp:StatusMessage").SetText(message)
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	s, _ := doc.WriteToString()
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// TestIdPStatusIsAuditedAsItsStatus: a Response in which the IdP refused
// is audited as what the IdP answered, not as a missing assertion, and the
// person is told that the IdP refused and what to do.
func TestIdPStatusIsAuditedAsItsStatus(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _ := newSP(t, p, nil)
	responder := statusPrefix + "Responder"
	cases := []struct {
		status, sub, message string
		code                 string
		say                  []string
	}{
		{responder, statusRequestDenied, "User is not assigned to this application", broker.EFORBIDDEN, []string{"refused you", "RequestDenied", "ask whoever runs your identity provider"}},
		{responder, statusAuthnFailed, "", broker.EUNAUTHORIZED, []string{"refused you", "AuthnFailed", "Sign in again"}},
		{responder, statusNoPassive, "", broker.EUNAUTHORIZED, []string{"NoPassive", "silent sign-in", "Sign in at your identity provider"}},
		{responder, statusUnknownPrincipal, "", broker.EFORBIDDEN, []string{"does not know your account"}},
		{statusRequester, statusPrefix + "InvalidNameIDPolicy", "", broker.EFORBIDDEN, []string{"refused the broker's sign-in request", "InvalidNameIDPolicy", "administrator"}},
		{responder, "", "", broker.EFORBIDDEN, []string{"refused you", "Responder"}},
		{"urn:example:<b>weird</b>", "", "\x00evil\nmessage <script>", broker.EFORBIDDEN, []string{"refused you", "bweirdb"}},
	}
	for _, tc := range cases {
		t.Run(shortStatus(tc.status)+"/"+shortStatus(tc.sub), func(t *testing.T) {
			_, err := parse(t, sp, failure(tc.status, tc.sub, tc.message), "req-1")
			if broker.ErrorReason(err) != "status_not_success" || broker.ErrorCode(err) != tc.code {
				t.Fatalf("err = %v, want %s/status_not_success", err, tc.code)
			}
			msg := broker.ErrorMessage(err)
			for _, s := range tc.say {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not say %q", msg, s)
				}
			}
			if strings.Contains(msg, "<") || strings.Contains(msg, "urn:") {
				t.Errorf("message %q holds markup or a raw status", msg)
			}
			re := refusalOf(t, err)
			d := re.AuditDetails()
			if d["status"] != printable(tc.status, 200) || d["sub_status"] != tc.sub || re.Subject != "" {
				t.Errorf("details %v, subject %q", d, re.Subject)
			}
			if tc.message != "" && (d["status_message"] == "" || strings.ContainsAny(d["status_message"], "\x00\n")) {
				t.Errorf("status message %q", d["status_message"])
			}
		})
	}
}

// TestClockRefusalsSayByHowMuch: a time refusal tells the person by how
// much the clocks disagree, and who must set them right.
func TestClockRefusalsSayByHowMuch(t *testing.T) {
	p := newTestIdP(t, t0)
	cases := []struct {
		name   string
		idp    time.Duration // the IdP's clock minus ours
		life   time.Duration
		reason string
		say    string
	}{
		{"IdP 10 min ahead", 10 * time.Minute, 0, "not_yet_valid", "off by about 10 min"},
		{"IdP 100 s ahead", 100 * time.Second, 0, "clock_skew", "off by about 100 s"},
		{"IdP 150 s behind", -150 * time.Second, 0, "response_too_old", "off by about 3 min"},
		{"IdP 3 h behind", -3 * time.Hour, time.Hour, "assertion_expired", "off by about 3 h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _ := newSP(t, p, func(c *Config) { c.ClockSkew = 60 * time.Second })
			_, err := parse(t, sp, p.build(t, resp{issued: t0.Add(tc.idp), lifetime: tc.life}), "req-1")
			if broker.ErrorReason(err) != tc.reason {
				t.Fatalf("err = %v, want %s", err, tc.reason)
			}
			if msg := broker.ErrorMessage(err); !strings.Contains(msg, tc.say) || !strings.Contains(msg, "administrator") {
				t.Errorf("message %q does not say %q and who acts", msg, tc.say)
			}
		})
	}
}

// TestEveryReasonSaysWhoActs: every message the saml package gives names
// who must act: the person (sign in again, start again) or someone else.
func TestEveryReasonSaysWhoActs(t *testing.T) {
	for reason, msg := range messages {
		if !strings.Contains(msg, "administrator") && !strings.Contains(msg, "Sign in again") && !strings.Contains(msg, "Start again") && !strings.Contains(msg, "Try again") {
			t.Errorf("%s: %q says nobody must act", reason, msg)
		}
		if strings.Contains(msg, reason) {
			t.Errorf("%s: the message shows the reason code", reason)
		}
	}
}
