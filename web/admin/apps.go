package admin

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
)

// Apps that sign people in through the broker's OpenID Provider, on
// /admin/apps (apps.Registry checks, versions and audits every change):
//
//	GET  /admin/apps                  the list: config-file and built-in apps read-only, registered ones editable
//	GET  /admin/apps/new              the form of a new app
//	POST /admin/apps/new              register ──> the secret page (confidential: the secret, once) or the list
//	GET  /admin/apps/ID               the form filled with the app (read-only for an app of the config file)
//	POST /admin/apps/ID               save at the form's version; stale: the page says so and shows the current
//	POST /admin/apps/ID/secret        asks first; with confirm=1 a new secret ──> the secret page
//	POST /admin/apps/ID/delete        asks first; with confirm=1 ──> the list
//
// Every POST carries the CSRF token and a recent sign-in (the guard
// checks both). A form's "Add condition" (op=add-row) re-renders it with
// another condition row, so the page works without JavaScript.

// AppRegistry is the registry of apps (apps.Registry).
type AppRegistry interface {
	List(ctx context.Context) ([]apps.Registered, error)
	Get(ctx context.Context, id string) (*apps.Registered, error)
	Create(ctx context.Context, who broker.Actor, spec apps.ClientSpec) (string, error)
	Update(ctx context.Context, who broker.Actor, spec apps.ClientSpec, version int64) (string, error)
	RotateSecret(ctx context.Context, who broker.Actor, id string, version int64) (string, error)
	Delete(ctx context.Context, who broker.Actor, id string, version int64) error
}

var _ AppRegistry = (*apps.Registry)(nil)

type appsPage struct {
	Apps  []appRow
	Flash string
	// Confirm asks before a rotation or a delete (nil: no question).
	Confirm *appConfirm
}

type appRow struct {
	apps.Registered
	RedirectURIs []string
}

// SourceLabel is the source in plain words.
func (r appRow) SourceLabel() string { return sourceLabel(r.Source) }

func sourceLabel(s string) string {
	switch s {
	case apps.SourceConfig:
		return "config file"
	case apps.SourceBuiltIn:
		return "built-in"
	}
	return "registered"
}

type appConfirm struct {
	Action, Question, Note, Verb string
	Version                      int64
}

type appEditPage struct {
	New      bool
	ReadOnly bool
	Source   string
	Problem  string
	Form     appForm
	Errs     fieldErrors
	Ops      []struct{ Value, Label string }
	// Current is the stored app's version and who changed it last (edit).
	UpdatedBy string
}

// Err returns the messages for a form field.
func (p appEditPage) Err(field string) []string { return p.Errs[field] }

type appSecretPage struct {
	ID, Name, Secret, Verb string
}

// registry is the registry, or the 404 that says how to turn it on.
func (h *Handler) registry() (AppRegistry, error) {
	if h.cfg.Apps == nil {
		return nil, broker.Errorf(broker.ENOTFOUND, "apps_provider_off",
			"This broker has no OpenID Provider for apps: set issuer.oidc.key in its config file to register apps.")
	}
	return h.cfg.Apps, nil
}

func (h *Handler) adminApps(c echo.Context) error {
	return h.renderApps(c, http.StatusOK, appsPage{Flash: h.adminFlash(c)})
}

func (h *Handler) renderApps(c echo.Context, status int, p appsPage) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	list, err := reg.List(c.Request().Context())
	if err != nil {
		return err
	}
	for _, r := range list {
		p.Apps = append(p.Apps, appRow{Registered: r, RedirectURIs: r.Spec.RedirectURIs})
	}
	return h.renderAdmin(c, status, "admin_apps.html", h.adminPage(c, "Apps", "apps", p))
}

func (h *Handler) adminAppNew(c echo.Context) error {
	if _, err := h.registry(); err != nil {
		return err
	}
	return h.renderAppEdit(c, http.StatusOK, appEditPage{New: true, Form: newAppForm()})
}

func (h *Handler) renderAppEdit(c echo.Context, status int, p appEditPage) error {
	p.Ops = condOps
	title := "Register an app"
	if !p.New {
		title = "App " + p.Form.ID
	}
	return h.renderAdmin(c, status, "admin_app_edit.html", h.adminPage(c, title, "apps", p))
}

func (h *Handler) adminAppEdit(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	r, err := reg.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return h.renderAppEdit(c, http.StatusOK, editPageOf(r))
}

func editPageOf(r *apps.Registered) appEditPage {
	return appEditPage{Form: appFormFromSpec(r.Spec, r.Version), ReadOnly: !r.Editable(), Source: sourceLabel(r.Source), UpdatedBy: r.UpdatedBy}
}

