package ratelimit

import (
	"math"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
)

// Middleware refuses a request when its client (c.RealIP) has no token
// left in l: 429 with Retry-After in whole seconds. name says which limit
// it was in the error's reason ("rate_limited_NAME").
func Middleware(l *Limiter, name string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if l == nil || l.limit.Off() {
			return next
		}
		return func(c echo.Context) error {
			if err := Check(c, l, name); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// Check takes a token for the request's client, or sets Retry-After and
// returns the 429 error.
func Check(c echo.Context, l *Limiter, name string) error {
	if l == nil {
		return nil
	}
	ok, wait := l.Allow(c.RealIP())
	if ok {
		return nil
	}
	l.metrics.RateLimited(name)
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return broker.Errorf(broker.ETOOMANY, "rate_limited_"+name,
		"Too many attempts from your network in a short time. Wait %s and try again.", waitText(time.Duration(secs)*time.Second))
}

func waitText(d time.Duration) string {
	n, unit := int(d.Seconds()), "second"
	if d >= time.Minute {
		n, unit = int(math.Ceil(d.Minutes())), "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return strconv.Itoa(n) + " " + unit
}
