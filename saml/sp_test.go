package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func parse(tb testing.TB, sp *ServiceProvider, b64 string, pending ...string) (*Result, error) {
	tb.Helper()
	return sp.ParseResponse(context.Background(), ACSInput{SAMLResponse: b64, RequestIDs: pending, CurrentURL: spACS})
}

func TestParseResponseAccepts(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _ := newSP(t, p, nil)
	roles := []string{"arn:aws:iam::111122223333:role/Admin,arn:aws:iam::111122223333:saml-provider/Okta",
		" arn:aws:iam::111122223333:saml-provider/Okta , arn:aws:iam::111122223333:role/Dev \n"}
	res, err := parse(t, sp, p.build(t, resp{attrs: map[string][]string{
		"groups": {"eng", " sre "}, broker.SAMLAttrRole: roles, broker.SAMLAttrRoleSessionName: {"alice"}, broker.SAMLAttrSessionDuration: {"7200"},
	}}), "req-1")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Identity
	if id.Subject != "alice@example.com" || id.Provider != "okta" || id.Issuer != idpEntity || id.Protocol != broker.ProtocolSAML {
		t.Errorf("identity %+v", id)
	}
	if strings.Join(id.Attributes["groups"], ",") != "eng,sre" || id.First(broker.AttrSubject) != "alice@example.com" || id.First(broker.AttrProvider) != "okta" {
		t.Errorf("attributes %v", id.Attributes)
	}
	if len(id.Roles) != 2 || id.Roles[1].RoleARN != "arn:aws:iam::111122223333:role/Dev" || id.RoleSessionName != "alice" || id.SessionDuration != 2*time.Hour {
		t.Errorf("AWS attributes: %+v", id)
	}
	if res.InResponseTo != "req-1" || !res.NotOnOrAfter.Equal(t0.Add(5*time.Minute)) || !id.Expires.Equal(res.NotOnOrAfter) || len(res.ResponseXML) == 0 {
		t.Errorf("result %+v", res)
	}
	// Only the Assertion signed, or only the Response signed: both fine.
	for _, r := range []resp{{unsignedResp: true, assertionID: "_x1"}, {unsignedAssert: true, assertionID: "_x2"}} {
		if _, err := parse(t, sp, p.build(t, r), "req-1"); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

func TestParseResponseRejects(t *testing.T) {
	p := newTestIdP(t, t0)
	other := newTestIdP(t, t0)
	passThrough := func(c *Config) { c.PassThrough = true }
	cases := []struct {
		name    string
		b64     func() string
		cfg     func(*Config)
		pending []string
		code    string
		reason  string
	}{
		{"not base64", func() string { return "%%%" }, nil, nil, broker.EINVALID, "malformed_response"},
		{"empty", func() string { return "" }, nil, nil, broker.EINVALID, "malformed_response"},
		{"not XML", func() string { return base64.StdEncoding.EncodeToString([]byte("<samlp:Response><saml:Assertion>")) }, nil, nil, broker.EINVALID, "malformed_response"},
		{"too large", func() string { return base64.StdEncoding.EncodeToString(make([]byte, 300<<10)) }, nil, nil, broker.ETOOLARGE, "too_large"},
		{"DTD", func() string {
			raw, _ := base64.StdEncoding.DecodeString(p.build(t, resp{}))
			return base64.StdEncoding.EncodeToString(append([]byte(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>`), raw...))
		}, nil, nil, broker.EINVALID, "dtd_forbidden"},
		{"signed by someone else", func() string { return other.build(t, resp{}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "signature_invalid"},
		{"unsigned", func() string { return p.build(t, resp{unsignedResp: true, unsignedAssert: true}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "signature_missing"},
		{"tampered NameID", func() string {
			return p.build(t, resp{tamper: func(s string) string { return strings.Replace(s, "alice@example.com", "admin@example.com", 1) }})
		}, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "signature_invalid"},
		{"two assertions", func() string { return p.build(t, resp{extraAssertion: true}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "multiple_assertions"},
		{"wrong issuer", func() string { return p.build(t, resp{issuer: "https://evil.example.com"}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "issuer_mismatch"},
		{"wrong audience", func() string { return p.build(t, resp{audiences: []string{"https://other-sp.example.com"}}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "audience_mismatch"},
		{"one wrong audience of two", func() string { return p.build(t, resp{audiences: []string{spMD, "https://other-sp.example.com"}}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "audience_mismatch"},
		{"no audience", func() string { return p.build(t, resp{audiences: []string{}}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "audience_mismatch"},
		{"a wrong audience in the same restriction", func() string {
			return p.build(t, resp{editAssertion: func(a *etree.Element) {
				a.FindElement("./Conditions/AudienceRestriction").CreateElement("saml:Audience").SetText("https://other-sp.example.com")
			}})
		}, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "audience_mismatch"},
		{"wrong recipient", func() string { return p.build(t, resp{recipient: "https://evil.example.com/acs"}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "recipient_mismatch"},
		{"wrong destination", func() string { return p.build(t, resp{destination: "https://evil.example.com/acs"}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "destination_mismatch"},
		{"expired", func() string { return p.build(t, resp{issued: t0.Add(-time.Hour)}) }, nil, []string{"req-1"}, broker.EEXPIRED, "assertion_expired"},
		{"issued in the future", func() string { return p.build(t, resp{issued: t0.Add(10 * time.Minute)}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "not_yet_valid"},
		{"not a pending request", func() string { return p.build(t, resp{}) }, nil, []string{"req-2"}, broker.EUNAUTHORIZED, "in_response_to_mismatch"},
		{"IdP-initiated not allowed", func() string { return p.build(t, resp{inResponseTo: "-"}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "idp_initiated_not_allowed"},
		{"unsolicited with InResponseTo", func() string { return p.build(t, resp{inResponseTo: "forged"}) }, func(c *Config) { c.AllowIDPInitiated = true }, nil, broker.EUNAUTHORIZED, "in_response_to_mismatch"},
		{"no bearer", func() string { return p.build(t, resp{noBearer: true}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "no_bearer_confirmation"},
		{"two confirmations", func() string { return p.build(t, resp{twoConfirms: true}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "no_bearer_confirmation"},
		{"no AuthnStatement", func() string { return p.build(t, resp{noAuthn: true}) }, nil, []string{"req-1"}, broker.EUNAUTHORIZED, "no_authn_statement"},
		{"IdP said no", func() string { return p.build(t, resp{status: "urn:oasis:names:tc:SAML:2.0:status:Responder"}) }, nil, []string{"req-1"}, broker.EFORBIDDEN, "status_not_success"},
		{"role with trailing comma", func() string {
			return p.build(t, resp{attrs: map[string][]string{broker.SAMLAttrRole: {"arn:aws:iam::111122223333:role/A,arn:aws:iam::111122223333:saml-provider/P,"}}})
		}, passThrough, []string{"req-1"}, broker.EUNAUTHORIZED, "role_attribute_invalid"},
		{"bad session name", func() string {
			return p.build(t, resp{attrs: map[string][]string{broker.SAMLAttrRoleSessionName: {"has space"}}})
		}, passThrough, []string{"req-1"}, broker.EUNAUTHORIZED, "role_session_name_invalid"},
		{"bad session duration", func() string {
			return p.build(t, resp{attrs: map[string][]string{broker.SAMLAttrSessionDuration: {"60"}}})
		}, passThrough, []string{"req-1"}, broker.EUNAUTHORIZED, "session_duration_invalid"},
		{"SHA-256 refused when not allowed", func() string { return p.build(t, resp{}) }, func(c *Config) { c.SignatureAlgorithms = []string{dsig.RSASHA512SignatureMethod} }, []string{"req-1"}, broker.EUNAUTHORIZED, "algorithm_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _ := newSP(t, p, tc.cfg)
			_, err := parse(t, sp, tc.b64(), tc.pending...)
			if broker.ErrorCode(err) != tc.code || broker.ErrorReason(err) != tc.reason {
				t.Fatalf("err = %v, want %s/%s", err, tc.code, tc.reason)
			}
			msg := broker.ErrorMessage(err)
			if msg == "" || strings.Contains(msg, "<") || strings.Contains(msg, "alice") {
				t.Errorf("message %q is not a safe sentence", msg)
			}
		})
	}
}

func TestIdPInitiated(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _ := newSP(t, p, func(c *Config) { c.AllowIDPInitiated = true })
	res, err := parse(t, sp, p.build(t, resp{inResponseTo: "-"}))
	if err != nil || res.InResponseTo != "" {
		t.Fatalf("IdP-initiated: %v %+v", err, res)
	}
	// Allowed IdP-initiated does not stop SP-initiated from working.
	if _, err := parse(t, sp, p.build(t, resp{assertionID: "_sp"}), "req-1"); err != nil {
		t.Fatal(err)
	}
}

func TestReplayOnlyAfterVerification(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _ := newSP(t, p, nil)
	genuine := p.build(t, resp{assertionID: "_same"})
	tampered := p.build(t, resp{assertionID: "_same", tamper: func(s string) string { return strings.Replace(s, "alice@", "mallory@", 1) }})
	if _, err := parse(t, sp, tampered, "req-1"); broker.ErrorReason(err) != "signature_invalid" {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := parse(t, sp, genuine, "req-1"); err != nil {
		t.Fatalf("a tampered copy burned the genuine response: %v", err)
	}
	if _, err := parse(t, sp, genuine, "req-1"); broker.ErrorCode(err) != broker.EREPLAY || broker.ErrorReason(err) != "replay" {
		t.Fatalf("replay: %v", err)
	}
}

func TestPassThroughProvider(t *testing.T) {
	p := newTestIdP(t, t0)
	sp, _ := newSP(t, p, func(c *Config) {
		c.Audiences = []string{"urn:amazon:webservices", "https://signin.aws.amazon.com/saml"}
		c.Recipients = []string{"https://signin.aws.amazon.com/saml", "https://signin.amazonaws-us-gov.com/saml"}
	})
	aws := resp{audiences: []string{"urn:amazon:webservices"}, recipient: "https://signin.aws.amazon.com/saml", inResponseTo: "req-1"}
	if _, err := parse(t, sp, p.build(t, aws), "req-1"); err != nil {
		t.Fatalf("AWS-shaped assertion posted to the broker: %v", err)
	}
	aws.destination, aws.assertionID = "https://signin.aws.amazon.com/saml", "_d2"
	if _, err := parse(t, sp, p.build(t, aws), "req-1"); err != nil {
		t.Fatalf("Destination = AWS endpoint: %v", err)
	}
	gov := aws
	gov.recipient, gov.destination, gov.assertionID = "https://signin.amazonaws-us-gov.com/saml", spACS, "_gov"
	if _, err := parse(t, sp, p.build(t, gov), "req-1"); err != nil {
		t.Fatalf("GovCloud recipient: %v", err)
	}
	aws.recipient, aws.assertionID = spACS, "_d3"
	if _, err := parse(t, sp, p.build(t, aws), "req-1"); broker.ErrorReason(err) != "recipient_mismatch" {
		t.Fatalf("broker ACS as recipient for an AWS app: %v", err)
	}
}

func TestMetadataRefreshKeepsLastGoodCopy(t *testing.T) {
	p := newTestIdP(t, t0)
	srv, down := toggleServer(t, p.metadata())
	down.Store(true)
	now := fixedNow(t0)
	sp, err := New(context.Background(), Config{ID: "okta", MetadataURL: spMD, ACSURL: spACS, IDPMetadataURL: srv.URL, Replay: newMemReplay(now), Now: now})
	if err != nil {
		t.Fatalf("an unreachable metadata URL must not stop the broker: %v", err)
	}
	if sp.Ready() == nil {
		t.Fatal("ready without metadata")
	}
	if _, err := parse(t, sp, p.build(t, resp{}), "req-1"); broker.ErrorReason(err) != "metadata_unavailable" {
		t.Fatalf("parse before metadata: %v", err)
	}
	down.Store(false)
	if err := sp.Refresh(context.Background()); err != nil || sp.Ready() != nil {
		t.Fatalf("refresh: %v", err)
	}
	down.Store(true)
	if err := sp.Refresh(context.Background()); err == nil {
		t.Fatal("refresh of a down server succeeded")
	}
	if sp.Ready() != nil {
		t.Fatal("a failed refresh dropped the last good metadata")
	}
	if _, err := parse(t, sp, p.build(t, resp{}), "req-1"); err != nil {
		t.Fatalf("parse with the kept metadata: %v", err)
	}
	for _, bad := range []string{"<x/>", "not xml", `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`} {
		if _, err := New(context.Background(), Config{ID: "x", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: []byte(bad), Replay: newMemReplay(now)}); err == nil {
			t.Errorf("metadata %q accepted", bad)
		}
	}
}

func TestLoginRedirectAndMetadata(t *testing.T) {
	p := newTestIdP(t, t0)
	spKeyPair := newTestIdP(t, t0).kp
	sp, _ := newSP(t, p, func(c *Config) { c.SignRequests, c.Key, c.Certificate = true, spKeyPair.Key, spKeyPair.Certificate })
	loc, reqID, err := sp.LoginRedirect("relay-123", LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	if u.Host != "idp.example.com" || q.Get("RelayState") != "relay-123" || q.Get("SigAlg") != dsig.RSASHA256SignatureMethod || q.Get("Signature") == "" {
		t.Fatalf("redirect %s", loc)
	}
	raw, _ := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	xmlBytes, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var req saml.AuthnRequest
	if err := xml.Unmarshal(xmlBytes, &req); err != nil {
		t.Fatal(err)
	}
	if req.ID != reqID || req.AssertionConsumerServiceURL != spACS || req.Issuer.Value != spMD || req.Destination != "https://idp.example.com/sso" {
		t.Errorf("AuthnRequest %+v", req)
	}
	// The redirect-binding signature covers SAMLRequest, RelayState, SigAlg.
	signed := loc[strings.Index(loc, "SAMLRequest="):strings.Index(loc, "&Signature=")]
	sig, _ := base64.StdEncoding.DecodeString(q.Get("Signature"))
	if err := spKeyPair.Certificate.CheckSignature(spKeyPair.Certificate.SignatureAlgorithm, []byte(signed), sig); err != nil {
		t.Errorf("AuthnRequest signature does not verify: %v", err)
	}
	if _, _, err := sp.LoginRedirect("not url safe&x=y", LoginOptions{}); err == nil {
		t.Error("unsafe relay state accepted")
	}
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{spACS, `entityID="` + spMD + `"`, `AuthnRequestsSigned="true"`, `WantAssertionsSigned="true"`, base64.StdEncoding.EncodeToString(spKeyPair.Certificate.Raw)[:40]} {
		if !strings.Contains(string(md), want) {
			t.Errorf("SP metadata lacks %q", want)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	p := newTestIdP(b, t0)
	now := fixedNow(t0)
	sp, err := New(context.Background(), Config{ID: "okta", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: p.metadata(), Replay: noReplay{}, Now: now, AllowIDPInitiated: true})
	if err != nil {
		b.Fatal(err)
	}
	groups := make([]string, 60)
	for i := range groups {
		groups[i] = "group-number-" + strings.Repeat("x", 40) + string(rune('a'+i%26))
	}
	r := p.build(b, resp{inResponseTo: "-", attrs: map[string][]string{"groups": groups, "email": {"alice@example.com"}}})
	raw, _ := base64.StdEncoding.DecodeString(r)
	b.ReportMetric(float64(len(raw)), "bytes/response")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sp.ParseResponse(context.Background(), ACSInput{SAMLResponse: r, CurrentURL: spACS}); err != nil {
			b.Fatal(err)
		}
	}
}

type noReplay struct{}

func (noReplay) Remember(context.Context, string, string, time.Time) error { return nil }
