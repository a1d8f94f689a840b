package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

//go:embed templates static
var assets embed.FS

func parseTemplates() (*template.Template, error) {
	funcs := template.FuncMap{
		"duration": HumanDuration,
		"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"inc":      func(i int) int { return i + 1 },
		"dec":      func(i int) int { return i - 1 },
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

// Page is what the layout of every page needs; audiences embed it in their
// own page types.
type Page struct {
	Title       string
	AppTitle    string
	Status      int
	Error       string
	RequestID   string
	SignInAgain bool
	SignedIn    bool
	IsAdmin     bool
	User        string
	CSRF        string
	Flash       string
	Destination string
	Message     string
	Refresh     string // same-site URL the page moves on to
}

// Page starts the data of a page.
func (f *Frame) Page(c echo.Context, title string) Page {
	return Page{Title: title, AppTitle: f.cfg.Title, RequestID: RequestID(c)}
}

// Render executes a template into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func (f *Frame) Render(c echo.Context, status int, name string, data any) error {
	if err, down := c.Get(ctxStoreDown).(error); down && name != "error.html" {
		// The person's session could not be read: whatever page the
		// handler chose for "not signed in" would be a lie (503 instead).
		f.handleError(err, c)
		return nil
	}
	var buf bytes.Buffer
	if err := f.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// Fragment executes the named template (a piece of a page, e.g. one
// card of a long list) into HTML that a page can hold as a value: pages
// that repeat a piece many times render it once and reuse it.
func (f *Frame) Fragment(name string, data any) (template.HTML, error) {
	var b strings.Builder
	if err := f.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // html/template escaped it in context
}

// HumanDuration writes d as "1 h 30 min".
func HumanDuration(d time.Duration) string {
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

// ShortDuration writes 4h, 90m or 1h30m rather than 4h0m0s.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
