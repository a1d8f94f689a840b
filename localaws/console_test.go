package localaws

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const (
	portal     = "https://broker.example.com/"
	consoleURL = "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	t.Run("redirects to the console with an HttpOnly cookie", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		tok := f.signinToken(t, f.mustAssume(t).Credentials, nil)
		resp, _ := f.federation(t, http.MethodGet, loginParams(tok, consoleURL, portal))
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console" {
			t.Fatalf("login = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		c := consoleCookieOf(t, resp)
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || len(c.Value) < 32 {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, not Secure over http, random value", c)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
		}
	})
	t.Run("by POST", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		tok := f.signinToken(t, f.mustAssume(t).Credentials, nil)
		if resp, body := f.federation(t, http.MethodPost, loginParams(tok, consoleURL, "")); resp.StatusCode != http.StatusFound {
			t.Fatalf("login = %d %s", resp.StatusCode, body)
		}
	})
	t.Run("single use", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		tok := f.signinToken(t, f.mustAssume(t).Credentials, nil)
		if resp, _ := f.federation(t, http.MethodGet, loginParams(tok, consoleURL, portal)); resp.StatusCode != http.StatusFound {
			t.Fatalf("first login = %d", resp.StatusCode)
		}
		resp, body := f.federation(t, http.MethodGet, loginParams(tok, consoleURL, portal))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
			t.Errorf("second login = %d %s", resp.StatusCode, body)
		}
	})
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{{15*time.Minute - time.Second, true}, {15 * time.Minute, false}} {
		t.Run("token used after "+tc.after.String(), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			creds := f.mustAssume(t, func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(3600) }).Credentials
			tok := f.signinToken(t, creds, nil)
			f.clock.Advance(tc.after)
			resp, body := f.federation(t, http.MethodGet, loginParams(tok, consoleURL, portal))
			if tc.ok != (resp.StatusCode == http.StatusFound) {
				t.Errorf("login %s after issue = %d", tc.after, resp.StatusCode)
			}
			if !tc.ok && !strings.Contains(body, "valid once, for 15 minutes") {
				t.Errorf("expired-link page says %q", body)
			}
		})
	}
	t.Run("a refused request does not consume the token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		tok := f.signinToken(t, f.mustAssume(t).Credentials, nil)
		if resp, _ := f.federation(t, http.MethodGet, loginParams(tok, "https://evil.example.com/", portal)); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("bad destination = %d", resp.StatusCode)
		}
		if resp, _ := f.federation(t, http.MethodGet, loginParams(tok, consoleURL, portal)); resp.StatusCode != http.StatusFound {
			t.Fatalf("the refused request consumed the token: %d", resp.StatusCode)
		}
	})
	t.Run("rejects", func(t *testing.T) {
		t.Parallel()
		for name, tc := range map[string]struct {
			params func(tok string) url.Values
			want   string
		}{
			"no token":        {func(string) url.Values { return loginParams("", consoleURL, portal) }, "has no SigninToken"},
			"unknown token":   {func(string) url.Values { return loginParams("bogus", consoleURL, portal) }, "expired or was already used"},
			"bad Issuer":      {func(tok string) url.Values { return loginParams(tok, consoleURL, "javascript:alert(1)") }, "Issuer must be an absolute http(s) URL"},
			"no Destination":  {func(tok string) url.Values { return loginParams(tok, "", portal) }, "Destination must be an AWS console URL"},
			"relative Issuer": {func(tok string) url.Values { return loginParams(tok, consoleURL, "/portal") }, "Issuer must be"},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				tok := f.signinToken(t, f.mustAssume(t).Credentials, nil)
				resp, body := f.federation(t, http.MethodGet, tc.params(tok))
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.want) {
					t.Errorf("login = %d, body lacks %q:\n%s", resp.StatusCode, tc.want, body)
				}
				assertPageHeaders(t, resp)
			})
		}
	})
}

func TestLoginDestinationAllowList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		gov  bool
		dest string
		ok   bool
	}{
		{"console home", false, "https://console.aws.amazon.com/", true},
		{"regional console", false, "https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#Instances:", true},
		{"explicit port 443", false, "https://console.aws.amazon.com:443/s3", true},
		{"upper-case host", false, "https://CONSOLE.AWS.AMAZON.COM/", true},
		{"evil host", false, "https://evil.example.com/console", false},
		{"http scheme", false, "http://console.aws.amazon.com/", false},
		{"look-alike suffix", false, "https://console.aws.amazon.com.evil.com/", false},
		{"look-alike prefix", false, "https://evilconsole.aws.amazon.com/", false},
		{"two labels in front", false, "https://a.b.console.aws.amazon.com/", false},
		{"user info", false, "https://console.aws.amazon.com@evil.com/", false},
		{"other port", false, "https://console.aws.amazon.com:8443/", false},
		{"javascript", false, "javascript:alert(1)", false},
		{"scheme-relative", false, "//console.aws.amazon.com/", false},
		{"other partition's console", false, "https://console.amazonaws-us-gov.com/", false},
		{"GovCloud console", true, "https://console.amazonaws-us-gov.com/", true},
		{"GovCloud regional console", true, "https://us-gov-west-1.console.amazonaws-us-gov.com/", true},
		{"commercial console for GovCloud credentials", true, "https://console.aws.amazon.com/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var tok string
			if tt.gov {
				s := f.spec()
				s.Signer, s.Issuer = f.gov, f.gov.entityID
				s.Recipient, s.Audiences = "https://signin.amazonaws-us-gov.com/saml", []string{"urn:amazon:webservices"}
				s.Attrs = withAttr(s.Attrs, attrRole, pairValue(govRole, govProvider))
				out, err := f.assume(t, govRole, govProvider, f.build(t, s))
				if err != nil {
					t.Fatal(err)
				}
				tok = f.signinToken(t, out.Credentials, nil)
			} else {
				tok = f.signinToken(t, f.mustAssume(t).Credentials, nil)
			}
			resp, body := f.federation(t, http.MethodGet, loginParams(tok, tt.dest, portal))
			switch {
			case tt.ok && resp.StatusCode != http.StatusFound:
				t.Errorf("refused %q: %d %s", tt.dest, resp.StatusCode, body)
			case !tt.ok && (resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Destination must be an AWS console URL")):
				t.Errorf("accepted or wrong refusal for %q: %d %s", tt.dest, resp.StatusCode, body)
			}
		})
	}
}

