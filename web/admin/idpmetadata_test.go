package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/web/internal/webtest"
)

// The accounts page, where admins register the broker in each account,
// shows the IdP metadata's validUntil (IAM's expiry of the provider) when
// the broker is a SAML IdP, and nothing about it otherwise.
func TestAccountsPageShowsIdPMetadataValidUntil(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	if body := ev.Do(t, http.MethodGet, "/admin/accounts", nil).Body.String(); strings.Contains(body, `id="idp-metadata"`) {
		t.Fatal("the page speaks of IdP metadata on a broker that is no SAML IdP")
	}
	cfg := ev.Config
	cfg.IDPMetadataValidUntil = time.Date(2031, 3, 4, 5, 6, 0, 0, time.UTC)
	ev.Rebuild(t, cfg)
	ev.As(t, "ann", webtest.AdminGroup)
	rec := ev.Do(t, http.MethodGet, "/admin/accounts", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `<strong id="idp-valid-until">2031-03-04 05:06 UTC</strong>`) ||
		!strings.Contains(body, `href="/idp/saml/metadata"`) {
		t.Fatalf("accounts page %d without the IdP metadata's validUntil:\n%s", rec.Code, body)
	}
}
