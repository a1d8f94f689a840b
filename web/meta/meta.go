package meta

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/web"
)

// Pinger answers when the store can be used (store.Store): Ping reads,
// CheckWrite commits a tiny write (a read-only or full database answers
// Ping but not CheckWrite).
type Pinger interface {
	Ping(ctx context.Context) error
	CheckWrite(ctx context.Context) error
}

// Config configures the protocol and health endpoints.
type Config struct {
	Providers *web.Providers
	Store     Pinger
	// IDPMetadata returns the broker's own SAML IdP metadata; nil = 404
	// (and no /idp/saml/sso).
	IDPMetadata func() ([]byte, error)
	// IDPMetadataWarning says, when non-empty, that the IdP metadata's
	// validUntil (the SAML provider's expiry in IAM) is near or past;
	// /readyz lists it under warnings and stays 200. nil: no check.
	IDPMetadataWarning func() string
	// AWSWarning says, when non-empty, that AWS (STS or the federation
	// endpoint) is failing or not answering; /readyz reports checks.aws
	// "degraded" with the line under warnings and stays 200: an AWS outage
	// hits every instance alike, and taking them all out of the load
	// balancer would also stop what needs no AWS (sign-in, the portal,
	// admin, apps) and the clear page that explains. nil: no check.
	AWSWarning func() string
	// Draining reports that the process is shutting down: /readyz answers
	// 503 at once so load balancers stop sending, while every other route
	// still serves. nil: never.
	Draining func() bool
	// OIDCDiscovery and OIDCJWKS publish the broker's own OIDC issuer; nil = 404.
	OIDCDiscovery func() ([]byte, error)
	OIDCJWKS      func() ([]byte, error)
	Logger        *slog.Logger
}

// Handler serves what machines read: the SP metadata of each SAML
// provider, the broker's own IdP metadata, OIDC discovery and JWKS, and the
// health and readiness checks.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Providers == nil || cfg.Store == nil {
		return nil, errors.New("meta: Providers and Store are required")
	}
	h := &Handler{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Mount adds the routes.
func (h *Handler) Mount(e *echo.Echo) {
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/saml/:provider/metadata", h.samlMetadata)
	e.GET("/idp/saml/metadata", h.idpMetadata)
	e.GET("/idp/saml/sso", h.idpSSO)
	e.POST("/idp/saml/sso", h.idpSSO)
	e.GET("/.well-known/openid-configuration", h.oidcDiscovery)
	e.GET("/idp/oidc/jwks", h.oidcJWKS)
}

// samlMetadata serves the SP metadata of one SAML provider.
func (h *Handler) samlMetadata(c echo.Context) error {
	p, ok := h.cfg.Providers.Get(c.Param("provider"))
	if !ok || p.SAML == nil {
		return broker.Errorf(broker.ENOTFOUND, "provider_unknown", "There is no identity provider with this name.")
	}
	md, err := p.SAML.Metadata()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/samlmetadata+xml", md)
}

func (h *Handler) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// readyz reports whether this instance can serve sign-ins: the store must
// answer and accept a write (checks.store "ok", "unavailable" or
// "read_only": a sign-in, a role or a credential is refused without its
// audit record, so a store that cannot write is not ready); each IdP's
// metadata state is listed. The instance is ready while
// at least one IdP can be used, so one IdP being down does not take the
// whole broker out of a load balancer. The broker's own IdP metadata
// nearing its validUntil is a warning (checks.idp_metadata "renew" and a
// line under warnings), never a 503.
func (h *Handler) readyz(c echo.Context) error {
	if h.cfg.Draining != nil && h.cfg.Draining() {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "shutting down", "checks": map[string]string{"shutdown": "draining"}})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ready := true
	checks["store"] = h.storeState(ctx, web.RequestID(c))
	if checks["store"] != "ok" {
		ready = false
	}
	usable := 0
	providers := h.cfg.Providers.List()
	for _, p := range providers {
		if err := p.Ready(); err != nil {
			checks["provider:"+p.ID] = "unavailable"
		} else {
			checks["provider:"+p.ID] = "ok"
			usable++
		}
	}
	if len(providers) > 0 && usable == 0 {
		ready = false
	}
	var warnings []string
	if h.cfg.IDPMetadataWarning != nil {
		checks["idp_metadata"] = "ok"
		if w := h.cfg.IDPMetadataWarning(); w != "" {
			checks["idp_metadata"] = "renew"
			warnings = append(warnings, w)
		}
	}
	if h.cfg.AWSWarning != nil {
		checks["aws"] = "ok"
		if w := h.cfg.AWSWarning(); w != "" {
			checks["aws"] = "degraded"
			warnings = append(warnings, w)
		}
	}
	status := http.StatusOK
	state := "ready"
	if !ready {
		status, state = http.StatusServiceUnavailable, "not ready"
	}
	body := map[string]any{"status": state, "checks": checks}
	if len(warnings) > 0 {
		// A warning never makes the instance unready: the metadata in IAM
		// is the operator's to renew, and AWS being down is not this
		// instance's fault; neither is a reason to stop serving.
		body["warnings"] = warnings
	}
	return c.JSON(status, body)
}

// storeState is "ok" when the store answers and accepts a write,
// "unavailable" when it does not answer, "read_only" when it answers but
// cannot write (read-only, disk full). A failure is logged with the
// request id and the store's reason.
func (h *Handler) storeState(ctx context.Context, requestID string) string {
	if err := h.cfg.Store.Ping(ctx); err != nil {
		h.log.WarnContext(ctx, "readiness: store does not answer", "request_id", requestID, "reason", broker.ErrorReason(err), "err", err)
		return "unavailable"
	}
	if err := h.cfg.Store.CheckWrite(ctx); err != nil {
		h.log.WarnContext(ctx, "readiness: store cannot write", "request_id", requestID, "reason", broker.ErrorReason(err), "err", err)
		return "read_only"
	}
	return "ok"
}

func (h *Handler) oidcDiscovery(c echo.Context) error {
	return h.publish(c, h.cfg.OIDCDiscovery)
}

func (h *Handler) oidcJWKS(c echo.Context) error {
	return h.publish(c, h.cfg.OIDCJWKS)
}

// publish serves the broker's OIDC issuer documents: public, cacheable
// for a few minutes (AWS fetches them on every new signing key).
func (h *Handler) publish(c echo.Context, doc func() ([]byte, error)) error {
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

func (h *Handler) idpMetadata(c echo.Context) error {
	if h.cfg.IDPMetadata == nil {
		return broker.Errorf(broker.ENOTFOUND, "issuer_not_configured", "This broker does not act as a SAML identity provider.")
	}
	md, err := h.cfg.IDPMetadata()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/samlmetadata+xml", md)
}