func assertPageHeaders(tb testing.TB, resp *http.Response) {
	tb.Helper()
	h := resp.Header
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
		tb.Errorf("page headers: %v", h)
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			tb.Errorf("CSP %q lacks %s", csp, d)
		}
	}
}

func TestConsolePage(t *testing.T) {
	t.Parallel()
	open := func(t *testing.T, f *fixture, extra url.Values, dest, issuer string) *http.Cookie {
		t.Helper()
		tok := f.signinToken(t, f.mustAssume(t).Credentials, extra)
		resp, body := f.federation(t, http.MethodGet, loginParams(tok, dest, issuer))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("login = %d %s", resp.StatusCode, body)
		}
		return consoleCookieOf(t, resp)
	}
	t.Run("shows the session", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		c := open(t, f, url.Values{"SessionDuration": {"7200"}}, consoleURL, portal)
		resp, p := f.getConsole(t, c)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("console = %d:\n%s", resp.StatusCode, p.raw)
		}
		assertPageHeaders(t, resp)
		want := map[string]string{
			"account": testAccount, "role": "Admin", "role-arn": roleAdmin, "session-name": "alice@example.com",
			"destination": consoleURL, "region": "eu-west-1",
			"session-expiry": f.clock.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339),
		}
		for id, w := range want {
			if got := p.text(id); got != w {
				t.Errorf("#%s = %q, want %q", id, got, w)
			}
		}
		if got := attrOf(p.byID("issuer"), "href"); got != portal {
			t.Errorf("issuer link = %q", got)
		}
		if got := attrOf(p.byID("session-expiry"), "data-expires"); got != want["session-expiry"] {
			t.Errorf("data-expires = %q", got)
		}
		if !strings.Contains(p.raw, "<title>AWS Management Console (local)</title>") {
			t.Errorf("title missing")
		}
	})
	t.Run("without SessionDuration the session lasts as long as the credentials", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		c := open(t, f, nil, consoleURL, portal)
		f.clock.Advance(10 * time.Minute) // the expiry is fixed at getSigninToken time
		_, p := f.getConsole(t, c)
		if got, want := p.text("session-expiry"), f.clock.Now().Add(50*time.Minute).Format(time.RFC3339); got != want {
			t.Errorf("session-expiry = %q, want the credentials' expiration %q", got, want)
		}
	})
	t.Run("values are escaped", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		c := open(t, f, nil, "https://console.aws.amazon.com/?q=<script>alert(1)</script>", `https://broker.example.com/?a="><script>x</script>`)
		_, p := f.getConsole(t, c)
		if strings.Contains(p.raw, "<script>") {
			t.Errorf("unescaped markup in the page:\n%s", p.raw)
		}
		href, err := url.Parse(attrOf(p.byID("issuer"), "href"))
		if err != nil || href.Host != "broker.example.com" || href.Query().Get("a") != `"><script>x</script>` {
			t.Errorf("issuer href = %v (%v), want the portal URL, percent-encoded", href, err)
		}
	})
	t.Run("no cookie", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		resp, p := f.getConsole(t, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(p.text("message"), "No console session") {
			t.Errorf("console = %d %q", resp.StatusCode, p.text("message"))
		}
		assertPageHeaders(t, resp)
	})
	t.Run("unknown cookie", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		resp, p := f.getConsole(t, &http.Cookie{Name: consoleCookie, Value: "forged"})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(p.text("message"), "No console session") {
			t.Errorf("console = %d %q", resp.StatusCode, p.text("message"))
		}
	})
	t.Run("expired session links back to the portal", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		c := open(t, f, url.Values{"SessionDuration": {"900"}}, consoleURL, portal)
		f.clock.Advance(15 * time.Minute)
		resp, p := f.getConsole(t, c)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(p.text("message"), "has expired") || attrOf(p.byID("issuer"), "href") != portal {
			t.Errorf("console = %d %q issuer %q", resp.StatusCode, p.text("message"), attrOf(p.byID("issuer"), "href"))
		}
	})
	t.Run("sign out ends the session", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		c := open(t, f, nil, consoleURL, portal)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+"/console/signout", nil)
		req.AddCookie(c)
		resp, err := f.noRedirect().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		p := parseHTML(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || attrOf(p.byID("issuer"), "href") != portal {
			t.Errorf("sign out = %d issuer %q", resp.StatusCode, attrOf(p.byID("issuer"), "href"))
		}
		if resp, _ := f.getConsole(t, c); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("console after sign out = %d", resp.StatusCode)
		}
	})
}

func TestLoginWithHTTPSBaseURL(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, func(c *Config) { c.BaseURL = "https://aws.localhost:8443" })
	tok := f.signinToken(t, f.mustAssume(t).Credentials, nil)
	resp, _ := f.federation(t, http.MethodGet, loginParams(tok, consoleURL, portal))
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://aws.localhost:8443/console" {
		t.Fatalf("login = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := consoleCookieOf(t, resp); !c.Secure {
		t.Errorf("cookie %+v is not Secure behind an https BaseURL", c)
	}
}
