package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

// The apps' redirect URIs; never fetched: rp.mjs reads the code off the
// OP's last redirect.
const (
	rpConfidentialRedirect = "http://127.0.0.1:9/rp/callback"
	rpPublicRedirect       = "http://127.0.0.1/rp/callback" // loopback: any port (RFC 8252)
)

type rpRules struct{}

func (rpRules) Decide(*broker.Identity) mapping.Decision {
	return mapping.Decision{Grants: []broker.Grant{{AccountID: "111122223333", AccountLabel: "prod",
		RoleARN: "arn:aws:iam::111122223333:role/Admin", Label: "Admin"}}}
}

type rpAudit struct {
	mu     sync.Mutex
	events []string
}

func (a *rpAudit) Audit(_ context.Context, ev *store.AuditEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, ev.Event)
}

func (a *rpAudit) count(event string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e == event {
			n++
		}
	}
	return n
}

// startAppsOP runs the broker's OpenID Provider for apps on a free
// loopback port, as the broker wires it: a SQLite store, the broker's
// OIDC issuer key and discovery, and a login bridge reduced to a person
// who is already signed in (no cookies). It returns the issuer.
func startAppsOP(t *testing.T, person *broker.Identity, audit *rpAudit) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: ":memory:", Keys: [][]byte{make([]byte, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux) // 127.0.0.1:0
	t.Cleanup(srv.Close)
	iss, err := issuer.NewOIDC(issuer.OIDCConfig{Issuer: srv.URL, Signing: key})
	if err != nil {
		t.Fatal(err)
	}
	codeKey := make([]byte, 32)
	_, _ = rand.Read(codeKey)
	p, err := apps.New(apps.Config{
		Issuer: srv.URL, Signing: key, KeyID: issuer.KeyID(&key.PublicKey), Store: st, Rules: rpRules{}, Audit: audit,
		LoginPath: "/apps/login", CodeKey: codeKey,
		Clients: []apps.Client{
			{ID: "rp-confidential", Name: "openid-client (confidential)", SecretHash: apps.HashSecret("rp-interop-secret"),
				RedirectURIs: []string{rpConfidentialRedirect}, Scopes: apps.KnownScopes, FirstParty: true},
			{ID: "rp-public", Name: "openid-client (public)", RedirectURIs: []string{rpPublicRedirect},
				Scopes: []string{apps.ScopeOpenID, apps.ScopeEmail}, FirstParty: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/oauth/", p.Handler())
	disc := p.Discovery(iss.Discovery)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		b, err := disc()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/idp/oidc/jwks", func(w http.ResponseWriter, r *http.Request) {
		b, err := iss.JWKS()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/apps/login", func(w http.ResponseWriter, r *http.Request) {
		next, err := p.Complete(r.Context(), r.URL.Query().Get("id"), person, p.Now(), apps.Meta{})
		if err != nil {
			http.Error(w, broker.ErrorMessage(err), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, next, http.StatusFound)
	})
	return srv.URL
}

// rpStep is one line rp.mjs prints.
type rpStep struct {
	Step  string `json:"step"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// rpInstalled returns node and the directory of rp.mjs, or skips the
// test (fails it with BROKER_REQUIRE_INTEROP=1) when either is missing.
func rpInstalled(t *testing.T) (node, dir string) {
	t.Helper()
	dir, _ = filepath.Abs("openid-client")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openid-client")); err != nil {
		if os.Getenv("BROKER_REQUIRE_INTEROP") == "1" {
			t.Fatalf("openid-client is not installed (npm ci --prefix interop/openid-client): %v", err)
		}
		t.Skip("openid-client not installed; run: npm ci --prefix interop/openid-client")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("BROKER_REQUIRE_INTEROP") == "1" {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed")
	}
	return node, dir
}

// runRP runs rp.mjs against issuer and returns its steps, the raw output
// and the error of the process (non-nil on a non-zero exit).
func runRP(t *testing.T, node, dir, issuerURL, sub string) ([]rpStep, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "rp.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"ISSUER="+issuerURL, "EXPECT_SUB="+sub,
		"CONFIDENTIAL_ID=rp-confidential", "CONFIDENTIAL_SECRET=rp-interop-secret", "CONFIDENTIAL_REDIRECT="+rpConfidentialRedirect,
		"PUBLIC_ID=rp-public", "PUBLIC_REDIRECT="+rpPublicRedirect)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var steps []rpStep
	sc := bufio.NewScanner(bytes.NewReader(stdout.Bytes()))
	for sc.Scan() {
		var s rpStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Errorf("rp.mjs printed a line that is not a step: %q", sc.Text())
			continue
		}
		steps = append(steps, s)
	}
	return steps, stdout.String() + stderr.String(), runErr
}

// An independent, certified relying party (panva's openid-client) against
// the broker's OpenID Provider for apps: discovery; authorization code
// with PKCE S256, state and nonce; the library's ID token validation
// (JWKS signature, iss, aud, exp, iat, nonce, azp); a tampered state
// rejected by the library while the real one passes (the broker echoes it
// untouched); userinfo with the expected subject; introspection; refresh
// rotation, the rotated token refused and its family revoked; revocation;
// a public client with PKCE only, and a wrong verifier refused.
func TestOpenIDClientAgainstAppsOP(t *testing.T) {
	node, dir := rpInstalled(t)
	audit := &rpAudit{}
	person := &broker.Identity{Provider: "okta", Subject: "alice",
		Attributes: map[string][]string{"email": {"alice@example.com"}, "name": {"Alice"}, "groups": {"dev", "ops"}}}
	iss := startAppsOP(t, person, audit)
	start := time.Now()
	steps, out, err := runRP(t, node, dir, iss, "okta:alice")
	t.Logf("rp.mjs ran in %v", time.Since(start).Round(time.Millisecond))
	for _, s := range steps {
		if !s.OK {
			t.Errorf("openid-client step %s failed: %s", s.Step, s.Error)
		}
	}
	if err != nil {
		t.Fatalf("rp.mjs: %v\n%s", err, out)
	}
	want := []string{"discovery", "authorize", "state_tampered_rejected", "code_grant", "userinfo", "introspection_active",
		"refresh_rotation", "revocation", "refresh_reuse_refused", "public_discovery", "public_code_grant",
		"public_pkce_mismatch_refused", "done"}
	var got []string
	for _, s := range steps {
		got = append(got, s.Step)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v\n%s", got, want, out)
	}
	// The broker's side of the same story, from its audit log.
	if n := audit.count("app_refresh_reused"); n != 1 {
		t.Errorf("app_refresh_reused audited %d times, want 1", n)
	}
	if n := audit.count("app_signin"); n != 3 {
		t.Errorf("app_signin audited %d times, want 3", n)
	}
}
