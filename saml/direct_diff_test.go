package saml

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/broker-dev/broker"
)

// diffCase is one response fed to both paths: build makes a fresh SP
// (its own replay cache) and the input.
type diffCase struct {
	name  string
	build func(tb testing.TB) (*ServiceProvider, ACSInput)
}

// outcome is what a path decided.
type outcome struct {
	accepted bool
	reason   string
	identity broker.Identity
	res      Result
}

func decide(sp *ServiceProvider, in ACSInput) outcome {
	res, err := sp.ParseResponse(context.Background(), in)
	if err != nil {
		return outcome{reason: broker.ErrorReason(err)}
	}
	return outcome{accepted: true, identity: res.Identity, res: *res}
}

// TestDirectMatchesCrewjam feeds the same corpus to the path before issue
// 15 (crewjam's ParseXMLResponse for every Response) and to the direct
// path, and requires the same decision for each: accepted or refused with
// the same reason, and for an accepted one the same Identity and Result.
func TestDirectMatchesCrewjam(t *testing.T) {
	corpus := diffCorpus(t)
	if len(corpus) < 300 {
		t.Fatalf("corpus has %d cases, want a few hundred", len(corpus))
	}
	accepted, refused := 0, 0
	for _, c := range corpus {
		spOld, in := c.build(t)
		spOld.crewjamOnly = true
		spNew, _ := c.build(t)
		want, got := decide(spOld, in), decide(spNew, in)
		if want.accepted != got.accepted || want.reason != got.reason {
			t.Errorf("%s: crewjam path accepted=%v reason=%q, direct path accepted=%v reason=%q", c.name, want.accepted, want.reason, got.accepted, got.reason)
			continue
		}
		if !reflect.DeepEqual(want.res, got.res) {
			t.Errorf("%s: results differ:\ncrewjam %+v\ndirect  %+v", c.name, want.res, got.res)
			continue
		}
		if want.accepted {
			accepted++
		} else {
			refused++
		}
	}
	t.Logf("%d cases: %d accepted and %d refused alike by both paths", len(corpus), accepted, refused)
	if accepted < 20 || refused < 100 {
		t.Errorf("corpus too one-sided: %d accepted, %d refused", accepted, refused)
	}
}

