package portal_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store/sqlstore"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/internal/webtest"
	"github.com/broker-dev/broker/web/site"
)

// The ACS end to end (issue 15): a real SAML SP behind the site, a SQLite
// store in a file, a rule granting a role, and fresh signed 12 KB
// responses (IdP-initiated, Response and Assertion signed RSA-SHA256, 10
// attributes, one of them 75 groups), each posted once.

const (
	benchIdP   = "https://idp.example.com/metadata"
	benchGroup = "cn=group-007,ou=groups,dc=example,dc=com"
)

type engineRules struct{ e *mapping.Engine }

func (r engineRules) Engine() *mapping.Engine { return r.e }

// acsBenchIdP signs responses for the benchmark's provider.
type acsBenchIdP struct {
	kp     issuer.KeyPair
	signer *issuer.Signer
}

func newACSBenchIdP(tb testing.TB) *acsBenchIdP {
	tb.Helper()
	kp, err := issuer.GenerateKeyPair("bench idp", 48*time.Hour, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := issuer.NewSigner(kp)
	if err != nil {
		tb.Fatal(err)
	}
	return &acsBenchIdP{kp: kp, signer: s}
}

func (p *acsBenchIdP) metadata() []byte {
	return []byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + benchIdP + `">
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
		base64.StdEncoding.EncodeToString(p.kp.Certificate.Raw) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
</IDPSSODescriptor></EntityDescriptor>`)
}

