package devapp

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
)

// roleView is a role of the aws_roles claim on the page.
type roleView struct {
	Account, AccountLabel, Name, Label, ARN string
	// ConsoleURL is the broker's deep link that opens the role's console.
	ConsoleURL string
}

type pageData struct {
	Title            string
	Broker           string
	Name, Email, Sub string
	Groups           []string
	Roles            []roleView
	CSRF             string
	Result           *callerResult
	Error, Reason    string
	SignedIn         bool
}

// index is / : the sign-in button, or who is signed in.
func (a *App) index(w http.ResponseWriter, r *http.Request) {
	_, x := a.sessions.get(r)
	a.render(w, r, http.StatusOK, x, nil)
}

func (a *App) render(w http.ResponseWriter, r *http.Request, status int, x *session, res *callerResult) {
	d := pageData{Title: "Demo app", Broker: a.cfg.BrokerURL, Result: res}
	if x != nil {
		d.SignedIn, d.CSRF = true, x.csrf
		d.Name, d.Email, d.Sub, d.Groups = x.claims.Name, x.claims.Email, x.claims.Sub, x.claims.Groups
		for _, rl := range x.claims.Roles {
			d.Roles = append(d.Roles, a.roleView(rl))
		}
	}
	a.write(w, r, status, "index", d)
}

func (a *App) roleView(rl role) roleView {
	name := rl.RoleARN[strings.LastIndex(rl.RoleARN, "/")+1:]
	q := url.Values{"account": {rl.Account}, "role": {name}}
	return roleView{Account: rl.Account, AccountLabel: rl.AccountLabel, Name: name, Label: rl.Label, ARN: rl.RoleARN,
		ConsoleURL: strings.TrimSuffix(a.cfg.BrokerURL, "/") + "/go?" + q.Encode()}
}

// fail answers with the error page: message for the person, reason and
// cause for the log.
func (a *App) fail(w http.ResponseWriter, r *http.Request, status int, message, reason string, cause error) {
	attrs := []any{"status", status, "reason", reason, "path", r.URL.Path}
	if cause != nil {
		attrs = append(attrs, "err", cause.Error())
	}
	a.log.InfoContext(r.Context(), "devapp: request refused", attrs...)
	a.write(w, r, status, "index", pageData{Title: "Demo app", Broker: a.cfg.BrokerURL, Error: message, Reason: reason})
}

func (a *App) write(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	var buf bytes.Buffer
	if err := a.pages.ExecuteTemplate(&buf, name, d); err != nil {
		a.log.ErrorContext(r.Context(), "devapp: render", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

const pagesHTML = `{{define "index"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}
.error{color:#a00}.ok{color:#060}form.inline{display:inline}code{font-size:.9em}</style></head>
<body>
<h1>Demo app</h1>
<p>A small app that signs people in with the broker at <a href="{{.Broker}}/">{{.Broker}}</a>
(OpenID Connect: go-oidc + x/oauth2), then asks it for AWS credentials.</p>
{{if .Error}}<p class="error" id="error">{{.Error}}</p><p><a href="/">Back</a></p>{{end}}
{{if .SignedIn}}
<h2>Signed in</h2>
<dl>
<dt>Name</dt><dd id="name">{{.Name}}</dd>
<dt>Email</dt><dd id="email">{{.Email}}</dd>
<dt>Subject</dt><dd id="sub"><code>{{.Sub}}</code></dd>
<dt>Groups</dt><dd><ul id="groups">{{range .Groups}}<li>{{.}}</li>{{end}}</ul></dd>
</dl>
<h2>AWS roles the broker grants you</h2>
{{if .Roles}}<table id="roles"><tr><th>Account</th><th>Role</th><th></th><th></th></tr>
{{range .Roles}}<tr data-role-arn="{{.ARN}}"><td>{{if .AccountLabel}}{{.AccountLabel}} {{end}}<code>{{.Account}}</code></td>
<td>{{if .Label}}{{.Label}} {{end}}<code>{{.Name}}</code></td>
<td><a class="console" href="{{.ConsoleURL}}">Open console</a></td>
<td><form class="inline" method="post" action="/credentials"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="account" value="{{.Account}}"><input type="hidden" name="role" value="{{.Name}}">
<button type="submit">Get credentials</button></form></td></tr>
{{end}}</table>{{else}}<p id="roles">The broker grants you no AWS role.</p>{{end}}
<h3>Try another role</h3>
<form method="post" action="/credentials" id="other-role"><input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Account <input name="account" placeholder="ID or alias"></label> <label>Role <input name="role" placeholder="name"></label>
<button type="submit">Get credentials</button></form>
{{with .Result}}<h2 id="result-h">Credentials for {{.Role}} in {{.Account}}</h2>
{{if .Refused}}<p class="error" id="refused">Refused: {{.Refused}}{{if .RefusedReason}} (<code id="refused-reason">{{.RefusedReason}}</code>){{end}}</p>
{{else}}<p class="ok">The broker issued credentials; <code>aws sts get-caller-identity</code> with them answers:</p>
<table id="caller"><tr><th>Account</th><td id="caller-account">{{.CallerAccount}}</td></tr>
<tr><th>Arn</th><td id="caller-arn">{{.Arn}}</td></tr>
<tr><th>UserId</th><td id="caller-userid">{{.UserID}}</td></tr>
<tr><th>Access key id</th><td id="access-key-id">{{.AccessKeyID}}</td></tr>
<tr><th>Expires</th><td id="expiration">{{.Expiry}}</td></tr></table>
<p>The secret key and session token stay on the server.</p>{{end}}{{end}}
<form method="post" action="/logout" id="logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">Sign out</button></form>
{{else if not .Error}}
<form method="get" action="/login" id="signin"><button type="submit">Sign in with broker</button></form>
{{end}}
</body></html>{{end}}`
