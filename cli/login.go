package cli

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
)

// LoginOptions says how `broker login` signs the person in.
type LoginOptions struct {
	// Device uses the device authorization grant (RFC 8628) instead of
	// the browser and a loopback redirect.
	Device bool
	// NoBrowser prints the sign-in URL instead of opening a browser.
	NoBrowser bool
	// Out gets the URL or the device code to show the person (stderr).
	Out io.Writer
	// OpenBrowser opens a URL; nil is OpenBrowser.
	OpenBrowser func(string) error
	// Timeout bounds the whole sign-in; 0 is 5 minutes.
	Timeout time.Duration
}

// Account is who signed in.
type Account struct {
	URL, Subject, Email, Name string
}

// loginTimeout bounds a sign-in the person has to complete.
const loginTimeout = 5 * time.Minute

// Login signs the person in at the broker (browser or device flow),
// verifies the ID token and saves the tokens (0600) and the URL as the
// default. Errors: EUNAVAILABLE ReasonUnreachable; EUNAUTHORIZED
// ReasonLoginFailed (the broker or the person refused),
// ReasonStateMismatch, ReasonIDTokenInvalid; EEXPIRED ReasonLoginTimeout;
// ctx's error when interrupted.
func (c *Client) Login(ctx context.Context, o LoginOptions) (*Account, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.OpenBrowser == nil {
		o.OpenBrowser = OpenBrowser
	}
	if o.Timeout == 0 {
		o.Timeout = loginTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	octx := c.oauthContext(ctx)
	prov, err := gooidc.NewProvider(octx, c.url)
	if err != nil {
		return nil, errUnreachable(c.url, err)
	}
	var endpoints struct {
		Revocation string `json:"revocation_endpoint"`
	}
	_ = prov.Claims(&endpoints)
	conf := &oauth2.Config{ClientID: ClientID, Endpoint: prov.Endpoint(), Scopes: Scopes}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams

	var tok *oauth2.Token
	var nonce string
	if o.Device {
		tok, err = c.deviceFlow(octx, conf, o)
	} else {
		tok, nonce, err = c.browserFlow(octx, conf, o)
	}
	if err != nil {
		return nil, loginError(ctx, err)
	}
	acct, err := c.verifyIDToken(octx, prov, tok, nonce)
	if err != nil {
		return nil, err
	}
	t := &tokenFile{URL: c.url, Subject: acct.Subject, Email: acct.Email, Name: acct.Name,
		TokenURL: conf.Endpoint.TokenURL, RevocationURL: endpoints.Revocation,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	if err := c.saveTokens(t); err != nil {
		return nil, err
	}
	// A new sign-in (maybe another person): credentials cached for the
	// previous one are not theirs to reuse.
	_ = c.dropCache()
	if err := saveDefaultURL(c.dir, c.url); err != nil {
		return nil, err
	}
	return acct, nil
}

// loginError turns a timeout or an OAuth error into words.
func loginError(ctx context.Context, err error) error {
	var be *broker.Error
	if errors.As(err, &be) {
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return broker.Wrap(err, broker.EEXPIRED, ReasonLoginTimeout, "Nobody completed the sign-in in time: run `broker login` again.")
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := "The broker refused the sign-in (" + re.ErrorCode + ")"
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		return broker.Wrap(err, broker.EUNAUTHORIZED, ReasonLoginFailed, msg+".")
	}
	return broker.Wrap(err, broker.EUNAVAILABLE, ReasonUnreachable, "The sign-in could not reach the broker: try again.")
}

func (c *Client) verifyIDToken(ctx context.Context, prov *gooidc.Provider, tok *oauth2.Token, nonce string) (*Account, error) {
	raw, _ := tok.Extra("id_token").(string)
	bad := func(err error) error {
		return broker.Wrap(err, broker.EUNAUTHORIZED, ReasonIDTokenInvalid, "The broker's answer to the sign-in did not verify; nothing was saved. Try again, and tell the broker's administrator if it persists.")
	}
	if raw == "" {
		return nil, bad(errors.New("cli: no id_token"))
	}
	idt, err := prov.Verifier(&gooidc.Config{ClientID: ClientID, Now: c.now}).Verify(ctx, raw)
	if err != nil {
		return nil, bad(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, bad(errors.New("cli: nonce mismatch"))
	}
	var claims struct{ Email, Name string }
	_ = idt.Claims(&claims)
	return &Account{URL: c.url, Subject: idt.Subject, Email: claims.Email, Name: claims.Name}, nil
}

// deviceFlow: RFC 8628. The person approves the code on any device.
func (c *Client) deviceFlow(ctx context.Context, conf *oauth2.Config, o LoginOptions) (*oauth2.Token, error) {
	if conf.Endpoint.DeviceAuthURL == "" {
		return nil, broker.Errorf(broker.EINVALID, ReasonLoginFailed, "The broker at %s does not offer device sign-in: run `broker login` without --device on a machine with a browser.", c.url)
	}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "To sign in, open %s in a browser and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(o.Out, "(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(o.Out, "Waiting for you to approve...")
	return conf.DeviceAccessToken(ctx, da)
}

// callbackPage is what the browser shows after the loopback redirect.
var callbackPage = template.Must(template.New("cb").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>broker</title></head>
<body><h1>{{.Title}}</h1><p>{{.Text}}</p><p>You can close this tab.</p></body></html>
`))

type callbackResult struct {
	tok *oauth2.Token
	err error
}

// browserFlow: authorization code + PKCE S256 with a loopback redirect on
// a free port (RFC 8252). One request to /callback is served; its state
// must be ours; then the listener closes.
func (c *Client) browserFlow(ctx context.Context, conf *oauth2.Config, o LoginOptions) (*oauth2.Token, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("cli: loopback listener: %w", err)
	}
	conf.RedirectURL = fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce))

	done := make(chan callbackResult, 1)
	var served atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		if !served.CompareAndSwap(false, true) { // one request only
			http.Error(w, "This sign-in is over.", http.StatusGone)
			return
		}
		res := c.callback(ctx, conf, r, state, verifier)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := struct{ Title, Text string }{"Signed in", "The broker command line is signed in."}
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			page = struct{ Title, Text string }{"Sign-in failed", Describe(res.err)}
		}
		_ = callbackPage.Execute(w, page)
		done <- res
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if o.NoBrowser {
		fmt.Fprintf(o.Out, "Open this URL in a browser on this machine to sign in:\n%s\n", authURL)
	} else if err := o.OpenBrowser(authURL); err != nil {
		fmt.Fprintf(o.Out, "Could not open a browser (%v). Open this URL on this machine to sign in:\n%s\n", err, authURL)
	} else {
		fmt.Fprintf(o.Out, "Your browser was opened to sign in. If it was not, open:\n%s\n", authURL)
	}
	select {
	case res := <-done:
		return res.tok, nonce, res.err
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
}

// callback checks the redirect's state and error, then redeems the code
// with the PKCE verifier.
func (c *Client) callback(ctx context.Context, conf *oauth2.Config, r *http.Request, state, verifier string) callbackResult {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return callbackResult{err: broker.Errorf(broker.EUNAUTHORIZED, ReasonStateMismatch,
			"This sign-in answer was not for this `broker login` (state mismatch); nothing was saved. Run `broker login` again.")}
	}
	if e := q.Get("error"); e != "" {
		msg := "The broker refused the sign-in (" + e + ")"
		if d := q.Get("error_description"); d != "" {
			msg += ": " + d
		}
		return callbackResult{err: broker.Errorf(broker.EUNAUTHORIZED, ReasonLoginFailed, "%s.", msg)}
	}
	if q.Get("code") == "" {
		return callbackResult{err: broker.Errorf(broker.EUNAUTHORIZED, ReasonLoginFailed, "The sign-in answer has no code: run `broker login` again.")}
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return callbackResult{err: loginError(ctx, err)}
	}
	return callbackResult{tok: tok}
}