func diffCorpus(t *testing.T) []diffCase {
	var out []diffCase
	// The third-party fixtures, as they are and mutated.
	fixtureCases := acceptedFixtures(t)
	for _, n := range []string{"One", "Two"} {
		fixtureCases = append(fixtureCases, with(oneLogin, func(c *fixtureCase) {
			c.name, c.response, c.allowSHA1 = "XSW "+n, "crewjam-saml/TestXswPermutation"+n+"IsRejected_response", true
		}))
	}
	for _, n := range []string{"Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"} {
		fixtureCases = append(fixtureCases, with(signedAssertions, func(c *fixtureCase) {
			c.name, c.response, c.allowSHA1 = "XSW "+n, "crewjam-saml/TestXswPermutation"+n+"IsRejected_response", true
		}))
	}
	py := fixtureCase{spBase: "https://pitbulk.no-ip.org/newonelogin/demo1/", clock: "2007-07-01T00:00:00Z", allowSHA1: true}
	for _, f := range []string{"signature_wrapping_attack", "response_node_text_attack", "wrapped_response_2", "no_signature", "invalid_audience", "expired_response", "signed_assertion_response", "signed_message_response"} {
		fixtureCases = append(fixtureCases, with(py, func(c *fixtureCase) {
			c.name, c.response, c.now = "python3-saml "+f, "python3-saml/"+f+".xml.base64", "2014-02-19T01:37:30Z"
			c.metadataXML = certMetadata(t, "http://idp.example.com/", readFixture(t, "python3-saml/idp.crt"))
		}))
	}
	for _, fc := range fixtureCases {
		fc := fc
		out = append(out, diffCase{fc.name, func(tb testing.TB) (*ServiceProvider, ACSInput) {
			sp, in := fc.benchSP(tb)
			sp.cfg.Replay = newMemReplay(sp.cfg.Now)
			return sp, in
		}})
		for i, m := range mutations(fc.name, 12) {
			m := m
			out = append(out, diffCase{fmt.Sprintf("%s mutation %d (%s)", fc.name, i, m.name), func(tb testing.TB) (*ServiceProvider, ACSInput) {
				sp, in := fc.benchSP(tb)
				sp.cfg.Replay = newMemReplay(sp.cfg.Now)
				in.SAMLResponse = mutate(tb, in.SAMLResponse, m.f)
				return sp, in
			}})
		}
	}
	// Generated responses: valid ones, each way one can be wrong, and
	// shapes only crewjam reads.
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	idp := newTestIdP(t, now)
	attrs := map[string][]string{"email": {"alice@example.com"}, "groups": {"a", "b", " c "}, "https://aws.amazon.com/SAML/Attributes/Role": {"arn:aws:iam::123456789012:role/R,arn:aws:iam::123456789012:saml-provider/P"}}
	child := func(parent *etree.Element, tag string) *etree.Element {
		for _, c := range parent.ChildElements() {
			if c.FullTag() == tag {
				return c
			}
		}
		return nil
	}
	gens := map[string]resp{
		"valid":                {attrs: attrs},
		"valid idp-initiated":  {inResponseTo: "-", attrs: attrs},
		"valid only response":  {unsignedAssert: true, attrs: attrs},
		"valid only assertion": {unsignedResp: true, attrs: attrs},
		"valid default ns":     {prefix: "-", attrs: attrs},
		"valid other prefix":   {prefix: "a2", attrs: attrs},
		"unsigned":             {unsignedResp: true, unsignedAssert: true},
		"two assertions":       {extraAssertion: true},
		"not bearer":           {noBearer: true},
		"two confirmations":    {twoConfirms: true},
		"no authn":             {noAuthn: true},
		"wrong audience":       {audiences: []string{"https://other.example.com/"}},
		"two audiences":        {audiences: []string{spMD, "https://other.example.com/"}},
		"wrong recipient":      {recipient: "https://other.example.com/acs"},
		"wrong destination":    {destination: "https://other.example.com/acs"},
		"wrong issuer":         {issuer: "https://evil.example.com/"},
		"old":                  {issued: now.Add(-10 * time.Minute)},
		"future":               {issued: now.Add(10 * time.Minute)},
		"short":                {lifetime: time.Second, issued: now.Add(-time.Minute)},
		"other request":        {inResponseTo: "req-other"},
		"status failed":        {status: "urn:oasis:names:tc:SAML:2.0:status:Responder"},
		"name id spaces":       {nameID: "  bob@example.com  "},
		"role malformed":       {attrs: map[string][]string{"https://aws.amazon.com/SAML/Attributes/Role": {"not a role"}}},
		"one-time use":         {editAssertion: func(a *etree.Element) { child(a, "saml:Conditions").CreateElement("saml:OneTimeUse") }},
		"advice":               {editAssertion: func(a *etree.Element) { a.InsertChildAt(2, etree.NewElement("saml:Advice")) }},
		"subject locality": {editAssertion: func(a *etree.Element) {
			child(a, "saml:AuthnStatement").InsertChildAt(0, etree.NewElement("saml:SubjectLocality"))
		}},
		"authenticating auth": {editAssertion: func(a *etree.Element) {
			child(child(a, "saml:AuthnStatement"), "saml:AuthnContext").CreateElement("saml:AuthenticatingAuthority").SetText("x")
		}},
		"two name ids": {editAssertion: func(a *etree.Element) {
			child(a, "saml:Subject").InsertChildAt(0, child(child(a, "saml:Subject"), "saml:NameID").Copy())
		}},
		"two issuers":            {editAssertion: func(a *etree.Element) { a.InsertChildAt(0, child(a, "saml:Issuer").Copy()) }},
		"no conditions":          {editAssertion: func(a *etree.Element) { a.RemoveChild(child(a, "saml:Conditions")) }},
		"no subject":             {editAssertion: func(a *etree.Element) { a.RemoveChild(child(a, "saml:Subject")) }},
		"no name id":             {editAssertion: func(a *etree.Element) { s := child(a, "saml:Subject"); s.RemoveChild(child(s, "saml:NameID")) }},
		"version 1.1":            {editAssertion: func(a *etree.Element) { a.CreateAttr("Version", "1.1") }},
		"response version":       {editResponse: func(r *etree.Element) { r.CreateAttr("Version", "3.0") }},
		"response other issuer":  {editResponse: func(r *etree.Element) { child(r, "saml:Issuer").SetText("https://evil.example.com/") }},
		"assertion other issuer": {editAssertion: func(a *etree.Element) { child(a, "saml:Issuer").SetText("https://evil.example.com/") }},
		"response no issuer":     {editResponse: func(r *etree.Element) { r.RemoveChild(child(r, "saml:Issuer")) }},
		"response extensions":    {editResponse: func(r *etree.Element) { r.InsertChildAt(1, etree.NewElement("samlp:Extensions")) }},
		"status message":         {editResponse: func(r *etree.Element) { child(r, "samlp:Status").CreateElement("samlp:StatusMessage").SetText("ok") }},
		"value with name id": {editAssertion: func(a *etree.Element) {
			st := a.CreateElement("saml:AttributeStatement")
			at := st.CreateElement("saml:Attribute")
			at.CreateAttr("Name", "n")
			v := at.CreateElement("saml:AttributeValue")
			v.CreateElement("saml:NameID").SetText("x")
		}},
		"attribute other ns": {editAssertion: func(a *etree.Element) {
			st := a.CreateElement("saml:AttributeStatement")
			at := st.CreateElement("x:Attribute")
			at.CreateAttr("xmlns:x", "urn:other")
			at.CreateAttr("Name", "n")
		}},
		"two attribute statements": {editAssertion: func(a *etree.Element) {
			for i := range 2 {
				at := a.CreateElement("saml:AttributeStatement").CreateElement("saml:Attribute")
				at.CreateAttr("Name", "n")
				at.CreateAttr("FriendlyName", "f")
				at.CreateElement("saml:AttributeValue").SetText(fmt.Sprint(i))
			}
		}},
		"cdata value": {editAssertion: func(a *etree.Element) {
			at := a.CreateElement("saml:AttributeStatement").CreateElement("saml:Attribute")
			at.CreateAttr("Name", "n")
			at.CreateElement("saml:AttributeValue").CreateCData("a<b")
		}},
		"empty value": {editAssertion: func(a *etree.Element) {
			at := a.CreateElement("saml:AttributeStatement").CreateElement("saml:Attribute")
			at.CreateAttr("Name", "n")
			at.CreateElement("saml:AttributeValue")
		}},
		"session not on or after": {editAssertion: func(a *etree.Element) {
			child(a, "saml:AuthnStatement").CreateAttr("SessionNotOnOrAfter", "2026-03-01T20:00:00Z")
		}},
		"scd not before future": {editAssertion: func(a *etree.Element) {
			child(child(child(a, "saml:Subject"), "saml:SubjectConfirmation"), "saml:SubjectConfirmationData").CreateAttr("NotBefore", "2026-03-01T12:10:00Z")
		}},
		"bad time":               {editAssertion: func(a *etree.Element) { child(a, "saml:Conditions").CreateAttr("NotBefore", "yesterday") }},
		"prefixed version":       {editAssertion: func(a *etree.Element) { a.CreateAttr("xmlns:v", "urn:v"); a.CreateAttr("v:Version", "9") }},
		"assertion copied after": {afterSign: func(r *etree.Element) { r.AddChild(child(r, "saml:Assertion").Copy()) }},
		"signature moved":        {afterSign: func(r *etree.Element) { s := child(r, "ds:Signature"); r.RemoveChild(s); r.AddChild(s) }},
		"assertion in extensions": {afterSign: func(r *etree.Element) {
			e := etree.NewElement("samlp:Extensions")
			e.AddChild(child(r, "saml:Assertion").Copy())
			r.InsertChildAt(0, e)
		}},
	}
	for name, r := range gens {
		name, r := name, r
		for _, allowIDP := range []bool{false, true} {
			allowIDP := allowIDP
			build := func(tb testing.TB) (*ServiceProvider, ACSInput) {
				sp, _ := newSP(tb, idp, func(c *Config) { c.AllowIDPInitiated = allowIDP })
				return sp, ACSInput{SAMLResponse: idp.build(tb, r), RequestIDs: []string{"req-1"}, CurrentURL: spACS}
			}
			label := fmt.Sprintf("generated %s (idp-initiated allowed %v)", name, allowIDP)
			out = append(out, diffCase{label, build})
			if !allowIDP {
				continue
			}
			for i, m := range mutations(name, 4) {
				m := m
				out = append(out, diffCase{fmt.Sprintf("%s mutation %d (%s)", label, i, m.name), func(tb testing.TB) (*ServiceProvider, ACSInput) {
					sp, in := build(tb)
					in.SAMLResponse = mutate(tb, in.SAMLResponse, m.f)
					return sp, in
				}})
			}
		}
	}
	return out
}

