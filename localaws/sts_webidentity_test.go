package localaws

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	jose "github.com/go-jose/go-jose/v4"
)

// oidcIssuer is an OpenID Provider the test controls: discovery, JWKS,
// and tokens with any header and claims.
type oidcIssuer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     []*rsa.PrivateKey
	down     bool
	badJSON  bool
	issuer   string // discovery's issuer ("" = the server URL)
	jwksHits atomic.Int32
}

func newOIDCIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	o := &oidcIssuer{keys: []*rsa.PrivateKey{rsaKey(t)}}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.down {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		if o.badJSON {
			w.Write([]byte("{not json"))
			return
		}
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			iss := o.issuer
			if iss == "" {
				iss = o.srv.URL
			}
			json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": o.srv.URL + "/jwks"})
		case "/jwks":
			o.jwksHits.Add(1)
			var set jose.JSONWebKeySet
			for _, k := range o.keys {
				set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: jwkID(k), Algorithm: "RS256", Use: "sig"})
			}
			json.NewEncoder(w).Encode(set)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jwkID(k *rsa.PrivateKey) string {
	tp, _ := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	return base64.RawURLEncoding.EncodeToString(tp)
}

func (o *oidcIssuer) hostPath() string { return strings.TrimPrefix(o.srv.URL, "http://") }

func (o *oidcIssuer) claims(now time.Time) map[string]any {
	return map[string]any{"iss": o.srv.URL, "sub": "bob-42", "aud": "broker", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "email": "bob@example.com"}
}

func signJWT(t *testing.T, k *rsa.PrivateKey, claims map[string]any) string {
	return signJWTAlg(jose.RS256, k, claims)
}

// signJWTAlg signs with alg (an RSA algorithm: RS* or PS*).
func signJWTAlg(alg jose.SignatureAlgorithm, k *rsa.PrivateKey, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k, KeyID: jwkID(k)}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(claims)
	jws, _ := s.Sign(b)
	out, _ := jws.CompactSerialize()
	return out
}

const (
	webAccount = "111122223333"
	webRole    = "arn:aws:iam::" + webAccount + ":role/Web"
	webTagRole = "arn:aws:iam::" + webAccount + ":role/WebTags"
	webDeny    = "arn:aws:iam::" + webAccount + ":role/WebDeny"
	webSubRole = "arn:aws:iam::" + webAccount + ":role/WebSub"
)

type webFixture struct {
	clock *testClock
	op    *oidcIssuer
	sts   *sts.Client
	ts    *httptest.Server
}

