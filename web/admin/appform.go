package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/web"
)

// appForm is the app editor's form, field by field. "Who may use it" is
// the rule editor's conditions (condRow, groupOf): rows, or YAML when a
// registration nests groups.
type appForm struct {
	ID, Name, Description                       string
	Public, FirstParty                          bool
	RedirectURIs, PostLogoutURIs                string // one per line
	Scopes                                      []string
	AccessLifetime, IDLifetime, RefreshLifetime string
	Device                                      string // "", "yes" or "no"
	Version                                     int64

	WhenMode, Match, When string
	Rows                  []condRow
	rowIdx                []int
}

// scopeChoice is one scope checkbox.
type scopeChoice struct {
	Scope, Hint string
	Checked     bool
}

// scopeHints say what each scope gives the app.
var scopeHints = map[string]string{
	apps.ScopeOpenID:         "required: the ID token",
	apps.ScopeProfile:        "name",
	apps.ScopeEmail:          "email address",
	apps.ScopeGroups:         "groups",
	apps.ScopeOfflineAccess:  "refresh tokens",
	apps.ScopeAWSRoles:       "the roles the rules grant",
	apps.ScopeAWSCredentials: "AWS credentials for those roles",
}

func (f appForm) ScopeChoices() []scopeChoice {
	var out []scopeChoice
	for _, sc := range apps.KnownScopes {
		out = append(out, scopeChoice{Scope: sc, Hint: scopeHints[sc], Checked: slices.Contains(f.Scopes, sc)})
	}
	return out
}

// newAppForm is the form of a new registration: a confidential
// third-party app with the default scopes.
func newAppForm() appForm {
	return appForm{Scopes: apps.DefaultScopes, WhenMode: "rows", Match: "all", Rows: withBlankRow(nil)}
}

func appFormFromSpec(s apps.ClientSpec, version int64) appForm {
	f := appForm{ID: s.ID, Name: s.Name, Description: s.Description, Public: s.Public, FirstParty: s.FirstParty,
		RedirectURIs: strings.Join(s.RedirectURIs, "\n"), PostLogoutURIs: strings.Join(s.PostLogoutRedirectURIs, "\n"),
		Scopes: s.Scopes, Version: version,
		AccessLifetime: lifetime(s.AccessTokenLifetime), IDLifetime: lifetime(s.IDTokenLifetime), RefreshLifetime: lifetime(s.RefreshTokenLifetime)}
	if s.Device != nil {
		f.Device = map[bool]string{true: "yes", false: "no"}[*s.Device]
	}
	if rows, match, ok := rowsOf(s.When); ok {
		f.WhenMode, f.Match, f.Rows = "rows", match, withBlankRow(rows)
	} else {
		f.WhenMode, f.Match, f.Rows, f.When = "yaml", "all", withBlankRow(nil), whenYAML(s.When)
	}
	return f
}

func lifetime(d mapping.Duration) string {
	if d == 0 {
		return ""
	}
	return web.ShortDuration(time.Duration(d))
}

func appFormFromRequest(r *http.Request) appForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := appForm{ID: v("id"), Name: v("name"), Description: v("description"), Public: v("public") != "", FirstParty: v("first_party") != "",
		RedirectURIs: r.PostFormValue("redirect_uris"), PostLogoutURIs: r.PostFormValue("post_logout_redirect_uris"),
		Scopes: r.PostForm["scope"], AccessLifetime: v("access_token_lifetime"), IDLifetime: v("id_token_lifetime"),
		RefreshLifetime: v("refresh_token_lifetime"), Device: v("device"),
		WhenMode: v("when_mode"), Match: v("match"), When: r.PostFormValue("when"), Rows: rowsFromRequest(r)}
	f.Version, _ = strconv.ParseInt(v("version"), 10, 64)
	if f.WhenMode != "yaml" {
		f.WhenMode = "rows"
	}
	if f.Match != "any" {
		f.Match = "all"
	}
	return f
}

// lines splits a textarea into its non-blank lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// toSpec parses the form; what cannot be parsed is a field error (the
// registry checks the rest).
func (f *appForm) toSpec() (apps.ClientSpec, fieldErrors) {
	fe := fieldErrors{}
	s := apps.ClientSpec{ID: f.ID, Name: f.Name, Description: f.Description, Public: f.Public, FirstParty: f.FirstParty,
		RedirectURIs: lines(f.RedirectURIs), PostLogoutRedirectURIs: lines(f.PostLogoutURIs), Scopes: f.Scopes}
	switch f.Device {
	case "yes", "no":
		d := f.Device == "yes"
		s.Device = &d
	}
	for field, in := range map[string]struct {
		s   string
		out *mapping.Duration
	}{"access_token_lifetime": {f.AccessLifetime, &s.AccessTokenLifetime}, "id_token_lifetime": {f.IDLifetime, &s.IDTokenLifetime},
		"refresh_token_lifetime": {f.RefreshLifetime, &s.RefreshTokenLifetime}} {
		if in.s == "" {
			continue
		}
		if err := yaml.Unmarshal([]byte(in.s), in.out); err != nil {
			fe.add(field, "Not a duration (e.g. 5m, 1h, 8h).")
		}
	}
	if f.WhenMode == "rows" {
		s.When, f.rowIdx = groupOf(f.Rows, f.Match)
	} else if strings.TrimSpace(f.When) != "" {
		if err := strictYAML(f.When, &s.When); err != nil {
			fe.add("when", "Conditions are not valid YAML: "+err.Error())
		}
	}
	return s, fe
}

// appProblemFields puts the registry's problems on the form's fields:
// "redirect_uris[1]" on redirect_uris, a condition's on its row.
func appProblemFields(ps apps.Problems, fe fieldErrors, rowIdx []int) {
	for _, p := range ps {
		if field, ok := rowField(p.Field, rowIdx); ok {
			fe.add(field, p.Reason)
			continue
		}
		field := p.Field
		if i := strings.IndexAny(field, ".["); i > 0 {
			field = field[:i]
		}
		switch field {
		case "id", "name", "description", "redirect_uris", "post_logout_redirect_uris", "scopes",
			"access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime", "when":
		default:
			field = "id" // shown at the top of the form
		}
		fe.add(field, p.Reason)
	}
}
