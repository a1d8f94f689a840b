package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
)

// BenchmarkSAMLLogin measures one whole broker-issued login through the real
// handlers over loopback: the IdP's signed response posted to the ACS,
// then a role picked and the console URL returned as a 302. The IdP signs
// responses outside the timer; STS and the sign-in endpoint (local AWS)
// run in the same process, so their CPU is included.
func BenchmarkSAMLLogin(b *testing.B) {
	st, err := devstack.Start(context.Background(), devstack.Options{DataDir: b.TempDir(), NoRateLimits: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	acs := st.BrokerURL + "/saml/demo/acs"
	role := "arn:aws:iam::" + devstack.SandboxAccount + ":role/Developer"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		resp, err := st.IdP.IssueResponse(devidp.IssueOptions{SPEntityID: st.BrokerURL + "/saml/demo/metadata", Username: "alice", Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		br := newBrowser(b)
		b.StartTimer()
		portal := br.post(acs, url.Values{"SAMLResponse": {resp}})
		action, form := roleForm(b, portal, role)
		br.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		r, err := br.client.PostForm(action, form)
		if err != nil {
			b.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "SigninToken=") {
			b.Fatalf("console: %d", r.StatusCode)
		}
	}
}
