package apps_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/broker-dev/broker/access"
	webapps "github.com/broker-dev/broker/web/apps"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// With the audit log unable to write, the credentials and console APIs
// hand out nothing: 503 with the reason and a message saying why, no
// credentials and no console URL in the answer.
func TestAPIRefusesWithoutAuditRecord(t *testing.T) {
	ev, _, _ := newEnvWith(t, func(ev *webtest.Env) *access.Service {
		acc, _ := localAWS(t, ev)
		return acc
	})
	ev.SignIn(t)
	tok, _ := appTokens(t, ev, "openid aws:credentials")
	ev.Audit.ReadOnly = true
	for _, path := range []string{webapps.CredentialsPath, webapps.ConsolePath} {
		rec, out := call(t, ev, http.MethodPost, path, tok, map[string]string{"account": "sandbox", "role": "Developer"})
		wantError(t, path, rec, out, http.StatusServiceUnavailable, access.ReasonAuditUnavailable)
		if body := rec.Body.String(); strings.Contains(body, "secret_access_key") || strings.Contains(body, "SigninToken") || out["url"] != nil {
			t.Errorf("%s handed out with no audit record: %s", path, body)
		}
	}
	// The same calls once the audit log writes again: handed out.
	ev.Audit.ReadOnly = false
	for _, path := range []string{webapps.CredentialsPath, webapps.ConsolePath} {
		if rec, out := call(t, ev, http.MethodPost, path, tok, map[string]string{"account": "sandbox", "role": "Developer"}); rec.Code != http.StatusOK {
			t.Errorf("%s with the audit log back: %d %v", path, rec.Code, out)
		}
	}
}