type mutation struct {
	name string
	f    func(string) string
}

// mutations are n deterministic changes to a document (seeded by name):
// byte flips, and elements duplicated, moved or wrapped.
func mutations(name string, n int) []mutation {
	seed := int64(0)
	for _, c := range name {
		seed = seed*31 + int64(c)
	}
	rng := rand.New(rand.NewSource(seed))
	tags := []string{"Assertion", "Signature", "Subject", "NameID", "Conditions", "Audience", "Attribute", "AttributeValue", "Issuer", "SubjectConfirmationData"}
	var out []mutation
	for i := range n {
		tag := tags[rng.Intn(len(tags))]
		pos, b := rng.Int(), byte(rng.Intn(256))
		switch i % 4 {
		case 0:
			out = append(out, mutation{"byte flip", func(s string) string {
				p := pos % len(s)
				return s[:p] + string([]byte{s[p] ^ b | 1}) + s[p+1:]
			}})
		case 1:
			out = append(out, mutation{"duplicate " + tag, func(s string) string {
				return editFirst(s, tag, func(el *etree.Element) { el.Parent().InsertChildAt(el.Index(), el.Copy()) })
			}})
		case 2:
			out = append(out, mutation{"move " + tag, func(s string) string {
				return editFirst(s, tag, func(el *etree.Element) { p := el.Parent(); p.RemoveChild(el); p.AddChild(el) })
			}})
		case 3:
			out = append(out, mutation{"wrap " + tag, func(s string) string {
				return editFirst(s, tag, func(el *etree.Element) {
					p, i := el.Parent(), el.Index()
					p.RemoveChild(el)
					w := etree.NewElement("Wrapper")
					w.AddChild(el)
					p.InsertChildAt(i, w)
				})
			}})
		}
	}
	return out
}

// editFirst applies f to the first element of local name tag below the root.
func editFirst(s, tag string, f func(*etree.Element)) string {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil || doc.Root() == nil {
		return s
	}
	var found *etree.Element
	walkElements(doc.Root(), func(el *etree.Element) bool {
		if found == nil && el != doc.Root() && el.Tag == tag {
			found = el
		}
		return found == nil
	})
	if found == nil {
		return s
	}
	f(found)
	out, err := doc.WriteToString()
	if err != nil {
		return s
	}
	return out
}

func mutate(tb testing.TB, b64 string, f func(string) string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString([]byte(f(string(raw))))
}
