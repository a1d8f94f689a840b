package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fakeBroker is the broker's side of the contract on httptest: an OP for
// the public client broker-cli (discovery, JWKS, authorize with PKCE
// S256 and loopback redirects, token with code, refresh rotation and
// device code, revocation) and the API (roles, credentials, console).
type fakeBroker struct {
	t   testing.TB
	srv *httptest.Server
	key *rsa.PrivateKey

	mu       sync.Mutex
	codes    map[string]fakeCode
	access   map[string]time.Time // access token -> expiry
	refresh  map[string]bool      // refresh token -> still valid
	devices  map[string]bool      // device code -> approved
	revoked  []string
	sub      string
	roles    []Role
	tokenTTL time.Duration
	credTTL  time.Duration
	// credDelay slows POST /api/v1/credentials (concurrency tests).
	credDelay time.Duration
	// credError answers POST /api/v1/credentials with this status and body.
	credStatus int
	credBody   string
	// idNonce overrides the nonce put in ID tokens.
	idNonce *string

	credCalls    atomic.Int32
	refreshCalls atomic.Int32
	lastCredBody atomic.Value // string
}

type fakeCode struct{ challenge, nonce, redirect string }

func newFakeBroker(t testing.TB) *fakeBroker {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBroker{t: t, key: k, codes: map[string]fakeCode{}, access: map[string]time.Time{}, refresh: map[string]bool{},
		devices: map[string]bool{}, sub: "demo:alice", tokenTTL: time.Hour, credTTL: time.Hour,
		roles: []Role{
			{Account: "111122223333", AccountAlias: "sandbox", Role: "Developer", RoleARN: "arn:aws:iam::111122223333:role/Developer", Label: "Developer", Region: "eu-west-1", Via: "saml", Credentials: true},
			{Account: "444455556666", Role: "ReadOnly", RoleARN: "arn:aws:iam::444455556666:role/ReadOnly", Label: "Read only", Via: "saml", Credentials: true},
			{Account: "444455556666", Role: "Billing", RoleARN: "arn:aws:iam::444455556666:role/Billing", Via: "saml", Credentials: false},
		}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBroker) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		u := f.srv.URL
		writeJSON(w, 200, map[string]any{"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
			"jwks_uri": u + "/jwks", "device_authorization_endpoint": u + "/device_authorization", "revocation_endpoint": u + "/revoke",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	case "/jwks":
		writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	case "/authorize":
		f.authorize(w, r)
	case "/token":
		f.token(w, r)
	case "/device_authorization":
		code := rand.Text()
		f.mu.Lock()
		f.devices[code] = true // approved at once
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"device_code": code, "user_code": "ABCD-EFGH", "verification_uri": f.srv.URL + "/device", "expires_in": 60, "interval": 1})
	case "/revoke":
		_ = r.ParseForm()
		f.mu.Lock()
		f.revoked = append(f.revoked, r.PostForm.Get("token"))
		delete(f.refresh, r.PostForm.Get("token"))
		f.mu.Unlock()
		w.WriteHeader(200)
	case RolesPath:
		if f.bearer(w, r) {
			writeJSON(w, 200, map[string]any{"roles": f.roles})
		}
	case CredentialsPath:
		if f.bearer(w, r) {
			f.credentials(w, r)
		}
	case ConsolePath:
		if f.bearer(w, r) {
			writeJSON(w, 200, map[string]any{"url": "https://signin.aws.amazon.com/federation?Action=login&SigninToken=secret", "expires": time.Now().Add(time.Hour), "role_arn": f.roles[0].RoleARN})
		}
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeBroker) bearer(w http.ResponseWriter, r *http.Request) bool {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	exp, ok := f.access[tok]
	f.mu.Unlock()
	if !ok || time.Now().After(exp) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, 401, map[string]string{"error": "unauthorized", "reason": "token_invalid", "message": "The access token is not valid."})
		return false
	}
	return true
}

