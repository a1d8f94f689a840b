package saml

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/issuer"
)

// TestSingleLogoutWithDemoIdP runs both directions of single logout
// between this SP and the demo IdP, each side verifying the other's
// signatures with the certificate it was given.
func TestSingleLogoutWithDemoIdP(t *testing.T) {
	spKP, err := issuer.GenerateKeyPair("broker sp", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var idp *devidp.IdP
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { idp.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	idp, err = devidp.New(devidp.Config{BaseURL: srv.URL, Users: []devidp.User{{Username: "alice", Password: "pw"}},
		ServiceProviders: []devidp.ServiceProvider{{EntityID: spMD, ACSURL: spACS, SLOURL: spSLO, Certificate: spKP.Certificate}}})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := New(context.Background(), Config{ID: "demo", MetadataURL: spMD, ACSURL: spACS, SLOURL: spSLO,
		IDPMetadataXML: idp.Metadata(), Key: spKP.Key, Certificate: spKP.Certificate, Replay: newMemReplay(time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	field := func(body, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in %s", name, body)
		}
		return html.UnescapeString(m[1])
	}
	fetch := func(u string) string {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
		}
		return string(b)
	}

	// Broker-initiated: Redirect to the IdP, its LogoutResponse POSTed back.
	out, reqID, err := sp.LogoutRequest(&broker.Identity{Subject: "alice", SubjectFormat: NameIDPersistent, SessionIndex: "_x"}, "rs")
	if err != nil || out.RedirectURL == "" {
		t.Fatalf("%+v %v", out, err)
	}
	body := fetch(out.RedirectURL)
	form := url.Values{"SAMLResponse": {field(body, "SAMLResponse")}, "RelayState": {field(body, "RelayState")}}
	r := httptest.NewRequest(http.MethodPost, spSLO, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	msg, err := sp.ParseLogout(r, []string{reqID})
	if err != nil || msg.Response == nil || !msg.Response.Success || msg.RelayState != "rs" {
		t.Fatalf("the IdP's LogoutResponse: %+v %v", msg, err)
	}

	// IdP-initiated: the IdP's signed Redirect, the broker's answer back.
	u, err := idp.LogoutRequestFor(spMD, "alice")
	if err != nil {
		t.Fatal(err)
	}
	msg, err = sp.ParseLogout(httptest.NewRequest(http.MethodGet, u, nil), nil)
	if err != nil || msg.Request == nil || msg.Request.NameID != "alice" || msg.Binding != BindingRedirect {
		t.Fatalf("the IdP's LogoutRequest: %+v %v", msg, err)
	}
	if err := sp.RememberLogoutRequest(context.Background(), msg.Request); err != nil {
		t.Fatal(err)
	}
	answer, err := sp.LogoutResponse(msg.Request, true, msg.RelayState)
	if err != nil || answer.RedirectURL == "" {
		t.Fatalf("%+v %v", answer, err)
	}
	if body := fetch(answer.RedirectURL); !strings.Contains(body, `id="signed-out"`) || !strings.Contains(body, spMD+": signed out") {
		t.Errorf("the IdP did not take the broker's LogoutResponse: %s", body)
	}
}
