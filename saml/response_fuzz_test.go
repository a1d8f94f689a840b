package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/broker-dev/broker"
)

// fuzzSP is one ServiceProvider the fuzzed response is posted to, with the
// clocks its IdP's responses need (crewjam reads package globals).
type fuzzSP struct {
	sp         *ServiceProvider
	now, clock time.Time
	requestID  string
	acs        string
	certs      []*x509.Certificate // the IdP's signing certificates
	replay     *resettableReplay
}

// resettableReplay is a memReplay emptied before every fuzzed input, so
// that each input is judged on its own and the memory stays bounded.
type resettableReplay struct{ m *memReplay }

func (r *resettableReplay) Remember(ctx context.Context, ns, key string, exp time.Time) error {
	return r.m.Remember(ctx, ns, key, exp)
}

func newFuzzSP(f *testing.F, id string, md []byte, acs, metadataURL, requestID string, now, clock time.Time) *fuzzSP {
	f.Helper()
	nowFn := func() time.Time { return now }
	rp := &resettableReplay{m: newMemReplay(nowFn)}
	sp, err := New(context.Background(), Config{ID: id, MetadataURL: metadataURL, ACSURL: acs, IDPMetadataXML: md, Replay: rp, Now: nowFn})
	if err != nil {
		f.Fatal(err)
	}
	// The SP hands its clock to crewjam per request; certificates are
	// judged at the fixture's time.
	sp.certNow = fixedNow(clock)
	certs := idpSigningCerts(sp.state.Load().md)
	if len(certs) == 0 {
		f.Fatalf("%s: no signing certificate", id)
	}
	return &fuzzSP{sp: sp, now: now, clock: clock, requestID: requestID, acs: acs, certs: certs, replay: rp}
}

