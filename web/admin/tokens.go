package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/adminauth"
)

type tokensPage struct {
	Tokens    []tokenRow
	New       string // the token just created, shown once
	Flash     string
	Problem   string
	Form      tokenForm
	Lifetimes []lifetimeOpt
	Scopes    []scopeOpt
}

// tokenRow is one token as the list shows it.
type tokenRow struct {
	admins.Token
	Expired bool
	Creator string
}

// tokenForm is what the create form holds (kept when a create is refused).
type tokenForm struct {
	Name     string
	Lifetime time.Duration
	Scopes   []string
}

type lifetimeOpt struct {
	Seconds  int64
	Label    string
	Selected bool
}

type scopeOpt struct {
	Scope   string
	Checked bool
}

// tokensPageFor builds the page: every token (expired ones marked), and
// the create form with form's choices.
func (h *Handler) tokensPageFor(c echo.Context, form tokenForm) (tokensPage, error) {
	toks, err := h.cfg.Admins.Tokens(c.Request().Context())
	if err != nil {
		return tokensPage{}, err
	}
	now := h.Now()
	p := tokensPage{Form: form}
	for _, t := range toks {
		row := tokenRow{Token: t, Expired: !now.Before(t.ExpiresAt), Creator: t.CreatedBy}
		if t.CreatorProvider != "" {
			row.Creator = t.CreatorProvider + "/" + t.CreatorSubject
		}
		p.Tokens = append(p.Tokens, row)
	}
	def, maxLife := h.cfg.Admins.Lifetimes()
	if form.Lifetime == 0 {
		form.Lifetime = def
	}
	for _, d := range lifetimeChoices(def, maxLife) {
		label := admins.FormatLifetime(d)
		switch d {
		case maxLife:
			label += " (the maximum)"
		case def:
			label += " (the default)"
		}
		p.Lifetimes = append(p.Lifetimes, lifetimeOpt{Seconds: int64(d / time.Second), Label: label, Selected: d == form.Lifetime})
	}
	for _, sc := range admins.Scopes() {
		p.Scopes = append(p.Scopes, scopeOpt{Scope: sc, Checked: slices.Contains(form.Scopes, sc)})
	}
	return p, nil
}

// lifetimeChoices: 7, 30 and 90 days, the default and the maximum, in
// order, none above the maximum.
func lifetimeChoices(def, maxLife time.Duration) []time.Duration {
	const day = 24 * time.Hour
	var out []time.Duration
	for _, d := range []time.Duration{7 * day, 30 * day, 90 * day, def, maxLife} {
		if d > 0 && d <= maxLife && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

func (h *Handler) adminTokens(c echo.Context) error {
	p, err := h.tokensPageFor(c, tokenForm{Scopes: admins.ReadOnlyScopes()})
	if err != nil {
		return err
	}
	p.Flash = h.adminFlash(c)
	return h.renderAdmin(c, http.StatusOK, "admin_tokens.html", h.adminPage(c, "API tokens", "tokens", p))
}

func (h *Handler) adminTokenCreate(c echo.Context) error {
	r := c.Request()
	a := adminauth.Of(c)
	form := tokenForm{Name: r.PostFormValue("name"), Scopes: r.PostForm["scope"]}
	var problem error
	if v := strings.TrimSpace(r.PostFormValue("lifetime")); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs <= 0 || secs > 100*365*24*3600 {
			problem = broker.Errorf(broker.EINVALID, "api_token_lifetime", "Pick one of the lifetimes offered.")
		}
		form.Lifetime = time.Duration(secs) * time.Second
	}
	var secret string
	if problem == nil {
		secret, _, problem = h.cfg.Admins.CreateToken(r.Context(), a.Actor, a.Identity, admins.TokenRequest{Name: form.Name, Lifetime: form.Lifetime, Scopes: form.Scopes})
	}
	if problem != nil {
		code := broker.ErrorCode(problem)
		if code != broker.EINVALID && code != broker.EFORBIDDEN {
			return problem
		}
		p, err := h.tokensPageFor(c, form)
		if err != nil {
			return err
		}
		p.Problem = broker.ErrorMessage(problem)
		return h.renderAdmin(c, web.StatusOf(code), "admin_tokens.html", h.adminPage(c, "API tokens", "tokens", p))
	}
	p, err := h.tokensPageFor(c, tokenForm{Scopes: admins.ReadOnlyScopes()})
	if err != nil {
		return err
	}
	// Shown once, in this response only (no redirect: it would have to
	// carry the secret in a URL or a cookie).
	p.New = secret
	return h.renderAdmin(c, http.StatusCreated, "admin_tokens.html", h.adminPage(c, "API tokens", "tokens", p))
}
