package devidp

import (
	"bytes"
	"net/http"
)

func (p *IdP) page(w http.ResponseWriter, status int, name string, data map[string]any) {
	var buf bytes.Buffer
	if err := p.pages.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.Error("devidp: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if w.Header().Get("Content-Security-Policy") == "" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// loginForm asks for the password, and the one-time code: required when
// mfa (the application asked for a second factor), optional otherwise.
func (p *IdP) loginForm(w http.ResponseWriter, status int, pendingKey, message string, mfa bool) {
	p.page(w, status, "login", map[string]any{"Req": pendingKey, "Error": message, "MFA": mfa})
}

const pagesHTML = `
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo IdP</title><style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1d1d1d}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.6rem 1.2rem}
.err{color:#b42318}.note{color:#555;font-size:.9rem}</style></head><body><h1>Demo IdP</h1>{{end}}

{{define "login"}}{{template "head"}}
<p class="note">A stand-in for your company's identity provider.</p>
{{if .Error}}<p class="err" role="alert" id="login-error">{{.Error}}</p>{{end}}
<form id="login" method="post" action="/login">
<input type="hidden" name="req" value="{{.Req}}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
{{if .MFA}}<p class="note" id="otp-required">This application asks for your one-time code too.</p>{{end}}
<label for="otp">One-time code{{if not .MFA}} <span class="note">(if your account has one)</span>{{end}}</label><input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code"{{if .MFA}} required{{end}}>
<button type="submit">Sign in</button>
</form></body></html>{{end}}

{{define "post"}}{{template "head"}}
<p>{{.Message}}</p>
<form id="saml-post" method="post" action="{{.ACS}}">
<input type="hidden" name="{{.Field}}" value="{{.Value}}">
{{if .RelayState}}<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}
<noscript><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("saml-post").submit();</script>
</body></html>{{end}}

{{define "apps"}}{{template "head"}}
<p>Signed in as <strong id="idp-user">{{.User}}</strong>.</p>
<ul id="apps">{{range .Apps}}<li><a href="{{.URL}}">{{.Label}}</a></li>{{end}}</ul>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
</body></html>{{end}}

{{define "signed-out"}}{{template "head"}}
<p id="signed-out">You are signed out.</p>
{{if .Apps}}<ul id="slo-results">{{range .Apps}}<li>{{.SP}}: {{.Result}}</li>{{end}}</ul>{{end}}
<p><a href="/">Sign in again</a></p></body></html>{{end}}

{{define "error"}}{{template "head"}}<p class="err" role="alert">{{.Message}}</p></body></html>{{end}}
`