// FuzzParseResponse posts fuzzed Response XML to two service providers: one
// trusting a test IdP whose signed responses are among the seeds, one
// trusting Google's real IdP (its real response is a seed). Invariants:
// no panic; every refusal is a *broker.Error with a code, a reason and a
// message; an accepted response's identity is exactly what a signature by
// the trusted IdP covers (checked here with goxmldsig directly, not through
// crewjam); the same response posted again is a replay.
func FuzzParseResponse(f *testing.F) {
	p := newTestIdP(f, t0)
	roles := map[string][]string{
		broker.SAMLAttrRole:            {"arn:aws:iam::111122223333:role/Admin,arn:aws:iam::111122223333:saml-provider/Okta"},
		broker.SAMLAttrRoleSessionName: {"alice"}, broker.SAMLAttrSessionDuration: {"7200"}, "groups": {"eng", " sre "},
	}
	for _, r := range []resp{
		{}, {unsignedResp: true}, {unsignedAssert: true}, {attrs: roles}, {unsignedResp: true, attrs: roles},
		{unsignedResp: true, unsignedAssert: true}, {extraAssertion: true}, {noBearer: true}, {twoConfirms: true}, {noAuthn: true},
		{inResponseTo: "-"}, {status: "urn:oasis:names:tc:SAML:2.0:status:Responder"}, {audiences: []string{}},
		{tamper: func(s string) string {
			return strings.Replace(s, "alice@example.com", "alice@example.com<!-- x -->.evil", 1)
		}},
	} {
		raw, err := base64.StdEncoding.DecodeString(p.build(f, r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	addFixtureSeeds(f)

	gnow, _ := time.Parse(time.RFC3339, google.now)
	sps := []*fuzzSP{
		newFuzzSP(f, "okta", p.metadata(), spACS, spMD, "req-1", t0, t0),
		newFuzzSP(f, "google", readFixture(f, google.metadata), google.spBase+"acs", google.spBase+"metadata", google.requestID, gnow, gnow),
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		in := base64.StdEncoding.EncodeToString(raw)
		for _, s := range sps {
			s.replay.m = newMemReplay(s.sp.cfg.Now)
			acs := ACSInput{SAMLResponse: in, RequestIDs: []string{s.requestID}, CurrentURL: s.acs}
			res, err := s.sp.ParseResponse(context.Background(), acs)
			if err != nil {
				checkRefusal(t, s.sp.cfg.ID, res, err)
				continue
			}
			checkSigned(t, s, raw, res)
			if _, err := s.sp.ParseResponse(context.Background(), acs); broker.ErrorCode(err) != broker.EREPLAY {
				t.Fatalf("%s: the same response accepted twice: %v", s.sp.cfg.ID, err)
			}
		}
	})
}

// addFixtureSeeds adds every third-party response (decoded to XML).
func addFixtureSeeds(f *testing.F) {
	f.Helper()
	for _, dir := range []string{"crewjam-saml", "python3-saml", "saml2aws", "aws-google-auth"} {
		names, err := os.ReadDir(filepath.Join(fixtures, dir))
		if err != nil {
			f.Fatal(err)
		}
		for _, n := range names {
			name := n.Name()
			if strings.HasPrefix(name, "LICENSE") || strings.HasSuffix(name, ".pem") || strings.HasSuffix(name, ".crt") || strings.HasSuffix(name, "IDPMetadata") {
				continue
			}
			b := readFixture(f, filepath.Join(dir, name))
			if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil {
				b = raw
			}
			f.Add(b)
		}
	}
}

func checkRefusal(t *testing.T, sp string, res *Result, err error) {
	t.Helper()
	e, ok := err.(*broker.Error)
	if !ok || res != nil {
		t.Fatalf("%s: refusal is %T (result %v): %v", sp, err, res != nil, err)
	}
	if e.Code == "" || e.Code == broker.EINTERNAL || e.Reason == "" || e.Message == "" || strings.Contains(e.Message, "<") {
		t.Fatalf("%s: refusal without a code, reason or safe message: %#v", sp, e)
	}
}

// checkSigned fails unless the accepted identity is the one carried by an
// assertion that a signature by the SP's trusted IdP covers.
func checkSigned(t *testing.T, s *fuzzSP, raw []byte, res *Result) {
	t.Helper()
	got := res.Identity
	if got.Provider != s.sp.cfg.ID || !reflect.DeepEqual(res.ResponseXML, raw) {
		t.Fatalf("%s: result for another provider or another document: %+v", s.sp.cfg.ID, got)
	}
	signed := trustedAssertions(raw, s.certs, s.clock)
	for _, a := range signed {
		want, err := identityFromAssertion(a)
		if err != nil || a.ID != res.AssertionID {
			continue
		}
		gotAttrs := map[string][]string{}
		for k, v := range got.Attributes {
			if k != broker.AttrIssuer && k != broker.AttrProvider && k != broker.AttrMFA {
				gotAttrs[k] = v
			}
		}
		if got.Subject == want.Subject && got.SubjectFormat == want.SubjectFormat && reflect.DeepEqual(got.Roles, want.Roles) &&
			got.RoleSessionName == want.RoleSessionName && got.SessionDuration == want.SessionDuration && reflect.DeepEqual(gotAttrs, want.Attributes) &&
			got.MFA == broker.AssertedMFA(want, s.sp.cfg.MFAValues) {
			return
		}
	}
	t.Fatalf("%s: accepted an identity no trusted signature covers: subject %q, attributes %v (%d signed assertions)", s.sp.cfg.ID, got.Subject, got.Attributes, len(signed))
}

// trustedAssertions returns the assertions of raw that a valid signature by
// one of certs covers, read from the signed element goxmldsig returns: the
// Response's assertion when the Response is signed, and each signed
// Assertion child.
func trustedAssertions(raw []byte, certs []*x509.Certificate, clock time.Time) []*saml.Assertion {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(raw) != nil || doc.Root() == nil {
		return nil
	}
	var out []*saml.Assertion
	root := doc.Root()
	if el := verifiedCopy(root, certs, clock); el != nil {
		var r saml.Response
		if unmarshalVerified(el, &r) == nil && r.Assertion != nil {
			out = append(out, r.Assertion)
		}
	}
	for _, child := range root.ChildElements() {
		if child.Tag != "Assertion" {
			continue
		}
		if el := verifiedCopy(child, certs, clock); el != nil {
			var a saml.Assertion
			if unmarshalVerified(el, &a) == nil {
				out = append(out, &a)
			}
		}
	}
	return out
}

func verifiedCopy(el *etree.Element, certs []*x509.Certificate, clock time.Time) *etree.Element {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil
	}
	if ctx, err = ctx.SubContext(el); err != nil {
		return nil
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil
	}
	// As crewjam: a KeyInfo without a certificate is ignored.
	if det.FindElement("./Signature/KeyInfo/X509Data/X509Certificate") == nil {
		if sig := det.FindElement("./Signature"); sig != nil {
			if ki := sig.FindElement("KeyInfo"); ki != nil {
				sig.RemoveChild(ki)
			}
		}
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	vc.IdAttribute = "ID"
	vc.Clock = dsig.NewFakeClockAt(clock)
	v, err := vc.Validate(det)
	if err != nil {
		return nil
	}
	return v
}

func unmarshalVerified(el *etree.Element, v any) error {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	return xml.Unmarshal(b, v)
}