func newWebFixture(t *testing.T) *webFixture {
	t.Helper()
	op := newOIDCIssuer(t)
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	prov := "arn:aws:iam::" + webAccount + ":oidc-provider/" + op.hostPath()
	fed := `{"Federated":"` + prov + `"}`
	aud := `{"StringEquals":{"` + op.hostPath() + `:aud":"broker"}}`
	reg := &Registry{
		OIDCProviders: []OIDCProvider{{ARN: prov, URL: op.srv.URL, ClientIDs: []string{"broker", "other-client"}}},
		Roles: []Role{
			{ARN: webRole, MaxSessionDuration: 7200, TrustPolicy: trust(`{"Effect":"Allow","Principal":` + fed + `,"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + aud + `}`)},
			{ARN: webTagRole, TrustPolicy: trust(`{"Effect":"Allow","Principal":` + fed + `,"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"aws:RequestTag/team":"platform"}}}`)},
			{ARN: webDeny, TrustPolicy: trust(`{"Effect":"Allow","Principal":`+fed+`,"Action":"sts:*"}`, `{"Effect":"Deny","Principal":`+fed+`,"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"`+op.hostPath()+`:sub":"bo*"}}}`)},
			{ARN: webSubRole, TrustPolicy: trust(`{"Effect":"Allow","Principal":` + fed + `,"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + op.hostPath() + `:sub":"alice"}}}`)},
		},
	}
	srv, err := New(Config{Registry: reg, Now: clock.Now, HTTPClient: op.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	client := sts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, HTTPClient: ts.Client(),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}, func(o *sts.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	return &webFixture{clock: clock, op: op, sts: client, ts: ts}
}

func (f *webFixture) assume(role, token string, edit ...func(*sts.AssumeRoleWithWebIdentityInput)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(role), RoleSessionName: aws.String("bob@example.com"), WebIdentityToken: aws.String(token)}
	for _, e := range edit {
		e(in)
	}
	return f.sts.AssumeRoleWithWebIdentity(context.Background(), in)
}

func TestWebIdentityAccepts(t *testing.T) {
	f := newWebFixture(t)
	now := f.clock.Now()
	out, err := f.assume(webRole, signJWT(t, f.op.keys[0], f.op.claims(now)), func(in *sts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(7200) })
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != "bob-42" || aws.ToString(out.Provider) != f.op.hostPath() || aws.ToString(out.Audience) != "broker" ||
		aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::"+webAccount+":assumed-role/Web/bob@example.com" {
		t.Errorf("response %+v %+v", out, out.AssumedRoleUser)
	}
	if !aws.ToTime(out.Credentials.Expiration).Equal(now.Add(2 * time.Hour)) {
		t.Errorf("expiration %v", aws.ToTime(out.Credentials.Expiration))
	}
	// The same token works again until it expires (no replay rule for web identity).
	if _, err := f.assume(webRole, signJWT(t, f.op.keys[0], f.op.claims(now))); err != nil {
		t.Fatalf("second use: %v", err)
	}
	// Tags and source identity with TagSession / SetSourceIdentity allowed.
	c := f.op.claims(now)
	c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string][]string{"team": {"platform"}}, "transitive_tag_keys": []string{"team"}}
	c["https://aws.amazon.com/source_identity"] = "bob"
	out, err = f.assume(webTagRole, signJWT(t, f.op.keys[0], c))
	if err != nil {
		t.Fatalf("tags: %v", err)
	}
	if aws.ToString(out.SourceIdentity) != "bob" || out.PackedPolicySize == nil {
		t.Errorf("tagged response %+v", out)
	}
	// The credentials open the console like SAML ones.
	form := strings.NewReader("Action=getSigninToken&Session=" + url.QueryEscape(sessionJSON(out.Credentials)))
	resp, err := http.Post(f.ts.URL+"/federation", "application/x-www-form-urlencoded", form)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("getSigninToken with web identity credentials: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
}

// rsaKeyNoT is a fresh key for table entries that have no *testing.T.
func rsaKeyNoT() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func TestWebIdentityRejects(t *testing.T) {
	type tc struct {
		name   string
		role   string
		token  func(f *webFixture, now time.Time) string
		setup  func(f *webFixture)
		edit   func(*sts.AssumeRoleWithWebIdentityInput)
		code   string
		status int
		msg    string
	}
	with := func(edit func(c map[string]any)) func(f *webFixture, now time.Time) string {
		return func(f *webFixture, now time.Time) string {
			c := f.op.claims(now)
			edit(c)
			return signJWT(nil, f.op.keys[0], c)
		}
	}
	good := with(func(map[string]any) {})
	cases := []tc{
		{name: "unregistered issuer", token: with(func(c map[string]any) { c["iss"] = "https://unknown.example.com" }), code: codeInvalidIdentity, status: 400, msg: "No OpenIDConnect provider found"},
		{name: "wrong audience", token: with(func(c map[string]any) { c["aud"] = "someone-else" }), code: codeInvalidIdentity, status: 400, msg: "Incorrect token audience"},
		{name: "aud list without our client", token: with(func(c map[string]any) { c["aud"] = []string{"x", "y"} }), code: codeInvalidIdentity, status: 400, msg: "Incorrect token audience"},
		{name: "expired", token: with(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), code: codeExpiredToken, status: 400, msg: "Token expired"},
		{name: "no exp", token: with(func(c map[string]any) { delete(c, "exp") }), code: codeInvalidIdentity, status: 400, msg: "no exp"},
		{name: "no iat", token: with(func(c map[string]any) { delete(c, "iat") }), code: codeInvalidIdentity, status: 400, msg: "no iat"},
		{name: "no sub", token: with(func(c map[string]any) { delete(c, "sub") }), code: codeInvalidIdentity, status: 400, msg: "no sub"},
		{name: "issued in the future", token: with(func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }), code: codeInvalidIdentity, status: 400, msg: "future"},
		{name: "bad signature", token: func(f *webFixture, now time.Time) string {
			tok := signJWT(nil, f.op.keys[0], f.op.claims(now))
			return tok[:len(tok)-4] + "AAAA"
		}, code: codeInvalidIdentity, status: 400, msg: "signature"},
		{name: "unknown key", token: func(f *webFixture, now time.Time) string { return signJWT(nil, rsaKeyNoT(), f.op.claims(now)) },
			code: codeInvalidIdentity, status: 400, msg: "not in"},
		{name: "alg none", token: func(f *webFixture, now time.Time) string {
			b, _ := json.Marshal(f.op.claims(now))
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString(b) + "."
		}, code: codeInvalidIdentity, status: 400, msg: "supported algorithm"},
		{name: "HS256 with the public key as secret", token: func(f *webFixture, now time.Time) string {
			der, _ := x509.MarshalPKIXPublicKey(&f.op.keys[0].PublicKey)
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}, nil)
			b, _ := json.Marshal(f.op.claims(now))
			jws, _ := s.Sign(b)
			out, _ := jws.CompactSerialize()
			return out
		}, code: codeInvalidIdentity, status: 400, msg: "supported algorithm"},
		// IAM accepts RS256/384/512 and ES256/384/512 only (docs/DOMAIN.md §4).
		{name: "PS256", token: func(f *webFixture, now time.Time) string {
			return signJWTAlg(jose.PS256, f.op.keys[0], f.op.claims(now))
		},
			code: codeInvalidIdentity, status: 400, msg: "Signing algorithm PS256 is not supported"},
		{name: "PS512", token: func(f *webFixture, now time.Time) string {
			return signJWTAlg(jose.PS512, f.op.keys[0], f.op.claims(now))
		},
			code: codeInvalidIdentity, status: 400, msg: "could not be validated by AWS"},
		// SubjectFromWebIdentityToken is 6..255 characters (STS API reference).
		{name: "sub of 5 characters", token: with(func(c map[string]any) { c["sub"] = "bob-4" }), code: codeInvalidIdentity, status: 400, msg: "sub claim is 5 characters"},
		{name: "sub of 256 characters", token: with(func(c map[string]any) { c["sub"] = "bo" + strings.Repeat("x", 254) }), code: codeInvalidIdentity, status: 400, msg: "sub claim is 256 characters"},
		{name: "discovery down", token: good, setup: func(f *webFixture) { f.op.down = true }, code: codeIDPCommunication, status: 400, msg: "Couldn't retrieve verification key"},
		{name: "garbage discovery", token: good, setup: func(f *webFixture) { f.op.badJSON = true }, code: codeIDPCommunication, status: 400, msg: "verification key"},
		{name: "discovery issuer mismatch", token: good, setup: func(f *webFixture) { f.op.issuer = "https://elsewhere.example.com" }, code: codeIDPCommunication, status: 400, msg: "verification key"},
		{name: "trust policy condition on sub", role: webSubRole, token: good, code: codeAccessDenied, status: 403, msg: "sts:AssumeRoleWithWebIdentity"},
		{name: "explicit deny", role: webDeny, token: good, code: codeAccessDenied, status: 403, msg: "sts:AssumeRoleWithWebIdentity"},
		{name: "tags without TagSession", token: with(func(c map[string]any) {
			c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string][]string{"team": {"platform"}}}
		}), code: codeAccessDenied, status: 403, msg: "sts:TagSession"},
		{name: "source identity without SetSourceIdentity", token: with(func(c map[string]any) { c["https://aws.amazon.com/source_identity"] = "bob" }),
			code: codeAccessDenied, status: 403, msg: "sts:SetSourceIdentity"},
		{name: "tag with two values", role: webTagRole, token: with(func(c map[string]any) {
			c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string][]string{"team": {"a", "b"}}}
		}), code: codeInvalidIdentity, status: 400, msg: "exactly one value"},
		{name: "51 tags", role: webTagRole, token: with(func(c map[string]any) {
			pt := map[string][]string{}
			for i := 0; i < 51; i++ {
				pt[strings.Repeat("k", i+1)] = []string{"v"}
			}
			c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": pt}
		}), code: codeInvalidIdentity, status: 400, msg: "50"},
		{name: "duration above the role max", token: good, edit: func(in *sts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(10800) },
			code: codeValidation, status: 400, msg: "MaxSessionDuration"},
		{name: "bad session name", token: good, edit: func(in *sts.AssumeRoleWithWebIdentityInput) { in.RoleSessionName = aws.String("bob smith") },
			code: codeValidation, status: 400, msg: "roleSessionName"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newWebFixture(t)
			if c.setup != nil {
				c.setup(f)
			}
			role := c.role
			if role == "" {
				role = webRole
			}
			var edits []func(*sts.AssumeRoleWithWebIdentityInput)
			if c.edit != nil {
				edits = append(edits, c.edit)
			}
			_, err := f.assume(role, c.token(f, f.clock.Now()), edits...)
			wantAPIError(t, err, c.code, c.status, c.msg)
		})
	}
}

