package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
)

func (s *Server) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// readyz reports whether this instance can serve sign-ins: the store must
// answer; each IdP's metadata state is listed. The instance is ready while
// at least one IdP can be used, so one IdP being down does not take the
// whole broker out of a load balancer.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ready := true
	if err := s.cfg.Sessions.Ping(ctx); err != nil {
		checks["store"] = "unavailable"
		ready = false
		s.log.WarnContext(ctx, "readiness: store", "err", err)
	} else {
		checks["store"] = "ok"
	}
	usable := 0
	for _, id := range s.order {
		p := s.providers[id]
		if err := p.Ready(); err != nil {
			checks["provider:"+id] = "unavailable"
		} else {
			checks["provider:"+id] = "ok"
			usable++
		}
	}
	if len(s.order) > 0 && usable == 0 {
		ready = false
	}
	status := http.StatusOK
	state := "ready"
	if !ready {
		status, state = http.StatusServiceUnavailable, "not ready"
	}
	return c.JSON(status, map[string]any{"status": state, "checks": checks})
}

func (s *Server) oidcDiscovery(c echo.Context) error {
	return s.publish(c, s.cfg.OIDCDiscovery)
}

func (s *Server) oidcJWKS(c echo.Context) error {
	return s.publish(c, s.cfg.OIDCJWKS)
}

// publish serves the broker's OIDC issuer documents: public, cacheable
// for a few minutes (AWS fetches them on every new signing key).
func (s *Server) publish(c echo.Context, doc func() ([]byte, error)) error {
	if doc == nil {
		return broker.Errorf(broker.ENOTFOUND, "issuer_not_configured", "This broker does not act as an OpenID Connect issuer.")
	}
	b, err := doc()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	c.Response().Header().Del("Pragma")
	return c.Blob(http.StatusOK, "application/json", b)
}

func (s *Server) idpMetadata(c echo.Context) error {
	if s.cfg.IDPMetadata == nil {
		return broker.Errorf(broker.ENOTFOUND, "issuer_not_configured", "This broker does not act as a SAML identity provider.")
	}
	md, err := s.cfg.IDPMetadata()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/samlmetadata+xml", md)
}