// response is the i-th response: person i, its own IDs, issued now.
func (p *acsBenchIdP) response(tb testing.TB, acs, audience string, i int, now time.Time) string {
	tb.Helper()
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	id := fmt.Sprintf("_bench%d-%d", now.UnixNano(), i)
	user := fmt.Sprintf("user%d@example.com", i)
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	a.CreateAttr("ID", id)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", ts(now))
	a.CreateElement("saml:Issuer").SetText(benchIdP)
	sub := a.CreateElement("saml:Subject")
	n := sub.CreateElement("saml:NameID")
	n.CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
	n.SetText(user)
	scd := sub.CreateElement("saml:SubjectConfirmation")
	scd.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	d := scd.CreateElement("saml:SubjectConfirmationData")
	d.CreateAttr("NotOnOrAfter", ts(now.Add(5*time.Minute)))
	d.CreateAttr("Recipient", acs)
	c := a.CreateElement("saml:Conditions")
	c.CreateAttr("NotBefore", ts(now.Add(-time.Minute)))
	c.CreateAttr("NotOnOrAfter", ts(now.Add(5*time.Minute)))
	c.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(audience)
	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", ts(now))
	as.CreateAttr("SessionIndex", "_s"+id)
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	st := a.CreateElement("saml:AttributeStatement")
	attr := func(name string, vals ...string) {
		at := st.CreateElement("saml:Attribute")
		at.CreateAttr("Name", name)
		for _, v := range vals {
			at.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	attr("https://aws.amazon.com/SAML/Attributes/Role", "arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:saml-provider/Okta")
	attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", user)
	attr("email", user)
	attr("givenName", "Alice")
	attr("surname", "Example")
	attr("displayName", "Alice Example")
	attr("department", "Engineering")
	attr("employeeID", fmt.Sprintf("E-%06d", i))
	attr("title", "Staff Engineer")
	var groups []string
	for g := range 75 {
		groups = append(groups, fmt.Sprintf("cn=group-%03d,ou=groups,dc=example,dc=com", g))
	}
	attr("groups", groups...)
	signed, err := p.signer.Sign(a)
	if err != nil {
		tb.Fatal(err)
	}
	root := etree.NewElement("samlp:Response")
	root.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	root.CreateAttr("ID", "_r"+id)
	root.CreateAttr("Version", "2.0")
	root.CreateAttr("IssueInstant", ts(now))
	root.CreateAttr("Destination", acs)
	iss := root.CreateElement("saml:Issuer")
	iss.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	iss.SetText(benchIdP)
	root.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	root.AddChild(signed)
	if root, err = p.signer.Sign(root); err != nil {
		tb.Fatal(err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	b, err := doc.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) < 11<<10 || len(b) > 13<<10 {
		tb.Fatalf("response is %d bytes, want about 12 KB", len(b))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// acsBenchSite is the site as the broker builds it (app/build.go) for one
// SAML provider: the real saml SP, access and sessions on a SQLite store
// (replay cache, sessions, sign-in records, audit log), served over
// loopback HTTP. It returns the ACS URL and the IdP.
func acsBenchSite(b *testing.B) (*httptest.Server, *acsBenchIdP) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{DSN: filepath.Join(b.TempDir(), "broker.db"), Keys: [][]byte{make([]byte, 32)}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	eng, err := mapping.Compile([]mapping.Rule{{Name: "devs",
		When:  mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: benchGroup}}},
		Grant: mapping.GrantSpec{Account: webtest.Acct, Role: "Developer", Label: "Developer"}}}, mapping.Options{BrokerSAMLProviderName: "broker"})
	if err != nil {
		b.Fatal(err)
	}
	acc, err := access.New(access.Config{Rules: engineRules{eng}, STS: &webtest.FakeSTS{}, Console: webtest.FakeConsole{}, Audit: db, SAMLIssuer: webtest.FakeIssuer{}})
	if err != nil {
		b.Fatal(err)
	}
	sessions, err := access.NewSessions(access.SessionsConfig{Store: db, Access: acc, RecordSignIns: true, Replay: db, AppTokens: db})
	if err != nil {
		b.Fatal(err)
	}
	idp := newACSBenchIdP(b)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sp, err := saml.New(ctx, saml.Config{ID: "okta", MetadataURL: base + "/saml/okta/metadata", ACSURL: base + "/saml/okta/acs",
		IDPMetadataXML: idp.metadata(), AllowIDPInitiated: true, Replay: db})
	if err != nil {
		b.Fatal(err)
	}
	s, err := site.New(site.Config{ExternalURL: base, Providers: []web.Provider{{ID: "okta", Label: "Okta", SAML: sp}},
		Access: acc, Sessions: sessions, Health: db, SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, MaxBodyBytes: 64 << 10})
	if err != nil {
		b.Fatal(err)
	}
	srv.Config.Handler = s
	srv.Start()
	b.Cleanup(srv.Close)
	return srv, idp
}

// BenchmarkACSHandler posts fresh signed 12 KB responses to the ACS over
// loopback HTTP, one sign-in each (a new person every time, so every one
// writes its replay entry, session, sign-in record and audit event), and
// reports the process's CPU time per accepted response (cpu-ms/op, GC and
// the HTTP client included). acs is the POST alone; acs+portal also
// follows its redirect to the portal with the new session's cookie.
// Profile it with
//
//	go test ./web/portal -run '^$' -bench 'BenchmarkACSHandler' -benchtime 300x -cpuprofile cpu.out -o portal.test
func BenchmarkACSHandler(b *testing.B) {
	for _, follow := range []bool{false, true} {
		name := "acs"
		if follow {
			name = "acs+portal"
		}
		b.Run(name, func(b *testing.B) {
			srv, idp := acsBenchSite(b)
			acs := srv.URL + "/saml/okta/acs"
			audience := srv.URL + "/saml/okta/metadata"
			client := srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			now := time.Now()
			responses := make([]string, b.N)
			for i := range responses {
				responses[i] = idp.response(b, acs, audience, i, now)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, g0 := cpuTime(), goroutinesCreated()
			for i := range b.N {
				resp, err := client.PostForm(acs, url.Values{"SAMLResponse": {responses[i]}})
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther {
					b.Fatalf("ACS: %d", resp.StatusCode)
				}
				if !follow {
					continue
				}
				// As a browser: /arrive, then the portal, with the
				// cookies the ACS set.
				jar, _ := cookiejar.New(nil)
				u, _ := url.Parse(acs)
				jar.SetCookies(u, resp.Cookies())
				browser := &http.Client{Transport: client.Transport, Jar: jar}
				page, err := browser.Get(srv.URL + resp.Header.Get("Location"))
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(page.Body)
				page.Body.Close()
				if err != nil || page.StatusCode != http.StatusOK || !strings.Contains(string(body), "Developer") {
					b.Fatalf("portal: %d %v, the granted role not shown", page.StatusCode, err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(goroutinesCreated()-g0)/float64(b.N), "goroutines/op")
		})
	}
}

// goroutinesCreated is how many goroutines the process has started (the
// HTTP client's in this benchmark too). At low load each start, and each
// later wake-up of the goroutine, can wake an idle thread, which costs
// more CPU than the goroutine's own work: the reason to count them.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
