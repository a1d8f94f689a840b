package ratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestAllowBurstThenRefill(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	l := New(Limit{PerMinute: 60, Burst: 3}, 0, c.now)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("192.0.2.1"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("192.0.2.1")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th request: ok=%v wait=%v, want refused with about 1s to wait", ok, wait)
	}
	if ok, _ := l.Allow("192.0.2.2"); !ok {
		t.Fatal("another client was refused")
	}
	c.t = c.t.Add(time.Second)
	if ok, _ := l.Allow("192.0.2.1"); !ok {
		t.Fatal("one token a second: refused after a second")
	}
	if ok, _ := l.Allow("192.0.2.1"); ok {
		t.Fatal("two requests allowed after one second at 60/min")
	}
}

func TestOffAndNil(t *testing.T) {
	var nilLimiter *Limiter
	if ok, _ := nilLimiter.Allow("x"); !ok {
		t.Fatal("nil limiter refused")
	}
	l := New(Limit{}, 0, nil)
	for i := 0; i < 1000; i++ {
		if ok, _ := l.Allow("x"); !ok {
			t.Fatal("an off limit refused")
		}
	}
}

func TestKeysStayBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	l := New(Limit{PerMinute: 60, Burst: 5}, 100, c.now)
	for i := 0; i < 10000; i++ {
		c.t = c.t.Add(time.Millisecond)
		l.Allow(fmt.Sprintf("198.51.100.%d/%d", i%250, i))
		if n := l.Len(); n > 100 {
			t.Fatalf("%d keys tracked, limit 100", n)
		}
	}
	// A client that keeps coming is not forgotten (and so not let off) by
	// the eviction of quiet ones.
	busy := "203.0.113.9"
	for i := 0; i < 5; i++ {
		l.Allow(busy)
	}
	for i := 0; i < 200; i++ {
		c.t = c.t.Add(time.Millisecond)
		l.Allow(fmt.Sprintf("quiet-%d", i))
		if i%20 == 0 {
			l.Allow(busy)
		}
	}
	if ok, _ := l.Allow(busy); ok {
		t.Error("a client in the middle of a burst was let off by eviction")
	}
}

func TestMiddlewareAnswers429WithRetryAfter(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		code := http.StatusInternalServerError
		if broker.ErrorCode(err) == broker.ETOOMANY {
			code = http.StatusTooManyRequests
		}
		_ = c.String(code, broker.ErrorReason(err))
	}
	l := New(Limit{PerMinute: 6, Burst: 2}, 0, nil)
	e.POST("/acs", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, Middleware(l, "signin"))
	do := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/acs", nil)
		req.RemoteAddr = addr + ":40000"
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 2; i++ {
		if rec := do("192.0.2.10"); rec.Code != http.StatusNoContent {
			t.Fatalf("request %d: %d", i+1, rec.Code)
		}
	}
	rec := do("192.0.2.10")
	if rec.Code != http.StatusTooManyRequests || rec.Body.String() != "rate_limited_signin" {
		t.Fatalf("3rd request: %d %q", rec.Code, rec.Body.String())
	}
	if ra := rec.Header().Get("Retry-After"); ra != "10" {
		t.Errorf("Retry-After = %q, want 10 (one token every 10 s)", ra)
	}
	if rec := do("192.0.2.11"); rec.Code != http.StatusNoContent {
		t.Errorf("another address: %d", rec.Code)
	}
}

func TestWaitText(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Second: "1 second", 10 * time.Second: "10 seconds", time.Minute: "1 minute", 90 * time.Second: "2 minutes"} {
		if got := waitText(d); got != want {
			t.Errorf("waitText(%v) = %q, want %q", d, got, want)
		}
	}
}
