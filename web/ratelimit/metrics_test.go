package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker/metrics"
)

// TestRefusalsCounted: each 429 is counted under the limit's name, and
// allowed requests are not.
func TestRefusalsCounted(t *testing.T) {
	m := metrics.New(metrics.Config{})
	e := echo.New()
	l := New(Limit{PerMinute: 6, Burst: 2}, 0, nil).Counting(m)
	e.POST("/acs", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, Middleware(l, "signin"))
	for range 5 {
		req := httptest.NewRequest(http.MethodPost, "/acs", nil)
		req.RemoteAddr = "192.0.2.10:40000"
		e.ServeHTTP(httptest.NewRecorder(), req)
	}
	s, _ := m.Snapshot()
	if got := metrics.Sum(s, "broker_rate_limited_total", map[string]string{"limit": "signin"}); got != 3 {
		t.Errorf("refusals counted %v, want 3", got)
	}
	if (*Limiter)(nil).Counting(m) != nil {
		t.Error("Counting on a nil limiter (limit off) made one")
	}
}
