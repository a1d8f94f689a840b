package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// adminToken stores an admin API token named name with scopes, created
// by the demo admin alice (whose latest sign-in, recorded here, is an
// admin's: a token works only while it is).
func adminToken(t *testing.T, st store.Store, name string, scopes ...string) string {
	t.Helper()
	ctx := context.Background()
	alice, err := json.Marshal(broker.Identity{Provider: "demo", Protocol: broker.ProtocolSAML, Subject: "alice",
		Attributes: map[string][]string{"groups": {"broker-admins"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordSignIn(ctx, &store.SignIn{Provider: "demo", Subject: "alice", Identity: alice}); err != nil {
		t.Fatal(err)
	}
	token := "brk_e2e-" + name + "-token"
	sum := sha256.Sum256([]byte(token))
	if err := st.CreateAPIToken(ctx, &store.APIToken{ID: name, Name: name, Hash: sum[:], CreatedBy: "demo/alice",
		CreatorProvider: "demo", CreatorSubject: "alice", Scopes: scopes, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return token
}

// TestRegisteredAppSignsIn: an admin registers a confidential app through
// the API; with the secret the API showed once, the app (go-oidc +
// x/oauth2) runs the code flow with PKCE and signs alice in. Once the
// admin deletes it, the token endpoint refuses it (its refresh token and
// its secret) and the broker no longer sends anyone to it.
func TestRegisteredAppSignsIn(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	token := adminToken(t, st.App.Store, "apps", "apps:read", "apps:write")

	var (
		mu      sync.Mutex
		pending = map[string]string{} // state -> verifier
		got     *oauth2.Token
		gotErr  error
		conf    *oauth2.Config
	)
	mux := http.NewServeMux()
	rp := httptest.NewServer(mux)
	t.Cleanup(rp.Close)

	spec := fmt.Sprintf(`{"id":"reg-app","name":"Registered app","redirect_uris":[%q],"first_party":true,
		"scopes":["openid","profile","email","groups","offline_access"]}`, rp.URL+"/callback")
	code, body := apiCall(t, "POST", st.BrokerURL+"/api/v1/apps", token, spec)
	var created struct {
		App    struct{ Version int64 }
		Secret string
	}
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil || created.Secret == "" {
		t.Fatalf("register: %d %s", code, body)
	}

	prov, err := gooidc.NewProvider(ctx, st.BrokerURL)
	if err != nil {
		t.Fatal(err)
	}
	conf = &oauth2.Config{ClientID: "reg-app", ClientSecret: created.Secret, Endpoint: prov.Endpoint(), RedirectURL: rp.URL + "/callback",
		Scopes: []string{gooidc.ScopeOpenID, "email", "offline_access"}}
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		state, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		mu.Lock()
		pending[state] = verifier
		mu.Unlock()
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusFound)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		verifier, ok := pending[r.URL.Query().Get("state")]
		got, gotErr = nil, nil
		if !ok {
			gotErr = errors.New("unknown state")
		} else {
			got, gotErr = conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(verifier))
		}
		if gotErr == nil {
			raw, _ := got.Extra("id_token").(string)
			var idt *gooidc.IDToken
			if idt, gotErr = prov.Verifier(&gooidc.Config{ClientID: "reg-app"}).Verify(r.Context(), raw); gotErr == nil {
				fmt.Fprintf(w, "signed in as %s", idt.Subject)
				return
			}
		}
		http.Error(w, gotErr.Error(), http.StatusBadRequest)
	})

	// Alice has a broker session; the app sends her to the broker and
	// gets her back signed in (first-party: no consent screen).
	b, _ := signInSP(t, st, "demo", "alice")
	p := b.get(rp.URL + "/login")
	mu.Lock()
	tok, signInErr := got, gotErr
	mu.Unlock()
	if p.Status != http.StatusOK || !strings.HasPrefix(p.Body, "signed in as demo:") || signInErr != nil || tok.RefreshToken == "" {
		t.Fatalf("sign-in through the registered app: %d at %s: %v\n%s", p.Status, p.URL, signInErr, clip(p.Body))
	}

	// Delete it: its tokens and its secret stop working at once.
	if code, body := apiCall(t, "DELETE", fmt.Sprintf("%s/api/v1/apps/reg-app?version=%d", st.BrokerURL, created.App.Version), token, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || (re.ErrorCode != "invalid_client" && re.ErrorCode != "invalid_grant") {
		t.Fatalf("refresh after delete: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", prov.Endpoint().TokenURL, strings.NewReader(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {"anything"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("reg-app", created.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tokErr struct{ Error string }
	_ = json.NewDecoder(resp.Body).Decode(&tokErr)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || tokErr.Error != "invalid_client" {
		t.Fatalf("token endpoint after delete: %d %q, want invalid_client", resp.StatusCode, tokErr.Error)
	}
	// A new sign-in stops at the broker: it does not know the app.
	p = b.get(rp.URL + "/login")
	if strings.HasPrefix(p.URL.String(), rp.URL) || p.Status == http.StatusOK {
		t.Fatalf("a deleted app still signs people in: %d at %s", p.Status, p.URL)
	}
}
