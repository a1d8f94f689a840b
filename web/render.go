package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

//go:embed templates static
var assets embed.FS

func parseTemplates() (*template.Template, error) {
	funcs := template.FuncMap{
		"duration": humanDuration,
		"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"inc":      func(i int) int { return i + 1 },
	}
	return template.New("").Funcs(funcs).ParseFS(assets, "templates/*.html")
}

func staticHandler() echo.HandlerFunc {
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err)
	}
	h := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// pageData is what every template receives.
type pageData struct {
	Title       string
	AppTitle    string
	Status      int
	Error       string
	Reason      string
	RequestID   string
	SignInAgain bool
	SignedIn    bool
	IsAdmin     bool
	User        string
	CSRF        string
	Flash       string
	Providers   []providerView
	Accounts    []accountView
	Destination string
	Message     string
	Refresh     string // same-site URL the page moves on to
}

type providerView struct {
	ID, Label, LoginURL string
	Ready               bool
}

type accountView struct {
	ID, Label string
	Roles     []roleView
}

type roleView struct {
	Key, Label, Description, RoleName, RoleARN, Mode string
	Duration, ConsoleDuration                        time.Duration
}

func (s *Server) page(c echo.Context, title string) pageData {
	return pageData{Title: title, AppTitle: s.cfg.Title, RequestID: requestIDOf(c)}
}

// render executes a template into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func (s *Server) render(c echo.Context, status int, name string, data pageData) error {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

func humanDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h > 0 && m > 0:
		return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
	case h > 0:
		return strconv.Itoa(h) + " h"
	default:
		return strconv.Itoa(int(d.Minutes())) + " min"
	}
}
