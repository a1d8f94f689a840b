package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
)

// Helpers of the session, logout and MFA tests (issue 10).

// hasForm reports whether the page has a form with this id.
func (p *page) hasForm(id string) bool {
	found := false
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "id") == id {
			found = true
			return false
		}
		return true
	})
	return found
}

// formWithAction matches a form whose action attribute is action.
func formWithAction(action string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "action") == action }
}

// settle does what the auto-posting pages' scripts do in a browser: it
// submits the demo IdP's form (id saml-post, a SAML message to an SP) and
// the broker's (id autopost, a SAML logout message to the IdP) until a
// page has neither.
func settle(t *testing.T, b *browser, p *page) *page {
	t.Helper()
	for range 8 {
		var id string
		switch {
		case p.hasForm("saml-post"):
			id = "saml-post"
		case p.hasForm("autopost"):
			id = "autopost"
		default:
			return p
		}
		action, form := p.form(t, formWithID(id))
		p = b.post(action, form)
	}
	t.Fatalf("auto-posting pages without end; last at %s:\n%s", p.URL, clip(p.Body))
	return nil
}

// visited reports whether the trail went through a URL starting with prefix.
func visited(trail []hop, prefix string) bool {
	return slices.ContainsFunc(trail, func(h hop) bool {
		return strings.HasPrefix(h.URL, prefix) || strings.HasPrefix(strings.TrimPrefix(h.Location, "meta-refresh:"), prefix)
	})
}

// signedOut checks that p is the broker's sign-in page (nobody signed in)
// and returns its flash message.
func signedOut(t *testing.T, st *devstack.Stack, p *page) string {
	t.Helper()
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL.String(), st.BrokerURL) || p.attrOf("providers", "id") == "" || p.text("user") != "" {
		t.Fatalf("expected the broker's sign-in page, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	return p.text("flash")
}

// portalOf checks that p is the portal of the person named name.
func portalOf(t *testing.T, p *page, name string) {
	t.Helper()
	if p.Status != http.StatusOK || p.text("user") != name || !strings.Contains(p.Body, "Your AWS roles") {
		t.Fatalf("expected %s's portal, got %d at %s:\n%s", name, p.Status, p.URL, clip(p.Body))
	}
}

// submitIdPLogin fills in the demo IdP's login form on p (the one-time
// code when otp is not "") and submits it; the answer is not auto-posted.
func submitIdPLogin(t *testing.T, b *browser, st *devstack.Stack, p *page, user, otp string) *page {
	t.Helper()
	if (p.Status != http.StatusOK && p.Status != http.StatusUnauthorized) || !strings.HasPrefix(p.URL.String(), st.IDPURL) || !p.hasForm("login") {
		t.Fatalf("expected the IdP login form, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	action, form := p.form(t, formWithID("login"))
	form.Set("username", user)
	form.Set("password", password(t, st, user))
	form.Set("otp", otp)
	return b.post(action, form)
}

// demoUser is the demo person as the stack knows them.
func demoUser(t *testing.T, st *devstack.Stack, user string) devstack.User {
	t.Helper()
	for _, u := range st.Users {
		if u.Username == user {
			return u
		}
	}
	t.Fatalf("no demo user %s", user)
	return devstack.User{}
}

// removeFromGroup takes a person out of a group at the demo IdP and OP, as
// their administrator would; sign-ins from now on no longer carry it.
func removeFromGroup(t *testing.T, st *devstack.Stack, user, group string) {
	t.Helper()
	u := demoUser(t, st, user)
	groups := slices.DeleteFunc(slices.Clone(u.Groups), func(g string) bool { return g == group })
	if len(groups) == len(u.Groups) {
		t.Fatalf("%s is not in %s", user, group)
	}
	du := devidp.User{Username: u.Username, Password: u.Password, Email: u.Username + "@example.com",
		DisplayName: u.DisplayName, Groups: groups, OTP: u.OTP}
	if !st.IdP.UpdateUser(du) || !st.OP.UpdateUser(du) {
		t.Fatalf("the demo IdP or OP does not know %s", user)
	}
}

// auditOf lists the audit records of one person.
func auditOf(t *testing.T, st *devstack.Stack, provider, subject string) []store.AuditEvent {
	t.Helper()
	evs, err := st.App.Store.ListAudit(context.Background(), store.AuditFilter{Provider: provider, Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// auditLogout finds the person's "logout" record with that reason and,
// when via is not "", Details["via"].
func auditLogout(t *testing.T, st *devstack.Stack, provider, subject, reason, via string) store.AuditEvent {
	t.Helper()
	evs := auditOf(t, st, provider, subject)
	for _, e := range evs {
		if e.Event == "logout" && e.Reason == reason && (via == "" || e.Details["via"] == via) {
			return e
		}
	}
	t.Fatalf("no logout record of %s/%s with reason %q via %q; have %s", provider, subject, reason, via, eventList(evs))
	return store.AuditEvent{}
}

func eventList(evs []store.AuditEvent) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %s %s reason=%q details=%v", e.Time.Format("15:04:05"), e.Event, e.Result, e.Reason, e.Details)
	}
	return b.String()
}

// logBuffer collects the stack's log (slog text), safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// query is a URL's query, or fails the test.
func query(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