// adminAppSubmit registers (/admin/apps/new) or saves (/admin/apps/ID) an app.
func (h *Handler) adminAppSubmit(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	isNew := c.Param("id") == ""
	p := appEditPage{New: isNew, Form: appFormFromRequest(c.Request()), Errs: fieldErrors{}, Source: sourceLabel(apps.SourceAdmin)}
	if !isNew {
		p.Form.ID = c.Param("id")
		cur, err := reg.Get(ctx, p.Form.ID)
		if err != nil {
			return err
		}
		if !cur.Editable() {
			p := editPageOf(cur)
			p.Problem = "Nothing was saved: this app is managed in the config file."
			return h.renderAppEdit(c, http.StatusConflict, p)
		}
	}
	if c.Request().PostFormValue("op") == "add-row" {
		p.Form.Rows = append(p.Form.Rows, condRow{Op: "equals"})
		return h.renderAppEdit(c, http.StatusOK, p)
	}
	spec, fe := p.Form.toSpec()
	if len(fe) > 0 {
		p.Errs, p.Problem = fe, "The app has problems; nothing was saved. See the fields marked below."
		return h.renderAppEdit(c, http.StatusBadRequest, p)
	}
	var secret string
	if isNew {
		secret, err = reg.Create(ctx, actor(c), spec)
	} else {
		secret, err = reg.Update(ctx, actor(c), spec, p.Form.Version)
	}
	switch {
	case err == nil && secret != "" && isNew:
		return h.renderSecret(c, http.StatusCreated, spec, secret, "registered")
	case err == nil && secret != "":
		return h.renderSecret(c, http.StatusOK, spec, secret, "confidential") // it was public
	case err == nil:
		return h.flashRedirect(c, fmt.Sprintf("Saved app %s.", spec.ID), "/admin/apps")
	case apps.ProblemsOf(err) != nil:
		appProblemFields(apps.ProblemsOf(err), p.Errs, p.Form.rowIdx)
		p.Problem = "The app has problems; nothing was saved. See the fields marked below."
		p.Form.Rows = withBlankRow(p.Form.Rows)
		return h.renderAppEdit(c, http.StatusUnprocessableEntity, p)
	case !isNew && broker.ErrorCode(err) == broker.ECONFLICT:
		return h.staleApp(c, reg, p.Form.ID, p.Form.Version, err)
	case broker.ErrorCode(err) == broker.ECONFLICT:
		p.Errs.add("id", broker.ErrorMessage(err))
		p.Problem = broker.ErrorMessage(err)
		return h.renderAppEdit(c, http.StatusConflict, p)
	}
	return err
}

// staleApp answers a save from an old version: the page says someone
// changed the app and shows it as it is now.
func (h *Handler) staleApp(c echo.Context, reg AppRegistry, id string, version int64, err error) error {
	cur, gerr := reg.Get(c.Request().Context(), id)
	if gerr != nil || cur.Version == version {
		return err
	}
	p := editPageOf(cur)
	by := ""
	if cur.UpdatedBy != "" {
		by = " by " + cur.UpdatedBy
	}
	p.Problem = fmt.Sprintf("Someone else changed this app since you opened it (now version %d%s); nothing was saved. "+
		"Below is the app as it is now: make your change again and save.", cur.Version, by)
	return h.renderAppEdit(c, http.StatusConflict, p)
}

// renderSecret shows a new secret, once: in this response only (no
// redirect: it would have to carry the secret in a URL or a cookie),
// never stored by a cache.
func (h *Handler) renderSecret(c echo.Context, status int, spec apps.ClientSpec, secret, verb string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	name := spec.Name
	if name == "" {
		name = spec.ID
	}
	p := appSecretPage{ID: spec.ID, Name: name, Secret: secret, Verb: verb}
	return h.renderAdmin(c, status, "admin_app_secret.html", h.adminPage(c, "Secret of app "+spec.ID, "apps", p))
}

func (h *Handler) adminAppRotate(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	id := c.Param("id")
	cur, err := reg.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !confirmed(c) {
		return h.renderApps(c, http.StatusOK, appsPage{Confirm: &appConfirm{Action: "/admin/apps/" + id + "/secret", Version: formVersion(c),
			Question: "Give app " + id + " a new secret?", Verb: "Replace the secret",
			Note: "The current secret stops working at once: the app cannot sign anyone in until it is configured with the new one. Tokens it already holds stay valid until they expire."}})
	}
	secret, err := reg.RotateSecret(c.Request().Context(), actor(c), id, formVersion(c))
	if err != nil {
		return err
	}
	return h.renderSecret(c, http.StatusOK, cur.Spec, secret, "replaced")
}

func (h *Handler) adminAppDelete(c echo.Context) error {
	reg, err := h.registry()
	if err != nil {
		return err
	}
	id := c.Param("id")
	if _, err := reg.Get(c.Request().Context(), id); err != nil {
		return err
	}
	if !confirmed(c) {
		return h.renderApps(c, http.StatusOK, appsPage{Confirm: &appConfirm{Action: "/admin/apps/" + id + "/delete", Version: formVersion(c),
			Question: "Delete app " + id + "?", Verb: "Delete app " + id,
			Note: "It can no longer sign anyone in, every token it holds is revoked and people's consents to it are forgotten."}})
	}
	if err := reg.Delete(c.Request().Context(), actor(c), id, formVersion(c)); err != nil {
		return err
	}
	return h.flashRedirect(c, "Deleted app "+id+"; its tokens are revoked.", "/admin/apps")
}
