package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/store"
)

// signOut presses the portal's Sign out button.
func signOut(t *testing.T, b *browser, portal *page) *page {
	t.Helper()
	action, form := portal.form(t, formWithAction("/logout"))
	if form.Get("csrf_token") == "" {
		t.Fatal("the sign-out form has no CSRF token")
	}
	return b.post(action, form)
}

// SP-initiated single logout: the portal's sign-out sends a LogoutRequest
// to the demo IdP, which ends its own session and answers at
// /saml/demo/slo; the person is signed out of both.
func TestSAMLSingleLogoutSPInitiated(t *testing.T) {
	st := startStack(t)
	b, portal := signInSP(t, st, "demo", "alice")
	portalOf(t, portal, "Alice Admin")

	b.trail = nil
	p := settle(t, b, signOut(t, b, portal))
	if !visited(b.trail, st.IDPURL+"/saml/slo") || !visited(b.trail, st.BrokerURL+"/saml/demo/slo") {
		t.Errorf("no round trip through the IdP's single logout: %+v", b.trail)
	}
	flash := signedOut(t, st, p)
	if !strings.Contains(flash, "signed out of the portal and of Demo IdP") {
		t.Errorf("sign-in page after single logout says %q", flash)
	}
	signedOut(t, st, b.get(st.BrokerURL+"/"))
	auditHas(t, st, store.AuditFilter{Subject: "alice", Event: "logout", Result: store.ResultSuccess}, "")

	// The IdP's session ended too: signing in again asks for the password.
	if p := b.get(st.BrokerURL + "/saml/demo/login"); !p.hasForm("login") || !strings.HasPrefix(p.URL.String(), st.IDPURL) {
		t.Fatalf("after single logout the IdP did not ask for the password: %d at %s\n%s", p.Status, p.URL, clip(p.Body))
	}
}

// IdP-initiated single logout: signing out at the IdP (its front-channel
// chain to each SP), or a LogoutRequest the IdP sends on its own (no
// cookie of the person's comes with it), ends the broker session, which
// answers with a LogoutResponse.
func TestSAMLSingleLogoutIdPInitiated(t *testing.T) {
	st := startStack(t)

	t.Run("sign out at the IdP", func(t *testing.T) {
		b, portal := signInSP(t, st, "demo", "alice")
		portalOf(t, portal, "Alice Admin")
		b.trail = nil
		p := settle(t, b, b.post(st.IDPURL+"/logout", url.Values{}))
		if p.text("signed-out") == "" || !strings.HasPrefix(p.URL.String(), st.IDPURL) {
			t.Fatalf("expected the IdP's signed-out page, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
		}
		// The IdP got the broker's LogoutResponse, matching its request.
		if res := p.text("slo-results"); !strings.Contains(res, "/saml/demo/metadata: signed out") {
			t.Errorf("IdP's single logout results: %q", res)
		}
		if !visited(b.trail, st.BrokerURL+"/saml/demo/slo") {
			t.Errorf("the broker's SLO endpoint was not visited: %+v", b.trail)
		}
		signedOut(t, st, b.get(st.BrokerURL+"/"))
		auditLogout(t, st, "demo", "alice", "upstream_logout", "saml_slo")
	})

	t.Run("LogoutRequest from the IdP", func(t *testing.T) {
		b, _ := signInSP(t, st, "demo", "carol") // one role: straight to the console
		portalOf(t, b.get(st.BrokerURL+"/"), "Carol Counter")
		u, err := st.IdP.LogoutRequestFor(st.BrokerURL+"/saml/demo/metadata", "carol")
		if err != nil {
			t.Fatal(err)
		}
		// Another browser (the IdP's own request, without carol's cookie).
		other := newBrowser(t)
		p := settle(t, other, other.get(u))
		if res := p.text("slo-results"); !strings.Contains(res, "/saml/demo/metadata: signed out") {
			t.Fatalf("the IdP did not get a successful LogoutResponse; results %q, page %d at %s:\n%s", res, p.Status, p.URL, clip(p.Body))
		}
		signedOut(t, st, b.get(st.BrokerURL+"/"))
		auditLogout(t, st, "demo", "carol", "upstream_logout", "saml_slo")
	})
}

// Back-channel logout from the demo OP: signing out at the OP's own page
// ends the broker session though the browser never visits the broker.
func TestOIDCBackchannelLogout(t *testing.T) {
	st := startStack(t)
	b, portal := signInOIDC(t, st, "bob")
	portalOf(t, portal, "Bob Builder")

	b.trail = nil
	p := b.post(st.OPURL+"/logout", url.Values{})
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL.String(), st.OPURL) || !p.hasForm("login") {
		t.Fatalf("expected the OP's page after sign-out, got %d at %s", p.Status, p.URL)
	}
	if visited(b.trail, st.BrokerURL) {
		t.Fatalf("the browser visited the broker: %+v", b.trail)
	}
	// The OP delivered the logout token before it answered the browser.
	e := auditLogout(t, st, "demo-oidc", devidp.SubjectOf("bob"), "upstream_logout", "oidc_backchannel")
	if e.Details["handle"] == "" {
		t.Errorf("logout record names no session: %v", e.Details)
	}
	signedOut(t, st, b.get(st.BrokerURL+"/"))
}

