package apps_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
)

// An app's access token is accepted on the broker's own API only while it
// is one the broker issued, unaltered, live and not revoked; it carries
// the app, the person and the scopes.
func TestVerifyBearer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prov, err := gooidc.NewProvider(ctx, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conf := e.oauth("web", "s3cret", "http://127.0.0.1:9999/callback", "openid", "aws:credentials")
	conf.Endpoint = prov.Endpoint()
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	verifier := oauth2.GenerateVerifier()
	back := e.authorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}

	b, err := e.p.VerifyBearer(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("VerifyBearer: %v", err)
	}
	if b.ClientID != "web" || b.Identity.Provider != "okta" || b.Identity.Subject != "alice" || !b.Allows(apps.ScopeAWSCredentials) || b.Allows(apps.ScopeAWSRoles) {
		t.Fatalf("bearer %+v", b)
	}

	// Altered (another signature), garbage, empty: refused.
	parts := strings.Split(tok.AccessToken, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	for name, raw := range map[string]string{"forged": forged, "garbage": "abc", "empty": "", "huge": strings.Repeat("a", 9000), "id token": tok.Extra("id_token").(string)} {
		if _, err := e.p.VerifyBearer(ctx, raw); broker.ErrorCode(err) != broker.EUNAUTHORIZED {
			t.Errorf("%s: %v, want EUNAUTHORIZED", name, err)
		}
	}

	// Revoked: refused at once.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %v %v", err, resp)
	}
	resp.Body.Close()
	if _, err := e.p.VerifyBearer(ctx, tok.AccessToken); broker.ErrorReason(err) != apps.ReasonBearerRevoked {
		t.Fatalf("revoked token: %v, want %s", err, apps.ReasonBearerRevoked)
	}
}
