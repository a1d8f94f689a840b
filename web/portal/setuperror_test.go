package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/localaws"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/web/internal/webtest"
)

const setupBase = "http://localhost:8080"

// brokerProvider is the IAM SAML provider the env's rules name for
// broker-issued grants.
const brokerProvider = "arn:aws:iam::" + webtest.Acct + ":saml-provider/broker"

// setupAWS points ev's access at a strict local AWS whose IAM is what
// iam makes of the broker's SAML metadata: the portal's role requests
// reach AWS for real and AWS refuses them as it would.
func setupAWS(t *testing.T, ev *webtest.Env, iam func(metadata string) *localaws.Registry) {
	t.Helper()
	eng, err := mapping.Compile([]mapping.Rule{
		{Name: "devs", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: webtest.Acct, Role: "Developer", Label: "Developer"}},
	}, mapping.Options{BrokerSAMLProviderName: "broker", Accounts: []mapping.Account{{ID: webtest.Acct, Alias: "sandbox", Label: "Sandbox"}}})
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := ev.LocalAWS(t, setupBase, eng, iam)
	cfg := ev.Config
	cfg.Access, cfg.Sessions = acc, ev.NewSessions(t, acc, nil)
	ev.Rebuild(t, cfg)
}

func devTrust(provider string) string {
	return `{"Version":"2012-10-17","Statement":[` + broker.SAMLTrustStatement("https://signin.aws.amazon.com/saml", provider) + `]}`
}

// TestSetupRefusalPages: a role AWS refuses because of the account's
// setup — no such SAML provider, a trust policy that does not allow the
// broker, no such role — is a page that says so in words, names the
// account and role, sends the person to an administrator (no "Sign in
// again", which cannot help), shows what to create, keeps the signed-in
// header, and answers 502 (AWS refused) or 403.
func TestSetupRefusalPages(t *testing.T) {
	devRole := localaws.Role{ARN: webtest.DevRole, MaxSessionDuration: 3600}
	statement := broker.SAMLTrustStatement("https://signin.aws.amazon.com/saml", brokerProvider)
	for _, tc := range []struct {
		name   string
		iam    func(md string) *localaws.Registry
		status int
		say    []string
	}{
		{"no SAML provider", func(md string) *localaws.Registry {
			// The role trusts another provider (IAM checks that a trust
			// policy's principals exist); the broker's is missing.
			r := devRole
			r.TrustPolicy = devTrust(webtest.IdPProvider)
			return &localaws.Registry{Roles: []localaws.Role{r}, SAMLProviders: []localaws.SAMLProvider{{ARN: webtest.IdPProvider, MetadataXML: md}}}
		}, http.StatusBadGateway, []string{
			"AWS refused the role Developer in the AWS account Sandbox (111122223333): that account has no identity provider for this sign-in, so nobody can open the role yet.",
			"Signing in again will not help: ask your administrator to set it up (the details are below).",
			`In the account <code>111122223333</code>, create the IAM SAML identity provider named <code>broker</code> with the broker's metadata from <a href="` + setupBase + `/idp/saml/metadata"><code>` + setupBase + `/idp/saml/metadata</code></a> (its ARN will be <code>` + brokerProvider + `</code>), then make sure the role's trust policy has this statement:`,
		}},
		{"trust policy without the broker", func(md string) *localaws.Registry {
			r := devRole
			r.TrustPolicy = devTrust(webtest.IdPProvider)
			return &localaws.Registry{Roles: []localaws.Role{r}, SAMLProviders: []localaws.SAMLProvider{{ARN: brokerProvider, MetadataXML: md}, {ARN: webtest.IdPProvider, MetadataXML: md}}}
		}, http.StatusForbidden, []string{
			"AWS refused the role Developer in the AWS account Sandbox (111122223333): the role does not exist there, or its trust policy does not allow sign-in through the broker.",
			"Signing in again will not help: ask your administrator to check the role (the details are below).",
			"Make sure the role <code>Developer</code> exists in the account <code>111122223333</code> and that its trust policy has this statement",
		}},
		{"no such role", func(md string) *localaws.Registry {
			return &localaws.Registry{SAMLProviders: []localaws.SAMLProvider{{ARN: brokerProvider, MetadataXML: md}}}
		}, http.StatusForbidden, []string{
			"AWS refused the role Developer in the AWS account Sandbox (111122223333): the role does not exist there",
			"Make sure the role <code>Developer</code> exists in the account <code>111122223333</code>",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := webtest.NewEnv(t, setupBase)
			setupAWS(t, ev, tc.iam)
			csrf, grants := ev.SignIn(t)
			var dev string
			for _, g := range grants {
				if strings.HasPrefix(g, webtest.DevRole+"|") {
					dev = g
				}
			}
			if dev == "" {
				t.Fatalf("no Developer grant in %v", grants)
			}
			rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {dev}})
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tc.status, rec.Body)
			}
			body := rec.Body.String()
			errorPage(t, body, "sts_", append(tc.say,
				"<h1>AWS refused this role</h1>",
				"Contact your administrator: only they can change the AWS account.",
				`<summary>For your administrator</summary>`,
				`<code id="setup-role">`+webtest.DevRole+`</code>`,
				template(statement),
				`<span class="who" id="user">Alice &lt;script&gt;</span>`)...)
			if strings.Contains(body, ">Sign in again<") {
				t.Errorf("the page offers to sign in again:\n%s", body)
			}
			if e := ev.Audit.Events[len(ev.Audit.Events)-1]; e.Event != "role_assumed" || e.Result != "failure" || !strings.HasPrefix(e.Reason, "sts_") {
				t.Errorf("audited as %+v", e)
			}
		})
	}
}

// template escapes s as html/template writes it in an element.
func template(s string) string {
	return strings.NewReplacer(`"`, "&#34;").Replace(s)
}