// A logout token is single use: the same token posted again is refused
// with 400 and ends nothing more.
func TestOIDCBackchannelLogoutReplayRefused(t *testing.T) {
	st := startStack(t)
	b, _ := signInOIDC(t, st, "bob")
	token := opLogoutToken(t, st, devidp.SubjectOf("bob"))
	endpoint := st.BrokerURL + "/oidc/demo-oidc/backchannel-logout"

	if code, body := postLogoutToken(t, endpoint, token); code != http.StatusOK {
		t.Fatalf("first delivery: %d %s", code, body)
	}
	signedOut(t, st, b.get(st.BrokerURL+"/"))

	b2, _ := signInOIDC(t, st, "bob") // a new session the replay must not end
	code, body := postLogoutToken(t, endpoint, token)
	var res struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.Unmarshal([]byte(body), &res)
	if code != http.StatusBadRequest || res.Error != "invalid_request" || !strings.Contains(res.ErrorDescription, "already used") {
		t.Fatalf("replayed logout token: %d %s", code, body)
	}
	portalOf(t, b2.get(st.BrokerURL+"/"), "Bob Builder")
}

// opLogoutToken signs a back-channel logout token for sub with the demo
// OP's key (keys/demo-op.key), as the OP does: typ logout+jwt, its kid.
func opLogoutToken(t *testing.T, st *devstack.Stack, sub string) string {
	t.Helper()
	keys := filepath.Join(filepath.Dir(st.ConfigPath), "keys")
	kp, err := issuer.LoadKeyPair(filepath.Join(keys, "demo-op.key"), filepath.Join(keys, "demo-op.crt"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: kp.Key, KeyID: issuer.KeyID(&kp.Key.PublicKey)}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": st.OPURL, "aud": devstack.OIDCClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": "e2e-" + t.Name(), "sub": sub, "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func postLogoutToken(t *testing.T, endpoint, token string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(endpoint, url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// RP-initiated logout: the portal's sign-out sends the browser to the
// OP's end-session endpoint, which (once the person confirms) ends its
// session and comes back to the portal, signed out.
func TestOIDCRPInitiatedLogout(t *testing.T) {
	st := startStack(t)
	b, portal := signInOIDC(t, st, "bob")
	portalOf(t, portal, "Bob Builder")

	p := signOut(t, b, portal)
	if !strings.HasPrefix(p.URL.String(), st.OPURL+"/end-session") || !p.hasForm("logout-confirm") {
		t.Fatalf("expected the OP's sign-out confirmation, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	if q := p.URL.Query(); q.Get("client_id") != devstack.OIDCClientID || q.Get("post_logout_redirect_uri") != st.BrokerURL+"/" {
		t.Errorf("end-session request %s", p.URL)
	}
	action, form := p.form(t, formWithID("logout-confirm"))
	flash := signedOut(t, st, b.post(action, form))
	if !strings.Contains(flash, "Demo OpenID Provider was asked to end its session") {
		t.Errorf("portal after RP-initiated logout says %q", flash)
	}
	auditHas(t, st, store.AuditFilter{Subject: devidp.SubjectOf("bob"), Event: "logout", Result: store.ResultSuccess}, "")
	// The OP's session ended: signing in again asks for the password.
	if p := b.get(st.BrokerURL + "/oidc/demo-oidc/login"); !p.hasForm("login") || !strings.HasPrefix(p.URL.String(), st.OPURL) {
		t.Fatalf("after RP-initiated logout the OP did not ask for the password: %d at %s", p.Status, p.URL)
	}
}
