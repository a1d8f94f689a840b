package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/web"
)

// The apps registered with the broker's OpenID Provider (apps.Registry
// checks, versions and audits every change):
//
//	GET    /api/v1/apps               apps:read   every app: {"apps": [...]} (config-file and built-in ones read-only)
//	GET    /api/v1/apps/export        apps:read   the registered apps as `broker clients export` writes them: {"clients": [...]}
//	PUT    /api/v1/apps               apps:write  make the registered apps exactly {"clients": [...], "dry_run", "allow_empty"}: {"changes": [...]}
//	POST   /api/v1/apps               apps:write  register one (a spec): 201 {"app", "secret"} (the secret shown once)
//	GET    /api/v1/apps/:id           apps:read   one app: {"app"}
//	PUT    /api/v1/apps/:id           apps:write  {"app": spec, "version": n}: {"app"} (+ "secret" when it turned confidential)
//	DELETE /api/v1/apps/:id?version=  apps:write  204; its tokens are revoked
//	POST   /api/v1/apps/:id/secret    apps:write  {"version": n}: {"secret"}, the old one stops working
//
// Never a secret or its hash in an answer, except the new secret of a
// create, a rotation or an update that made the app confidential, and the
// hashes export writes (which cannot sign in). A registration with
// problems gets 422 with {field, reason} problems; a stale version 409; an
// app of the config file 409 app_client_managed_elsewhere. When the
// broker has no OpenID Provider (no OIDC signing key) every route is 404.

// AppRegistry is the registry of apps (apps.Registry).
type AppRegistry interface {
	List(ctx context.Context) ([]apps.Registered, error)
	Get(ctx context.Context, id string) (*apps.Registered, error)
	Create(ctx context.Context, who broker.Actor, spec apps.ClientSpec) (string, error)
	Update(ctx context.Context, who broker.Actor, spec apps.ClientSpec, version int64) (string, error)
	RotateSecret(ctx context.Context, who broker.Actor, id string, version int64) (string, error)
	Delete(ctx context.Context, who broker.Actor, id string, version int64) error
	Export(ctx context.Context) ([]apps.Exported, error)
	Apply(ctx context.Context, who broker.Actor, want []apps.Exported, dryRun, allowEmpty bool) ([]apps.Change, error)
}

var _ AppRegistry = (*apps.Registry)(nil)

// ReasonAppsOff answers every apps route when the broker has no OpenID
// Provider.
const ReasonAppsOff = "apps_provider_off"

// apiApp is an app as the API shows it: its registration and where it
// comes from; never its secret or the secret's hash.
type apiApp struct {
	apps.ClientSpec
	Source       string    `json:"source"`
	Confidential bool      `json:"confidential"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
	CreatedBy    string    `json:"created_by,omitempty"`
	UpdatedBy    string    `json:"updated_by,omitempty"`
	Editable     bool      `json:"editable"`
}

func toAPIApp(r *apps.Registered) apiApp {
	return apiApp{ClientSpec: r.Spec, Source: r.Source, Confidential: r.Confidential, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy, Editable: r.Editable()}
}

// appProblem is one problem of a registration on the wire.
type appProblem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// appsRefused answers a registration with problems: 422 with every
// problem by field; other errors go to the error handler.
func (h *Handler) appsRefused(c echo.Context, err error) error {
	ps := apps.ProblemsOf(err)
	if ps == nil {
		return err
	}
	out := struct {
		Error     string       `json:"error"`
		Reason    string       `json:"reason"`
		Message   string       `json:"message"`
		Problems  []appProblem `json:"problems"`
		RequestID string       `json:"request_id"`
	}{Error: broker.EINVALID, Reason: broker.ErrorReason(err), Message: broker.ErrorMessage(err), RequestID: web.RequestID(c)}
	for _, p := range ps {
		out.Problems = append(out.Problems, appProblem{Field: p.Field, Reason: p.Reason})
	}
	h.Log().InfoContext(c.Request().Context(), "api app registration refused", "request_id", out.RequestID, "reason", out.Reason, "problems", len(out.Problems))
	return web.WriteJSON(c, http.StatusUnprocessableEntity, out)
}

// registry is the registry, or the 404 that says how to turn it on.
func (h *Handler) registry() (AppRegistry, error) {
	if h.cfg.Apps == nil {
		return nil, broker.Errorf(broker.ENOTFOUND, ReasonAppsOff,
			"This broker has no OpenID Provider for apps: set issuer.oidc.key in its config file to register apps.")
	}
	return h.cfg.Apps, nil
}

// shown answers with a new secret: never stored by a cache.
func shown(c echo.Context, status int, v any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(c, status, v)
}

func (h *Handler) apiApps(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	list, err := reg.List(c.Request().Context())
	if err != nil {
		return err
	}
	out := struct {
		Apps []apiApp `json:"apps"`
	}{Apps: []apiApp{}}
	for i := range list {
		out.Apps = append(out.Apps, toAPIApp(&list[i]))
	}
	return web.WriteJSON(c, http.StatusOK, out)
}

func (h *Handler) apiApp(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	r, err := reg.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return web.WriteJSON(c, http.StatusOK, map[string]apiApp{"app": toAPIApp(r)})
}

// appSaved answers a saved app with the registry's view of it and, when
// one was generated, its secret.
func (h *Handler) appSaved(c echo.Context, reg AppRegistry, status int, id, secret string) error {
	r, err := reg.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := struct {
		App    apiApp `json:"app"`
		Secret string `json:"secret,omitempty"`
	}{App: toAPIApp(r), Secret: secret}
	return shown(c, status, out)
}

// apiCreateApp: body a spec (apps.ClientSpec's JSON).
func (h *Handler) apiCreateApp(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	var in apps.ClientSpec
	if err := readJSON(c, &in); err != nil {
		return err
	}
	secret, err := reg.Create(c.Request().Context(), actor(c), in)
	if err != nil {
		return h.appsRefused(c, err)
	}
	in.Normalize()
	return h.appSaved(c, reg, http.StatusCreated, in.ID, secret)
}

// apiUpdateApp: body {"app": spec, "version": n} where n is the version
// the change was made from (as for rules).
func (h *Handler) apiUpdateApp(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	var in struct {
		App     apps.ClientSpec `json:"app"`
		Version int64           `json:"version"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	id := c.Param("id")
	if in.App.ID == "" {
		in.App.ID = id
	}
	if in.App.ID != id {
		return broker.Errorf(broker.EINVALID, "app_client_rename", "The app's id must match the URL; to change it, register the new id and delete the old app.")
	}
	secret, err := reg.Update(c.Request().Context(), actor(c), in.App, in.Version)
	if err != nil {
		return h.appsRefused(c, err)
	}
	return h.appSaved(c, reg, http.StatusOK, id, secret)
}

