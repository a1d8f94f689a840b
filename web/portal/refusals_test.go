package portal_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/partition"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// realIdP is an upstream IdP that signs its assertions for real (the
// broker's own SAML issuer, whose responses are shaped for AWS, as a
// pass-through provider's IdP sends them), and the env's okta provider
// replaced by the real saml package trusting it, with the SP's clock at
// *now.
type realIdP struct {
	is  *issuer.SAML
	now *time.Time
}

func newRealIdP(t *testing.T, ev *webtest.Env, now *time.Time) *realIdP {
	t.Helper()
	kp, err := issuer.GenerateKeyPair("upstream idp", 48*time.Hour, *now)
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return *now }
	is, err := issuer.NewSAML(issuer.SAMLConfig{EntityID: "https://idp.example.com/metadata", Signing: kp, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	md, err := is.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:8080"
	sp, err := saml.New(context.Background(), saml.Config{
		ID: "okta", MetadataURL: base + "/saml/okta/metadata", ACSURL: base + "/saml/okta/acs", IDPMetadataXML: md,
		PassThrough: true, Audiences: []string{broker.AWSSAMLAudienceURN}, Recipients: []string{partition.Default().SAMLEndpoint()},
		AllowIDPInitiated: true, Replay: &replayCache{m: map[string]time.Time{}, now: clock}, Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ev.Config
	cfg.Providers = []web.Provider{{ID: "okta", Label: "Okta", SAML: sp}}
	ev.Rebuild(t, cfg)
	return &realIdP{is: is, now: now}
}

// response signs in subject.
func (p *realIdP) response(t *testing.T, subject string) string {
	t.Helper()
	r, err := p.is.Issue(context.Background(), issuer.SAMLRequest{Subject: subject,
		Role: broker.RolePair{RoleARN: webtest.AdmRole, ProviderARN: webtest.IdPProvider}, RoleSessionName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return r.Base64
}

type replayCache struct {
	mu  sync.Mutex
	m   map[string]time.Time
	now func() time.Time
}

func (r *replayCache) Remember(_ context.Context, ns, key string, exp time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.m[ns+"\x00"+key]; ok && r.now().Before(e) {
		return broker.Errorf(broker.EREPLAY, "replay", "already used")
	}
	r.m[ns+"\x00"+key] = exp
	return nil
}

// lastFailure is the last failed sign-in the audit log holds.
func lastFailure(t *testing.T, ev *webtest.Env) store.AuditEvent {
	t.Helper()
	for i := len(ev.Audit.Events) - 1; i >= 0; i-- {
		if e := ev.Audit.Events[i]; e.Event == "signin" && e.Result == store.ResultFailure {
			return e
		}
	}
	t.Fatalf("no failed sign-in in %+v", ev.Audit.Events)
	return store.AuditEvent{}
}

// errorPage checks the error page: the message says what, the what-to-do
// line is there, the reason code is not.
func errorPage(t *testing.T, body, reason string, say ...string) {
	t.Helper()
	if strings.Contains(body, reason) || !strings.Contains(body, `id="error-action"`) {
		t.Errorf("page shows the reason %s or lacks what to do:\n%s", reason, body)
	}
	for _, s := range say {
		if !strings.Contains(body, s) {
			t.Errorf("page does not say %q:\n%s", s, body)
		}
	}
}

// TestRefusedSignInsNameTheVerifiedSubject: a response whose signature
// verified but that is refused (used twice, expired) is audited with the
// person it names; a forged one names nobody. The page says what happened
// in words, never the reason code.
func TestRefusedSignInsNameTheVerifiedSubject(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	now := time.Now().UTC().Truncate(time.Second)
	idp := newRealIdP(t, ev, &now)
	acs := func(b64 string) (int, string) {
		rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {b64}})
		return rec.Code, rec.Body.String()
	}

	first := idp.response(t, "alice@example.com")
	if code, page := acs(first); code != http.StatusSeeOther {
		t.Fatalf("genuine response: %d\n%s", code, page)
	}
	code, page := acs(first)
	if code != http.StatusUnauthorized {
		t.Fatalf("replay: %d", code)
	}
	errorPage(t, page, "replay", "already used", "Sign in again")
	if e := lastFailure(t, ev); e.Reason != "replay" || e.Subject != "alice@example.com" || e.Provider != "okta" {
		t.Errorf("replay audited as %+v", e)
	}

	late := idp.response(t, "bob@example.com")
	now = now.Add(time.Hour) // the IdP's clock is an hour behind ours
	if code, page = acs(late); code != http.StatusUnauthorized {
		t.Fatalf("expired: %d", code)
	}
	errorPage(t, page, "assertion_expired", "off by about 60 min", "administrator")
	if e := lastFailure(t, ev); e.Reason != "assertion_expired" || e.Subject != "bob@example.com" {
		t.Errorf("expired response audited as %+v", e)
	}

	raw, _ := base64.StdEncoding.DecodeString(idp.response(t, "carol@example.com"))
	forged := base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(raw), "carol@example.com", "admin@example.com", 1)))
	_, page = acs(forged)
	errorPage(t, page, "signature_invalid", "could not be verified")
	if e := lastFailure(t, ev); e.Reason != "signature_invalid" || e.Subject != "" {
		t.Errorf("forged response audited as %+v", e)
	}
}

// TestIdPRefusalIsAuditedAsItsStatus: the IdP's non-Success answer is
// audited as its status, and the person is told the IdP refused.
func TestIdPRefusalIsAuditedAsItsStatus(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	now := time.Now().UTC().Truncate(time.Second)
	newRealIdP(t, ev, &now)
	refusal := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="` +
		now.Format(time.RFC3339) + `" Destination="http://localhost:8080/saml/okta/acs"><saml:Issuer>https://idp.example.com/metadata</saml:Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:RequestDenied"/></samlp:StatusCode>` +
		`<samlp:StatusMessage>User is not assigned to this application</samlp:StatusMessage></samlp:Status></samlp:Response>`
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte(refusal))}})
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d\n%s", rec.Code, rec.Body)
	}
	errorPage(t, rec.Body.String(), "status_not_success", "refused you", "RequestDenied", "ask whoever runs your identity provider")
	e := lastFailure(t, ev)
	if e.Reason != "status_not_success" || e.Details["status"] != "urn:oasis:names:tc:SAML:2.0:status:Responder" ||
		e.Details["sub_status"] != "urn:oasis:names:tc:SAML:2.0:status:RequestDenied" || e.Details["status_message"] != "User is not assigned to this application" || e.Subject != "" {
		t.Errorf("IdP refusal audited as %+v", e)
	}
}

// TestOPRefusalIsAuditedAsItsError: the OP's ?error= is audited with its
// code and description, and the person is told the OP refused.
func TestOPRefusalIsAuditedAsItsError(t *testing.T) {
	ev, op := newOIDCEnv(t)
	ev.Do(t, http.MethodGet, "/oidc/kc/login", nil)
	rec := callback(ev, t, "error=access_denied&error_description=Not+in+the+group&state="+url.QueryEscape(op.state))
	if rec.Code != http.StatusForbidden {
		t.Fatalf("access_denied: %d", rec.Code)
	}
	errorPage(t, rec.Body.String(), `error-reason`, "refused you", "ask whoever runs your identity provider")
	if e := lastFailure(t, ev); e.Reason != "access_denied" || e.Provider != "kc" || e.Details["error"] != "access_denied" || e.Details["error_description"] != "Not in the group" {
		t.Errorf("OP refusal audited as %+v", e)
	}
}
