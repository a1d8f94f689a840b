package devidp

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker/issuer"
)

// Client is an OAuth 2.0 client of the demo OpenID Provider.
type Client struct {
	ID           string
	Secret       string // "" for a public client (PKCE required)
	RedirectURIs []string
	// AuthMethod: client_secret_basic (default with a secret),
	// client_secret_post, or none (public).
	AuthMethod string
	// PostLogoutRedirectURIs are where the end session endpoint may send
	// the browser back to (exact match).
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI receives a logout token (POST logout_token=)
	// when an SSO session in which this client got tokens ends.
	BackchannelLogoutURI string
}

// OPConfig configures the demo OpenID Provider.
type OPConfig struct {
	BaseURL         string // the issuer, e.g. http://localhost:8082
	Users           []User
	Clients         []Client
	Signing         *rsa.PrivateKey // nil = generate
	IDTokenLifetime time.Duration   // default 1h
	RefreshTokens   bool            // issue refresh tokens for scope offline_access
	SessionLifetime time.Duration   // default 8h
	// HTTPClient sends back-channel logout tokens; default a client with
	// a 5 s timeout that follows no redirects.
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// OP is a small, strict OpenID Provider: discovery, JWKS, authorization
// code flow with PKCE (S256 only), refresh tokens with rotation, userinfo,
// a second factor (User.OTP) asked for by acr_values, max_age and
// prompt=login, RP-initiated logout and back-channel logout.
type OP struct {
	cfg     OPConfig
	issuer  string
	key     *rsa.PrivateKey
	kid     string
	signer  jose.Signer
	logoutS jose.Signer // typ logout+jwt
	hc      *http.Client
	users   *directory
	clients map[string]Client
	mux     *http.ServeMux
	pages   *template.Template
	log     *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	sessions map[string]*opSession // by cookie value
	pending  map[string]authzRequest
	otps     map[string]*otpStep
	codes    map[string]*grant
	access   map[string]*grant
	refresh  map[string]*grant
}

// authzRequest is an authorization request waiting for the login form.
type authzRequest struct {
	client, redirectURI, state, nonce, challenge, scope string
	mfa                                                 bool // acr_values named an MFA value: a second factor is required
	expires                                             time.Time
}

// grant is what a code, access token or refresh token stands for.
type grant struct {
	family                                             string // the code every token of this grant descends from
	client, user, nonce, scope, challenge, redirectURI string
	sid                                                string // the SSO session's public id
	mfa                                                bool   // signed in with the second factor
	authTime                                           time.Time
	expires                                            time.Time
	used                                               bool
}

// NewOP builds the provider.
func NewOP(cfg OPConfig) (*OP, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("devidp: OP BaseURL must be an absolute URL")
	}
	if cfg.IDTokenLifetime == 0 {
		cfg.IDTokenLifetime = time.Hour
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 8 * time.Hour
	}
	o := &OP{cfg: cfg, issuer: strings.TrimRight(cfg.BaseURL, "/"), clients: map[string]Client{}, log: cfg.Logger, now: cfg.Now,
		sessions: map[string]*opSession{}, pending: map[string]authzRequest{}, otps: map[string]*otpStep{}, codes: map[string]*grant{}, access: map[string]*grant{}, refresh: map[string]*grant{}}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	o.key = cfg.Signing
	if o.key == nil {
		kp, err := issuer.GenerateKeyPair("demo OP", time.Hour, time.Now())
		if err != nil {
			return nil, err
		}
		o.key = kp.Key
	}
	o.kid = issuer.KeyID(&o.key.PublicKey)
	if o.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: o.key, KeyID: o.kid}}, (&jose.SignerOptions{}).WithType("JWT")); err != nil {
		return nil, err
	}
	if o.logoutS, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: o.key, KeyID: o.kid}}, (&jose.SignerOptions{}).WithType("logout+jwt")); err != nil {
		return nil, err
	}
	o.hc = cfg.HTTPClient
	if o.hc == nil {
		o.hc = &http.Client{Timeout: backchannelTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.users, err = newDirectory(cfg.Users); err != nil {
		return nil, err
	}
	for _, c := range cfg.Clients {
		if c.ID == "" || len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("devidp: client %q needs an id and redirect URIs", c.ID)
		}
		for _, u := range append(append([]string(nil), c.PostLogoutRedirectURIs...), c.BackchannelLogoutURI) {
			if pu, err := url.Parse(u); u != "" && (err != nil || pu.Host == "" || pu.Fragment != "") {
				return nil, fmt.Errorf("devidp: client %q: logout URI %q must be absolute, without a fragment", c.ID, u)
			}
		}
		if c.AuthMethod == "" {
			c.AuthMethod = "client_secret_basic"
			if c.Secret == "" {
				c.AuthMethod = "none"
			}
		}
		o.clients[c.ID] = c
	}
	if o.pages, err = template.New("").Parse(pagesHTML); err != nil {
		return nil, err
	}
	if _, err = o.pages.Parse(opPagesHTML); err != nil {
		return nil, err
	}
	o.mux = http.NewServeMux()
	o.mux.HandleFunc("GET /.well-known/openid-configuration", o.serveDiscovery)
	o.mux.HandleFunc("GET /jwks", o.serveJWKS)
	o.mux.HandleFunc("GET /authorize", o.serveAuthorize)
	o.mux.HandleFunc("POST /login", o.serveLogin)
	o.mux.HandleFunc("POST /login/otp", o.serveOTP)
	o.mux.HandleFunc("POST /token", o.serveToken)
	o.mux.HandleFunc("/userinfo", o.serveUserinfo)
	o.mux.HandleFunc("POST /logout", o.serveLogout)
	o.mux.HandleFunc("GET /end-session", o.serveEndSession)
	o.mux.HandleFunc("POST /end-session", o.serveEndSession)
	o.mux.HandleFunc("GET /{$}", o.serveHome)
	return o, nil
}

