package localaws

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"golang.org/x/net/html"
)

// noRedirect is a client for the fixture that returns 302s instead of
// following them.
func (f *fixture) noRedirect() *http.Client {
	return &http.Client{Transport: f.ts.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

func sessionJSON(c *types.Credentials) string {
	b, _ := json.Marshal(map[string]string{
		"sessionId": aws.ToString(c.AccessKeyId), "sessionKey": aws.ToString(c.SecretAccessKey), "sessionToken": aws.ToString(c.SessionToken),
	})
	return string(b)
}

// federation calls /federation with the parameters, by GET or POST.
func (f *fixture) federation(tb testing.TB, method string, params url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	tb.Helper()
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequestWithContext(tb.Context(), method, f.ts.URL+"/federation?"+params.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(tb.Context(), method, f.ts.URL+"/federation", strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := f.noRedirect().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signinToken gets a sign-in token for creds; extra adds parameters.
func (f *fixture) signinToken(tb testing.TB, creds *types.Credentials, extra url.Values) string {
	tb.Helper()
	p := url.Values{"Action": {"getSigninToken"}, "Session": {sessionJSON(creds)}}
	for k, v := range extra {
		p[k] = v
	}
	resp, body := f.federation(tb, http.MethodGet, p)
	var out struct{ SigninToken string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || out.SigninToken == "" {
		tb.Fatalf("getSigninToken: %d %s", resp.StatusCode, body)
	}
	return out.SigninToken
}

func loginParams(token, dest, issuer string) url.Values {
	p := url.Values{"Action": {"login"}, "SigninToken": {token}, "Destination": {dest}}
	if issuer != "" {
		p.Set("Issuer", issuer)
	}
	return p
}

// consoleCookieOf returns the console cookie a login response set.
func consoleCookieOf(tb testing.TB, resp *http.Response) *http.Cookie {
	tb.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == consoleCookie {
			return c
		}
	}
	tb.Fatalf("login set no %s cookie (status %d)", consoleCookie, resp.StatusCode)
	return nil
}

// getConsole fetches /console with the cookie (nil: none) and parses it.
func (f *fixture) getConsole(tb testing.TB, c *http.Cookie) (*http.Response, *htmlPage) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, f.ts.URL+"/console", nil)
	if err != nil {
		tb.Fatal(err)
	}
	if c != nil {
		req.AddCookie(c)
	}
	resp, err := f.noRedirect().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	return resp, parseHTML(tb, resp.Body)
}

type htmlPage struct {
	raw  string
	root *html.Node
}

func parseHTML(tb testing.TB, r io.Reader) *htmlPage {
	tb.Helper()
	raw, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	root, err := html.Parse(strings.NewReader(string(raw)))
	if err != nil {
		tb.Fatalf("parse HTML: %v", err)
	}
	return &htmlPage{raw: string(raw), root: root}
}

func (p *htmlPage) byID(id string) *html.Node {
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && attrOf(n, "id") == id {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.root)
	return found
}

func (p *htmlPage) text(id string) string {
	n := p.byID(id)
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func attrOf(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestGetSigninToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method string
		extra  url.Values
	}{
		{http.MethodGet, nil},
		{http.MethodPost, nil},
		{http.MethodGet, url.Values{"SessionType": {"json"}, "SessionDuration": {"900"}}},
		{http.MethodPost, url.Values{"SessionDuration": {"43200"}}},
	} {
		t.Run(tc.method+" "+tc.extra.Encode(), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			creds := f.mustAssume(t).Credentials
			p := url.Values{"Action": {"getSigninToken"}, "Session": {sessionJSON(creds)}}
			for k, v := range tc.extra {
				p[k] = v
			}
			resp, body := f.federation(t, tc.method, p)
			var out map[string]string
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || len(out["SigninToken"]) < 32 || len(out) != 1 {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

func TestGetSigninTokenRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		session func(c *types.Credentials) string
		extra   url.Values
		advance time.Duration
		want    string
	}{
		{"unknown access key", func(c *types.Credentials) string {
			d := *c
			d.AccessKeyId = aws.String("ASIAAAAAAAAAAAAAAAAA")
			return sessionJSON(&d)
		}, nil, 0, "not valid"},
		{"wrong secret", func(c *types.Credentials) string {
			d := *c
			d.SecretAccessKey = aws.String(strings.Repeat("x", 40))
			return sessionJSON(&d)
		}, nil, 0, "not valid"},
		{"wrong session token", func(c *types.Credentials) string {
			d := *c
			d.SessionToken = aws.String(aws.ToString(c.SessionToken) + "x")
			return sessionJSON(&d)
		}, nil, 0, "not valid"},
		{"not JSON", func(*types.Credentials) string { return "sessionId=x" }, nil, 0, "must be JSON"},
		{"unknown JSON field", func(c *types.Credentials) string {
			return strings.TrimSuffix(sessionJSON(c), "}") + `,"extra":"x"}`
		}, nil, 0, "must be JSON"},
		{"missing sessionToken", func(c *types.Credentials) string {
			return `{"sessionId":"` + aws.ToString(c.AccessKeyId) + `","sessionKey":"` + aws.ToString(c.SecretAccessKey) + `"}`
		}, nil, 0, "must be JSON"},
		{"no Session", func(*types.Credentials) string { return "" }, nil, 0, "Session is required"},
		{"SessionType not json", nil, url.Values{"SessionType": {"xml"}}, 0, `SessionType must be "json"`},
		{"SessionDuration below 900", nil, url.Values{"SessionDuration": {"899"}}, 0, "between 900 and 43200"},
		{"SessionDuration above 43200", nil, url.Values{"SessionDuration": {"43201"}}, 0, "between 900 and 43200"},
		{"SessionDuration not a number", nil, url.Values{"SessionDuration": {"1h"}}, 0, "between 900 and 43200"},
		{"expired credentials", nil, nil, time.Hour, "have expired"},
		{"unknown Action", nil, url.Values{"Action": {"getSigninTokens"}}, 0, "Action must be getSigninToken or login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			creds := f.mustAssume(t).Credentials
			f.clock.Advance(tt.advance)
			sess := sessionJSON(creds)
			if tt.session != nil {
				sess = tt.session(creds)
			}
			p := url.Values{"Action": {"getSigninToken"}, "Session": {sess}}
			for k, v := range tt.extra {
				p[k] = v
			}
			resp, body := f.federation(t, http.MethodGet, p)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("status %d body %q, want 400 containing %q", resp.StatusCode, body, tt.want)
			}
			if strings.Contains(body, aws.ToString(creds.SecretAccessKey)) {
				t.Error("the error echoes the secret key")
			}
		})
	}
}
