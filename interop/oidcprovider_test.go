package interop

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/broker-dev/broker/oidc"
)

const redirectURI = "http://localhost:9/oidc/interop/callback" // never fetched: the test reads the code off the redirect

// startOP runs oidc-provider on a free loopback port and returns its issuer.
func startOP(t *testing.T, secret string) string {
	t.Helper()
	dir, _ := filepath.Abs("oidc-provider")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		if os.Getenv("BROKER_REQUIRE_INTEROP") == "1" {
			t.Fatalf("oidc-provider is not installed (npm ci --prefix interop/oidc-provider): %v", err)
		}
		t.Skip("oidc-provider not installed; run: npm ci --prefix interop/oidc-provider")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("BROKER_REQUIRE_INTEROP") == "1" {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "CLIENT_SECRET="+secret, "REDIRECT_URI="+redirectURI, "NODE_ENV=test")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("oidc-provider stderr:\n%s", stderr.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if iss, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- iss
			}
		}
	}()
	select {
	case iss := <-ready:
		return iss
	case <-time.After(20 * time.Second):
		t.Fatalf("oidc-provider did not start:\n%s", stderr.String())
	}
	return ""
}

// interact drives oidc-provider's development login and consent forms
// like a browser until it redirects to the client's redirect_uri, and
// returns that redirect's query.
func interact(t *testing.T, c *http.Client, authURL string) url.Values {
	t.Helper()
	next, method, form := authURL, http.MethodGet, url.Values(nil)
	for i := 0; i < 20; i++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, next, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "" {
			u, _ := req.URL.Parse(loc)
			if strings.HasPrefix(u.String(), redirectURI) {
				return u.Query()
			}
			next, method, form = u.String(), http.MethodGet, nil
			continue
		}
		action, fields := firstForm(t, page)
		if _, ok := fields["login"]; ok || fields.Get("prompt") == "login" {
			fields.Set("login", "bob")
			fields.Set("password", "any")
		}
		u, _ := req.URL.Parse(action)
		next, method, form = u.String(), http.MethodPost, fields
	}
	t.Fatal("no redirect back to the client")
	return nil
}

func firstForm(t *testing.T, page []byte) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var action string
	fields := url.Values{}
	var walk func(*html.Node, bool)
	walk = func(n *html.Node, inForm bool) {
		if n.Type == html.ElementNode && n.Data == "form" && action == "" {
			for _, a := range n.Attr {
				if a.Key == "action" {
					action = a.Val
				}
			}
			inForm = true
		}
		if inForm && n.Type == html.ElementNode && n.Data == "input" {
			var name, value string
			for _, a := range n.Attr {
				switch a.Key {
				case "name":
					name = a.Val
				case "value":
					value = a.Val
				}
			}
			if name != "" {
				fields.Set(name, value)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inForm)
		}
	}
	walk(doc, false)
	if action == "" {
		t.Fatalf("no form on the page:\n%s", page)
	}
	return action, fields
}

// The broker's relying party against an independent, certified OP:
// discovery, authorization code with PKCE, ID token and userinfo
// verification, refresh.
func TestRelyingPartyAgainstOIDCProvider(t *testing.T) {
	issuer := startOP(t, "interop-secret")
	ctx := context.Background()
	rp, err := oidc.New(oidc.Config{ID: "interop", Issuer: issuer, ClientID: "broker", ClientSecret: "interop-secret",
		RedirectURL: redirectURI, OfflineAccess: true, UseUserinfo: true, Scopes: []string{"openid", "email", "profile"}})
	if err != nil {
		t.Fatal(err)
	}
	verifier := oidc.NewVerifier()
	// prompt=consent: the OpenID spec grants offline_access only with it.
	authURL, err := rp.AuthURL(ctx, oidc.AuthRequest{State: "interop-state", Nonce: "interop-nonce", Verifier: verifier, Prompt: "consent"})
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := interact(t, c, authURL)
	if q.Get("state") != "interop-state" || q.Get("code") == "" || q.Get("iss") != issuer {
		t.Fatalf("authorization response %v", q)
	}
	res, err := rp.Exchange(ctx, q.Get("code"), verifier, "interop-nonce")
	if err != nil {
		t.Fatalf("code exchange / ID token verification: %v", err)
	}
	id := res.Identity
	if id.Subject != "bob" || id.Issuer != issuer || id.First("email") != "bob@example.com" || strings.Join(id.Attributes["groups"], ",") != "engineering,interop" {
		t.Errorf("identity %+v", id)
	}
	if res.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	r2, err := rp.Refresh(ctx, res.RefreshToken, "bob")
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if r2.IDToken == "" || r2.IDToken == res.IDToken || r2.Identity.Subject != "bob" {
		t.Errorf("refreshed result %+v", r2.Identity)
	}
	// The code is single use at the OP too (and replaying it revokes the grant).
	if _, err := rp.Exchange(ctx, q.Get("code"), verifier, "interop-nonce"); err == nil {
		t.Error("the OP accepted a used code")
	}
	// A wrong PKCE verifier is refused by the OP.
	authURL, _ = rp.AuthURL(ctx, oidc.AuthRequest{State: "s2", Nonce: "n2", Verifier: oidc.NewVerifier()})
	q = interact(t, c, authURL)
	if _, err := rp.Exchange(ctx, q.Get("code"), oidc.NewVerifier(), "n2"); err == nil {
		t.Error("the OP accepted a wrong PKCE verifier")
	}
}
