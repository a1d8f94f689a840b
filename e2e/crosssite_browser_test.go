package e2e

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/store"
)

// attackerPage is another site: it auto-posts a SAML Response of its own
// choosing to the broker's ACS, or links to a role.
var attackerPage = template.Must(template.New("").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Totally unrelated site</title></head><body>
{{if .Response}}
<form id="evil" method="post" action="{{.ACS}}"><input type="hidden" name="SAMLResponse" value="{{.Response}}"></form>
<script>document.getElementById("evil").submit();</script>
{{else}}
<p><a id="login-link" href="{{.Login}}">Free cloud credits</a></p>
<p><a id="open-link" href="{{.Open}}">Open the AWS console</a></p>
{{if .Go}}<p><a id="go-link" href="{{.Go}}">Runbook: open the role</a></p>{{end}}
{{end}}
</body></html>`))

// startAttacker serves the other site on a free loopback port and returns
// its URL with host (localhost when the broker is at 127.0.0.1, and the
// other way round): a different host, so a different site for the browser
// (Sec-Fetch-Site: cross-site, SameSite cookies withheld from its POSTs).
func startAttacker(t *testing.T, host, brokerURL string, issue func() (string, error)) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	// A fresh Response signed by the demo IdP for bob, nobody asked for.
	mux.HandleFunc("/post-bob", func(w http.ResponseWriter, _ *http.Request) {
		resp, err := issue()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = attackerPage.Execute(w, map[string]string{"ACS": brokerURL + "/saml/demo/acs", "Response": resp})
	})
	// Links that name a role (?grant= the key of one of the victim's roles;
	// ?go= a /go link of the broker's, as the portal's Copy link gives it).
	mux.HandleFunc("/links", func(w http.ResponseWriter, r *http.Request) {
		g := r.URL.Query().Get("grant")
		q := "grant=" + template.URLQueryEscaper(g)
		goLink := r.URL.Query().Get("go")
		if !strings.HasPrefix(goLink, brokerURL+"/go?") {
			goLink = ""
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = attackerPage.Execute(w, map[string]string{"Login": brokerURL + "/saml/demo/login?" + q, "Open": brokerURL + "/open?" + q, "Go": goLink})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf("http://%s:%d", host, ln.Addr().(*net.TCPAddr).Port)
}

// In Debian's chromium, another site (a) posts an unsolicited SAML
// Response for bob while alice is signed in: the broker asks, names both,
// and alice stays signed in; (b) links to a role of alice's on the login
// route, on /open and on /go (the link the portal's Copy link button put on
// the clipboard): each lands on the confirmation page, not on AWS, and its
// button opens the (local) console; typed, /open and /go open it at once.
func TestCrossSiteSignInsInBrowser(t *testing.T) {
	node, chromium := browserDeps(t)
	st := startStack(t)
	// The other site is the other name of the loopback address.
	host := "localhost"
	switch {
	case strings.HasPrefix(st.BrokerURL, "http://localhost:"):
		host = "127.0.0.1"
	case !strings.HasPrefix(st.BrokerURL, "http://127.0.0.1:"):
		t.Fatalf("the broker runs at %s: the test puts the other site on the other name of loopback", st.BrokerURL)
	}
	attacker := startAttacker(t, host, st.BrokerURL, func() (string, error) {
		return st.IdP.IssueResponse(devidp.IssueOptions{SPEntityID: st.BrokerURL + "/saml/demo/metadata", Username: "bob"})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "crosssite.mjs")
	cmd.Dir = "browser"
	cmd.Env = append(os.Environ(),
		"BROKER_URL="+st.BrokerURL, "AWS_URL="+st.AWSURL, "ATTACKER_URL="+attacker, "CHROMIUM="+chromium,
		"VICTIM_USER=alice", "VICTIM_PASSWORD="+password(t, st, "alice"), "VICTIM_NAME=Alice Admin",
		"ARRIVING_NAME=Bob Builder",
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser:\n%s", out)
	if err != nil {
		t.Fatalf("browser scenario failed: %v", err)
	}

	// Bob's session was started (his Response verified and burned) and,
	// when alice chose to stay, ended; it never became the browser's.
	events, err := st.App.Store.ListAudit(context.Background(), store.AuditFilter{Subject: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	var signin, logout bool
	for _, e := range events {
		signin = signin || (e.Event == "signin" && e.Result == store.ResultSuccess)
		logout = logout || e.Event == "logout"
		if e.Event == "console_url_issued" || e.RoleARN != "" {
			t.Errorf("bob's arriving session was used: %+v", e)
		}
	}
	if !signin || !logout {
		t.Errorf("bob's arriving sign-in: started %v, ended %v; audit %+v", signin, logout, events)
	}
}