func TestWebIdentityKeyRotation(t *testing.T) {
	f := newWebFixture(t)
	now := f.clock.Now()
	if _, err := f.assume(webRole, signJWT(t, f.op.keys[0], f.op.claims(now))); err != nil {
		t.Fatal(err)
	}
	hits := f.op.jwksHits.Load()
	rotated := rsaKey(t)
	f.op.mu.Lock()
	f.op.keys = append(f.op.keys, rotated)
	f.op.mu.Unlock()
	if _, err := f.assume(webRole, signJWT(t, rotated, f.op.claims(now))); err != nil {
		t.Fatalf("a key rotated in after the JWKS was cached: %v", err)
	}
	if f.op.jwksHits.Load() != hits+1 {
		t.Errorf("JWKS fetched %d more times, want exactly 1", f.op.jwksHits.Load()-hits)
	}
	stranger := rsaKey(t)
	_, err := f.assume(webRole, signJWT(t, stranger, f.op.claims(now)))
	wantAPIError(t, err, codeInvalidIdentity, 400, "not in")
}

func TestWebIdentityRegistryURLs(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://login.example.com":      true,
		"http://localhost:8082":          true,
		"http://127.0.0.1:8080":          true,
		"http://login.example.com":       false,
		"https://login.example.com:8443": false,
	} {
		arn := "arn:aws:iam::111122223333:oidc-provider/" + strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
		err := (&Registry{OIDCProviders: []OIDCProvider{{ARN: arn, URL: u, ClientIDs: []string{"c"}}}}).Validate()
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want ok=%v", u, err, ok)
		}
	}
}

func TestWebIdentityAcceptsSubjectBounds(t *testing.T) {
	for _, sub := range []string{"bob-42", "bo" + strings.Repeat("x", 253), "bo" + strings.Repeat("é", 253)} {
		f := newWebFixture(t)
		c := f.op.claims(f.clock.Now())
		c["sub"] = sub
		out, err := f.assume(webRole, signJWT(t, f.op.keys[0], c))
		if err != nil {
			t.Fatalf("sub of %d characters: %v", len([]rune(sub)), err)
		}
		if aws.ToString(out.SubjectFromWebIdentityToken) != sub {
			t.Errorf("SubjectFromWebIdentityToken %q", aws.ToString(out.SubjectFromWebIdentityToken))
		}
	}
}

func TestWebIdentityAcceptsEveryRSAlgorithm(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512} {
		f := newWebFixture(t)
		if _, err := f.assume(webRole, signJWTAlg(alg, f.op.keys[0], f.op.claims(f.clock.Now()))); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
}
