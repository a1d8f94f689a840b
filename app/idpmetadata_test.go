package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The broker warns, in its log and on /readyz (still 200), from 30 days
// before its IdP metadata's validUntil (the test config's signing
// certificate lasts an hour), and says nothing before.
func TestIdPMetadataExpiryWarnings(t *testing.T) {
	cfg := testConfig(t, "")
	for _, tc := range []struct {
		name string
		now  time.Time
		want string
	}{
		{"60 days before", time.Now().Add(-60 * 24 * time.Hour), ""},
		{"within the hour", time.Now(), "The broker's SAML IdP metadata expires on"},
		{"after it", time.Now().Add(2 * time.Hour), "The broker's SAML IdP metadata expired on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuf{}
			a, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: func() time.Time { return tc.now }})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			a.WarnIDPMetadata(context.Background())
			got := logs.String()
			if tc.want == "" && strings.Contains(got, "IdP metadata") || !strings.Contains(got, tc.want) {
				t.Errorf("log %q, want %q", got, tc.want)
			}
			rec := httptest.NewRecorder()
			a.Web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			body := rec.Body.String()
			if rec.Code != http.StatusOK || (tc.want == "") == strings.Contains(body, `"warnings"`) || !strings.Contains(body, tc.want) {
				t.Errorf("readyz %d %s, want a warning %q", rec.Code, body, tc.want)
			}
		})
	}
}