func (f *fakeBroker) credentials(w http.ResponseWriter, r *http.Request) {
	f.credCalls.Add(1)
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	b, _ := json.Marshal(body)
	f.lastCredBody.Store(string(b))
	time.Sleep(f.credDelay)
	if f.credStatus != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.credStatus)
		_, _ = w.Write([]byte(f.credBody))
		return
	}
	n := f.credCalls.Load()
	writeJSON(w, 200, map[string]any{"access_key_id": "ASIAFAKE" + string(rune('A'+n%26)), "secret_access_key": "secret", "session_token": "session",
		"expiration": time.Now().Add(f.credTTL).UTC().Format(time.RFC3339), "role_arn": f.roles[0].RoleARN, "account_id": "111122223333"})
}

func (f *fakeBroker) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ru, err := url.Parse(q.Get("redirect_uri"))
	host, _, _ := net.SplitHostPort(ru.Host)
	if err != nil || q.Get("client_id") != ClientID || q.Get("code_challenge_method") != "S256" || ru.Scheme != "http" || host != "127.0.0.1" || ru.Path != "/callback" {
		http.Error(w, "bad authorization request", 400)
		return
	}
	code := rand.Text()
	f.mu.Lock()
	f.codes[code] = fakeCode{q.Get("code_challenge"), q.Get("nonce"), q.Get("redirect_uri")}
	f.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (f *fakeBroker) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p := r.PostForm
	oauthErr := func(code string) { writeJSON(w, 400, map[string]string{"error": code}) }
	if p.Get("client_id") != ClientID {
		oauthErr("invalid_client")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	nonce := ""
	switch p.Get("grant_type") {
	case "authorization_code":
		c, ok := f.codes[p.Get("code")]
		delete(f.codes, p.Get("code"))
		sum := sha256.Sum256([]byte(p.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge || p.Get("redirect_uri") != c.redirect {
			oauthErr("invalid_grant")
			return
		}
		nonce = c.nonce
	case "refresh_token":
		f.refreshCalls.Add(1)
		if !f.refresh[p.Get("refresh_token")] {
			oauthErr("invalid_grant")
			return
		}
		delete(f.refresh, p.Get("refresh_token")) // rotation
	case "urn:ietf:params:oauth:grant-type:device_code":
		if !f.devices[p.Get("device_code")] {
			oauthErr("invalid_grant")
			return
		}
		delete(f.devices, p.Get("device_code"))
	default:
		oauthErr("unsupported_grant_type")
		return
	}
	if f.idNonce != nil {
		nonce = *f.idNonce
	}
	at, rt := rand.Text(), rand.Text()
	f.access[at] = time.Now().Add(f.tokenTTL)
	f.refresh[rt] = true
	writeJSON(w, 200, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(f.tokenTTL.Seconds()),
		"refresh_token": rt, "id_token": f.idToken(nonce)})
}

func (f *fakeBroker) idToken(nonce string) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: f.key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		f.t.Fatal(err)
	}
	claims := map[string]any{"iss": f.srv.URL, "aud": ClientID, "sub": f.sub, "email": "alice@example.com",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		f.t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// signIn writes a token file for dir as if `broker login` had run:
// a live access token and refresh token of this fake.
func (f *fakeBroker) signIn(t testing.TB, dir string, accessTTL time.Duration) *Client {
	t.Helper()
	c := f.client(t, dir)
	at, rt := rand.Text(), rand.Text()
	f.mu.Lock()
	f.access[at] = time.Now().Add(accessTTL)
	f.refresh[rt] = true
	f.mu.Unlock()
	if err := c.saveTokens(&tokenFile{URL: f.srv.URL, Subject: f.sub, TokenURL: f.srv.URL + "/token", RevocationURL: f.srv.URL + "/revoke",
		AccessToken: at, RefreshToken: rt, Expiry: time.Now().Add(accessTTL)}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeBroker) client(t testing.TB, dir string) *Client {
	t.Helper()
	c, err := New(Config{URL: f.srv.URL, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