// Issuer returns the issuer URL.
func (o *OP) Issuer() string { return o.issuer }

// ServeHTTP implements http.Handler.
func (o *OP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveHardened(w, r, o.mux, 64<<10)
}

func (o *OP) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                o.issuer,
		"authorization_endpoint":                o.issuer + "/authorize",
		"token_endpoint":                        o.issuer + "/token",
		"userinfo_endpoint":                     o.issuer + "/userinfo",
		"jwks_uri":                              o.issuer + "/jwks",
		"end_session_endpoint":                  o.issuer + "/end-session",
		"backchannel_logout_supported":          true,
		"backchannel_logout_session_supported":  true,
		"acr_values_supported":                  []string{ACRPassword, ACRMFA},
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"scopes_supported":                      []string{"openid", "email", "profile", "groups", "offline_access"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "acr", "amr", "email", "email_verified", "name", "preferred_username", "groups", "realm_access"},
	})
}

func (o *OP) serveJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &o.key.PublicKey, KeyID: o.kid, Algorithm: "RS256", Use: "sig"}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// opPagesHTML are the OP's own pages, on the shared "head".
const opPagesHTML = `
{{define "op-otp"}}{{template "head"}}
<p class="note">Your account has a second factor.</p>
{{if .Error}}<p class="err" role="alert" id="otp-error">{{.Error}}</p>{{end}}
<form id="otp-form" method="post" action="/login/otp">
<input type="hidden" name="login" value="{{.Login}}">
<label for="otp">One-time code{{if not .Required}} (optional){{end}}</label>
<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" {{if .Required}}required{{end}} autofocus>
<button type="submit">Continue</button>
</form></body></html>{{end}}

{{define "op-logout-confirm"}}{{template "head"}}
<p>Sign out of the demo OP?</p>
<form id="logout-confirm" method="post" action="/end-session">
<input type="hidden" name="confirm" value="yes">
{{if .ClientID}}<input type="hidden" name="client_id" value="{{.ClientID}}">{{end}}
{{if .Redirect}}<input type="hidden" name="post_logout_redirect_uri" value="{{.Redirect}}">{{end}}
{{if .State}}<input type="hidden" name="state" value="{{.State}}">{{end}}
<button type="submit">Sign out</button>
</form></body></html>{{end}}

{{define "op-signed-out"}}{{template "head"}}<p id="signed-out">You are signed out of the demo OP.</p></body></html>{{end}}
`
