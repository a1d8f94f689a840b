package saml

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
)

// mdDoc describes IdP metadata for a test to serve.
type mdDoc struct {
	keys          []issuer.KeyPair // signing certificates, in order
	sso           string           // default https://idp.example.com/sso
	id            string           // the root's ID attribute
	validUntil    time.Time
	cacheDuration string // xs:duration, e.g. PT10M
	// entities wraps the entity in an EntitiesDescriptor with this
	// validUntil (zero: none).
	entities        bool
	outerValidUntil time.Time
}

func (d mdDoc) xml() string {
	sso := d.sso
	if sso == "" {
		sso = "https://idp.example.com/sso"
	}
	attrs := func(id string, vu time.Time, cd string) string {
		s := ""
		if id != "" {
			s += ` ID="` + id + `"`
		}
		if !vu.IsZero() {
			s += ` validUntil="` + vu.UTC().Format(time.RFC3339) + `"`
		}
		if cd != "" {
			s += ` cacheDuration="` + cd + `"`
		}
		return s
	}
	var keys strings.Builder
	for _, k := range d.keys {
		keys.WriteString(`<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
			base64.StdEncoding.EncodeToString(k.Certificate.Raw) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`)
	}
	if !d.entities {
		return `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + idpEntity + `"` + attrs(d.id, d.validUntil, d.cacheDuration) + `>
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + keys.String() + `
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + sso + `"/>
</IDPSSODescriptor></EntityDescriptor>`
	}
	return `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"` + attrs(d.id, d.outerValidUntil, d.cacheDuration) + `>
<EntityDescriptor entityID="https://sp.example.org/sp"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></EntityDescriptor>
<EntityDescriptor entityID="` + idpEntity + `"` + attrs("", d.validUntil, "") + `>
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + keys.String() + `
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + sso + `"/>
</IDPSSODescriptor></EntityDescriptor></EntitiesDescriptor>`
}

// signMD signs doc's root with kp: an enveloped XML-DSig, exclusive
// canonicalization, the Signature as the root's first child. hash SHA-1
// signs with RSA-SHA1 and a SHA-1 digest.
func signMD(tb testing.TB, kp issuer.KeyPair, doc string, hash crypto.Hash) string {
	tb.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		tb.Fatal(err)
	}
	root := d.Root()
	if err := etreeutils.TransformExcC14n(root, "", false); err != nil {
		tb.Fatal(err)
	}
	ctx, err := dsig.NewSigningContext(kp.Key, [][]byte{kp.Certificate.Raw})
	if err != nil {
		tb.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	ctx.Hash = hash
	method := dsig.RSASHA256SignatureMethod
	if hash == crypto.SHA1 {
		method = dsig.RSASHA1SignatureMethod
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		tb.Fatal(err)
	}
	sig, err := ctx.ConstructSignature(root, true)
	if err != nil {
		tb.Fatal(err)
	}
	root.InsertChildAt(0, sig)
	s, err := d.WriteToString()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newKey(tb testing.TB, name string) issuer.KeyPair {
	tb.Helper()
	kp, err := issuer.GenerateKeyPair(name, 48*time.Hour, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return kp
}

// mdServer serves metadata that a test swaps, takes down and brings back.
type mdServer struct {
	*httptest.Server
	mu   sync.Mutex
	body string
	down bool
	hits int
}

func newMDServer(tb testing.TB, body string) *mdServer {
	s := &mdServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits++
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write([]byte(s.body))
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *mdServer) serve(body string) { s.mu.Lock(); s.body, s.down = body, false; s.mu.Unlock() }
func (s *mdServer) setDown(d bool)    { s.mu.Lock(); s.down = d; s.mu.Unlock() }
func (s *mdServer) count() int        { s.mu.Lock(); defer s.mu.Unlock(); return s.hits }

// memCache is a MetadataCache in memory with the store's rules (the store
// has its own conformance suite).
type memCache struct {
	mu   sync.Mutex
	m    map[string]cached
	fail error // every call fails with it when set
}

type cached struct {
	xml     []byte
	source  string
	fetched time.Time
}

func newMemCache() *memCache { return &memCache{m: map[string]cached{}} }

func (c *memCache) SaveMetadata(_ context.Context, provider, source string, xml []byte, fetched time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	if old, ok := c.m[provider]; ok && fetched.Before(old.fetched) {
		return nil
	}
	c.m[provider] = cached{append([]byte(nil), xml...), source, fetched}
	return nil
}

func (c *memCache) LoadMetadata(_ context.Context, provider string) ([]byte, string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return nil, "", time.Time{}, c.fail
	}
	e, ok := c.m[provider]
	if !ok {
		return nil, "", time.Time{}, broker.Errorf(broker.ENOTFOUND, "metadata_not_found", "")
	}
	return e.xml, e.source, e.fetched, nil
}

func (c *memCache) put(provider, source, xml string, fetched time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[provider] = cached{[]byte(xml), source, fetched}
}

// testClock is a clock the test moves. The SP gives it to crewjam per
// request (Config.Now), so no crewjam global is touched.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(_ testing.TB, start time.Time) *testClock {
	return &testClock{t: start}
}

func (c *testClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// logBuf collects log lines (safe for the Run goroutine).
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// lines returns the logged lines that contain all of parts.
func (l *logBuf) lines(parts ...string) []string {
	var out []string
next:
	for _, line := range strings.Split(l.String(), "\n") {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// changes records OnMetadataChange calls.
type changes struct {
	mu sync.Mutex
	cs []MetadataChange
}

func (c *changes) record(_ context.Context, mc MetadataChange) {
	c.mu.Lock()
	c.cs = append(c.cs, mc)
	c.mu.Unlock()
}
func (c *changes) all() []MetadataChange {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]MetadataChange(nil), c.cs...)
}

// urlSP builds an SP on metadata at url with the test's clock, cache and
// change recorder, logging into the returned buffer.
func urlSP(tb testing.TB, url string, clock *testClock, cache MetadataCache, edit func(*Config)) (*ServiceProvider, *logBuf, *changes) {
	tb.Helper()
	logs, ch := &logBuf{}, &changes{}
	cfg := Config{ID: "okta", MetadataURL: spMD, ACSURL: spACS, IDPMetadataURL: url, MetadataRefresh: time.Hour,
		Replay: newMemReplay(clock.Now), Now: clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil)), OnMetadataChange: ch.record}
	if cache != nil {
		cfg.MetadataCache = cache
	}
	if edit != nil {
		edit(&cfg)
	}
	sp, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return sp, logs, ch
}

// signIn builds a response signed by key at the clock's time and parses it.
func signIn(tb testing.TB, sp *ServiceProvider, key issuer.KeyPair, clock *testClock, id string) error {
	tb.Helper()
	s, err := issuer.NewSigner(key)
	if err != nil {
		tb.Fatal(err)
	}
	p := &testIdP{kp: key, signer: s, now: clock.Now()}
	_, err = parse(tb, sp, p.build(tb, resp{assertionID: id}), "req-1")
	return err
}
