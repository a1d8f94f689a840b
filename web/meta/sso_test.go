package meta_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
)

func withIdP(t *testing.T, ev *webtest.Env, warning string) {
	t.Helper()
	cfg := ev.Config
	cfg.IDPMetadata = func() ([]byte, error) { return []byte("<md:EntityDescriptor/>"), nil }
	cfg.IDPMetadataWarning = func() string { return warning }
	ev.Rebuild(t, cfg)
}

// The SingleSignOnService the IdP metadata advertises answers: with a
// role it is the portal's /go deep link (its parameters kept, nothing
// else), without one the portal's role list; 404 when the broker is no
// SAML IdP.
func TestIdPSSO(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	if rec := ev.Do(t, http.MethodGet, "/idp/saml/sso", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("no SAML IdP: %d, want 404", rec.Code)
	}
	withIdP(t, ev, "")
	cases := []struct {
		name, method, target string
		wantPath             string
		wantQuery            url.Values
	}{
		{"no role: the portal", http.MethodGet, "/idp/saml/sso", "/", url.Values{}},
		{"POST binding, no role", http.MethodPost, "/idp/saml/sso", "/", url.Values{}},
		{"an AuthnRequest alone: the portal", http.MethodGet, "/idp/saml/sso?SAMLRequest=abc&RelayState=x", "/", url.Values{}},
		{"a role: the /go link", http.MethodGet, "/idp/saml/sso?account=sandbox&role=Developer&region=eu-west-1&SAMLRequest=abc&intent=x", "/go",
			url.Values{"account": {"sandbox"}, "role": {"Developer"}, "region": {"eu-west-1"}}},
		{"via and destination kept", http.MethodGet, "/idp/saml/sso?role=arn:aws:iam::111122223333:role/Dev&via=saml&destination=" + url.QueryEscape("https://console.aws.amazon.com/s3/home"), "/go",
			url.Values{"role": {"arn:aws:iam::111122223333:role/Dev"}, "via": {"saml"}, "destination": {"https://console.aws.amazon.com/s3/home"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := ev.Do(t, tc.method, tc.target, nil)
			loc, err := url.Parse(rec.Header().Get("Location"))
			if rec.Code != http.StatusSeeOther || err != nil {
				t.Fatalf("%d %q, want 303", rec.Code, rec.Header().Get("Location"))
			}
			if loc.Path != tc.wantPath || loc.Query().Encode() != tc.wantQuery.Encode() {
				t.Errorf("Location %q, want %s?%s", loc, tc.wantPath, tc.wantQuery.Encode())
			}
		})
	}
	// Followed, the /go link signs a signed-out person in first, the role
	// carried through.
	rec := ev.Do(t, http.MethodGet, "/idp/saml/sso?account=sandbox&role=Developer", nil)
	rec = ev.Do(t, http.MethodGet, rec.Header().Get("Location"), nil)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || loc.Path != "/" || loc.Query().Get("grant") == "" {
		t.Fatalf("/go signed out: %d %q, want the sign-in page with the link", rec.Code, rec.Header().Get("Location"))
	}
}

// /readyz stays 200 when the IdP metadata must be renewed, and says so.
func TestReadinessWarnsOfIdPMetadataExpiry(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	for _, tc := range []struct {
		name, warning, check string
	}{
		{"far from validUntil", "", "ok"},
		{"within 30 days", "The broker's SAML IdP metadata expires on 2030-01-01", "renew"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withIdP(t, ev, tc.warning)
			rec := ev.Do(t, http.MethodGet, "/readyz", nil)
			var body struct {
				Status   string
				Checks   map[string]string
				Warnings []string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != http.StatusOK || body.Status != "ready" || body.Checks["idp_metadata"] != tc.check {
				t.Fatalf("readyz %d %s", rec.Code, rec.Body)
			}
			if tc.warning == "" && len(body.Warnings) != 0 || tc.warning != "" && (len(body.Warnings) != 1 || body.Warnings[0] != tc.warning) {
				t.Errorf("warnings %q, want %q", body.Warnings, tc.warning)
			}
		})
	}
}