func (h *Handler) apiDeleteApp(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	v, err := strconv.ParseInt(c.QueryParam("version"), 10, 64)
	if err != nil || v <= 0 {
		return broker.Errorf(broker.EINVALID, "version_required", "Send ?version=N, the version you mean to delete.")
	}
	if err := reg.Delete(c.Request().Context(), actor(c), c.Param("id"), v); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiRotateAppSecret: body {"version": n}.
func (h *Handler) apiRotateAppSecret(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	var in struct {
		Version int64 `json:"version"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if in.Version <= 0 {
		return broker.Errorf(broker.EINVALID, "version_required", `Send {"version": N}, the version whose secret you mean to replace.`)
	}
	secret, err := reg.RotateSecret(c.Request().Context(), actor(c), c.Param("id"), in.Version)
	if err != nil {
		return err
	}
	return shown(c, http.StatusOK, map[string]string{"secret": secret})
}

func (h *Handler) apiExportApps(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	list, err := reg.Export(c.Request().Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []apps.Exported{}
	}
	return web.WriteJSON(c, http.StatusOK, map[string][]apps.Exported{"clients": list})
}

// apiChange is one step of an apply on the wire.
type apiChange struct {
	Op     string `json:"op"`
	ID     string `json:"id"`
	Secret string `json:"secret,omitempty"`
}

// apiApplyApps makes the registered apps exactly the body's clients
// (`broker clients apply --url`): {"clients": [...], "dry_run": bool,
// "allow_empty": bool}. No clients while some are registered is refused
// (400 app_clients_apply_empty) unless allow_empty.
func (h *Handler) apiApplyApps(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	var in struct {
		Clients    []apps.Exported `json:"clients"`
		DryRun     bool            `json:"dry_run"`
		AllowEmpty bool            `json:"allow_empty"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	changes, err := reg.Apply(c.Request().Context(), actor(c), in.Clients, in.DryRun, in.AllowEmpty)
	if err != nil && len(changes) == 0 {
		return h.appsRefused(c, err)
	}
	out := struct {
		Changes []apiChange `json:"changes"`
		// A failure part way: what was applied before it (with the new
		// secrets, else lost) and why it stopped.
		Error     string `json:"error,omitempty"`
		Reason    string `json:"reason,omitempty"`
		Message   string `json:"message,omitempty"`
		RequestID string `json:"request_id,omitempty"`
	}{Changes: []apiChange{}}
	for _, ch := range changes {
		out.Changes = append(out.Changes, apiChange{Op: ch.Op, ID: ch.ID, Secret: ch.Secret})
	}
	status := http.StatusOK
	if err != nil {
		code := broker.ErrorCode(err)
		status, out.Error, out.Reason, out.Message, out.RequestID = web.StatusOf(code), code, broker.ErrorReason(err), broker.ErrorMessage(err), web.RequestID(c)
		h.Log().WarnContext(c.Request().Context(), "api apps apply stopped part way", "request_id", out.RequestID,
			"applied", len(changes), "reason", out.Reason, "err", err)
	}
	return shown(c, status, out)
}
