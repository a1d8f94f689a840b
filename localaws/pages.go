package localaws

import (
	"bytes"
	"html/template"
	"net/http"
	"sort"
)

// pageTemplates are the HTML pages. Every value is escaped by html/template;
// the only style block carries a per-response CSP nonce.
const pageTemplates = `
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">
body{font-family:system-ui,sans-serif;margin:0;color:#16191f;background:#f2f3f3}
header{background:#232f3e;color:#fff;padding:.8rem 1.5rem}header h1{font-size:1.2rem;margin:0}
header p{margin:.2rem 0 0;color:#d1d5db;font-size:.85rem}
main{max-width:52rem;margin:1.5rem auto;background:#fff;padding:1.5rem;border-radius:4px}
dl{display:grid;grid-template-columns:12rem 1fr;gap:.4rem 1rem}dt{font-weight:600}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;word-break:break-all}
.error{color:#b0084d}a{color:#0073bb}button{margin-top:1rem}
</style></head><body>
<header><h1>{{.Title}}</h1><p>Local stand-in for AWS: no real AWS account is involved.</p></header>
<main>{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "console"}}{{template "head" .}}{{with .View}}
<dl>
<dt>Account</dt><dd id="account">{{.Account}}</dd>
<dt>Role</dt><dd id="role">{{.RoleName}}</dd>
<dt>Role ARN</dt><dd id="role-arn">{{.RoleARN}}</dd>
<dt>Assumed role</dt><dd id="assumed-role-arn">{{.AssumedRoleARN}}</dd>
<dt>Session name</dt><dd id="session-name">{{.SessionName}}</dd>
{{if .SourceIdentity}}<dt>Source identity</dt><dd id="source-identity">{{.SourceIdentity}}</dd>{{end}}
<dt>Session expires</dt><dd><time id="session-expiry" datetime="{{.Expiry}}" data-expires="{{.Expiry}}" data-expires-unix="{{.ExpiryUnix}}">{{.Expiry}}</time></dd>
<dt>Destination</dt><dd id="destination">{{.Destination}}</dd>
{{if .Region}}<dt>Region</dt><dd id="region">{{.Region}}</dd>{{end}}
</dl>
{{if .Issuer}}<p><a id="issuer" href="{{.Issuer}}">Return to the portal</a></p>{{end}}
<form method="post" action="/console/signout"><button id="sign-out" type="submit">Sign out</button></form>
{{end}}{{template "foot"}}{{end}}

{{define "message"}}{{template "head" .}}{{with .View}}
<p id="message"{{if .Error}} class="error"{{end}}>{{.Message}}</p>
{{if .Issuer}}<p><a id="issuer" href="{{.Issuer}}">Return to the portal</a></p>{{end}}
{{end}}{{template "foot"}}{{end}}

{{define "index"}}{{template "head" .}}{{with .View}}
<p>Endpoints: <code>POST /</code> (STS Query API), <code>/federation</code> (getSigninToken, login),
<code>/console</code>, <code>/healthz</code>.</p>
<h2>SAML providers</h2>
<table id="saml-providers"><tr><th>ARN</th><th>IdP entityID</th></tr>
{{range .Providers}}<tr><td>{{.ARN}}</td><td>{{.EntityID}}</td></tr>{{end}}</table>
<h2>Roles</h2>
<table id="roles"><tr><th>ARN</th><th>MaxSessionDuration</th></tr>
{{range .Roles}}<tr><td>{{.ARN}}</td><td>{{.Max}}</td></tr>{{end}}</table>
{{end}}{{template "foot"}}{{end}}
`

func parsePages() (*template.Template, error) {
	return template.New("pages").Parse(pageTemplates)
}

// page is the data every template gets.
type page struct {
	Title string
	Nonce string
	View  any
}

type messageView struct {
	Title   string
	Message string
	Error   bool
	Issuer  string
}

// render writes an HTML page with the headers every page gets: no caching,
// no referrer, a strict CSP (nothing but the nonce'd style; forms only to
// this server), no framing, no sniffing.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, view any) {
	nonce, err := randToken()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	title := "AWS Management Console (local)"
	switch v := view.(type) {
	case messageView:
		title = v.Title
	case indexView:
		title = "Local AWS"
	}
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, page{Title: title, Nonce: nonce, View: view}); err != nil {
		s.log.ErrorContext(r.Context(), "localaws: render page", "page", name, "err", err, "request_id", requestIDFrom(r.Context()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageError renders an error page and logs the reason.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, status int, reason, title, msg, issuer string) {
	s.log.InfoContext(r.Context(), "localaws: page refused", "request_id", requestIDFrom(r.Context()), "reason", reason, "status", status, "path", r.URL.Path)
	s.render(w, r, status, "message", messageView{Title: title, Message: msg, Error: true, Issuer: issuer})
}

type indexView struct {
	Providers []struct{ ARN, EntityID string }
	Roles     []struct {
		ARN string
		Max int
	}
}

// renderIndex lists the registry: what a person opening the base URL sees.
func (s *Server) renderIndex(w http.ResponseWriter, r *http.Request) {
	var v indexView
	for arn, p := range s.iam.samlProviders {
		v.Providers = append(v.Providers, struct{ ARN, EntityID string }{arn, p.entityID})
	}
	for arn, rl := range s.iam.roles {
		v.Roles = append(v.Roles, struct {
			ARN string
			Max int
		}{arn, int(rl.maxSession.Seconds())})
	}
	sort.Slice(v.Providers, func(i, j int) bool { return v.Providers[i].ARN < v.Providers[j].ARN })
	sort.Slice(v.Roles, func(i, j int) bool { return v.Roles[i].ARN < v.Roles[j].ARN })
	s.render(w, r, http.StatusOK, "index", v)
}
