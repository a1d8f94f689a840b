package apps_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/mapping"
)

var admin = broker.Actor{ID: "okta/root", Name: "Root"}

// signIn runs the code flow for a client and returns the tokens, or the
// token endpoint's error.
func (e *env) signIn(t *testing.T, id, secret, redirect string) (*oauth2.Token, error) {
	t.Helper()
	conf := e.oauth(id, secret, redirect, "openid", "email")
	verifier := oauth2.GenerateVerifier()
	back := e.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	code := back.Query().Get("code")
	if code == "" {
		return nil, errors.New("no code: " + back.String())
	}
	return conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
}

func wantCode(t *testing.T, err error, code, reason string) {
	t.Helper()
	if broker.ErrorCode(err) != code || (reason != "" && broker.ErrorReason(err) != reason) {
		t.Fatalf("error %v (%s/%s), want %s/%s", err, broker.ErrorCode(err), broker.ErrorReason(err), code, reason)
	}
}

// An app an admin registers signs people in at once, with the secret shown
// once (the store keeps only its hash); a change, a rotated secret and a
// removal take effect on the next request; every change is audited.
func TestRegistryLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reg := e.p.Registry()
	const cb = "http://127.0.0.1:7777/cb"

	secret, err := reg.Create(ctx, admin, apps.ClientSpec{ID: "wiki", Name: " Team wiki ", RedirectURIs: []string{cb}})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) < 40 {
		t.Fatalf("secret %q: want 256 random bits", secret)
	}
	sc, err := e.st.AppClient(ctx, "wiki")
	if err != nil {
		t.Fatal(err)
	}
	if sc.SecretHash != apps.HashSecret(secret) || strings.Contains(string(sc.Spec), secret) || sc.CreatedBy != admin.ID {
		t.Fatalf("stored %+v", sc)
	}
	got, err := reg.Get(ctx, "wiki")
	if err != nil || got.Spec.Name != "Team wiki" || strings.Join(got.Spec.Scopes, " ") != "openid profile email groups" ||
		!got.Confidential || got.Source != apps.SourceAdmin || !got.Editable() || got.Version != 1 {
		t.Fatalf("Get %+v %v", got, err)
	}
	if _, err := e.signIn(t, "wiki", secret, cb); err != nil {
		t.Fatalf("a registered app signs in: %v", err)
	}
	if _, err := e.signIn(t, "wiki", "not-the-secret", cb); err == nil {
		t.Fatal("a wrong secret was accepted")
	}

	// A redirect URI change applies on the next request.
	const cb2 = "http://127.0.0.1:7778/cb"
	spec := got.Spec
	spec.RedirectURIs = []string{cb2}
	if _, err := reg.Update(ctx, admin, spec, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Update(ctx, admin, spec, 1); broker.ErrorCode(err) != broker.ECONFLICT {
		t.Fatalf("a stale version: %v, want ECONFLICT", err)
	}
	if code, loc := e.rawAuthorize(t, map[string][]string{"client_id": {"wiki"}, "redirect_uri": {cb}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge": {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr"}, "code_challenge_method": {"S256"}}); loc != nil && strings.HasPrefix(loc.String(), cb) {
		t.Fatalf("the old redirect URI still works (%d %s)", code, loc)
	}
	if _, err := e.signIn(t, "wiki", secret, cb2); err != nil {
		t.Fatalf("the new redirect URI: %v", err)
	}

	// A rotated secret replaces the old one at once.
	cur, _ := reg.Get(ctx, "wiki")
	secret2, err := reg.RotateSecret(ctx, admin, "wiki", cur.Version)
	if err != nil || secret2 == secret {
		t.Fatalf("rotate: %q %v", secret2, err)
	}
	if _, err := e.signIn(t, "wiki", secret, cb2); err == nil {
		t.Fatal("the rotated-out secret still works")
	}
	tok, err := e.signIn(t, "wiki", secret2, cb2)
	if err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	if !e.introspect(t, tok.AccessToken) {
		t.Fatal("the new token is not active")
	}

	// Removed: its tokens die and it can no longer sign anyone in.
	if err := reg.Delete(ctx, admin, "wiki", 0); err != nil {
		t.Fatal(err)
	}
	if e.introspect(t, tok.AccessToken) {
		t.Fatal("a removed app's access token is still active")
	}
	if code, _ := e.rawAuthorize(t, map[string][]string{"client_id": {"wiki"}, "redirect_uri": {cb2}, "response_type": {"code"}, "scope": {"openid"}}); code < 400 {
		t.Fatalf("a removed app's authorize request: %d", code)
	}
	wantCode(t, reg.Delete(ctx, admin, "wiki", 0), broker.ENOTFOUND, apps.ReasonClientUnknown)
	for _, ev := range []string{"app_client_created", "app_client_updated", "app_client_secret_rotated", "app_client_deleted"} {
		if e.audit.count(ev) != 1 {
			t.Errorf("%s audited %d times, want 1", ev, e.audit.count(ev))
		}
	}
}

// Bad registrations are refused field by field; apps of the config file
// cannot be taken over or changed through the registry; a public app has
// no secret.
func TestRegistryRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reg := e.p.Registry()
	_, err := reg.Create(ctx, admin, apps.ClientSpec{ID: "bad id!", RedirectURIs: []string{"http://evil.example/cb", "https://*.example.com/cb"},
		Scopes: []string{"email", "admin"}, AccessTokenLifetime: mapping.Duration(2 * 60 * 60 * 1e9),
		When: mapping.Group{Any: []mapping.Condition{{Attribute: "groups", Glob: "[oops"}}}})
	wantCode(t, err, broker.EINVALID, apps.ReasonClientInvalid)
	fields := map[string]bool{}
	for _, p := range apps.ProblemsOf(err) {
		fields[p.Field] = true
	}
	for _, f := range []string{"id", "redirect_uris[0]", "redirect_uris[1]", "scopes[1]", "scopes", "access_token_lifetime", "when.any[0].glob"} {
		if !fields[f] {
			t.Errorf("no problem at %s; got %v", f, apps.ProblemsOf(err))
		}
	}
	// "web" is configured (newEnv): neither registered over nor changed.
	_, err = reg.Create(ctx, admin, apps.ClientSpec{ID: "web", RedirectURIs: []string{"https://x.example/cb"}})
	wantCode(t, err, broker.EINVALID, apps.ReasonClientInvalid)
	_, err = reg.Update(ctx, admin, apps.ClientSpec{ID: "web", RedirectURIs: []string{"https://x.example/cb"}}, 1)
	wantCode(t, err, broker.ECONFLICT, apps.ReasonClientManaged)
	wantCode(t, reg.Delete(ctx, admin, "web", 0), broker.ECONFLICT, apps.ReasonClientManaged)
	if r, err := reg.Get(ctx, "web"); err != nil || r.Editable() || r.Source != apps.SourceConfig {
		t.Fatalf("configured app: %+v %v", r, err)
	}
	secret, err := reg.Create(ctx, admin, apps.ClientSpec{ID: "tool", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}})
	if err != nil || secret != "" {
		t.Fatalf("public app: secret %q err %v", secret, err)
	}
	_, err = reg.RotateSecret(ctx, admin, "tool", 1)
	wantCode(t, err, broker.EINVALID, apps.ReasonSecretForPublic)
	// Turning it confidential gives it a secret.
	secret, err = reg.Update(ctx, admin, apps.ClientSpec{ID: "tool", RedirectURIs: []string{"http://127.0.0.1/cb"}}, 1)
	if err != nil || secret == "" {
		t.Fatalf("public to confidential: %q %v", secret, err)
	}
	_, err = reg.Get(ctx, "nobody")
	wantCode(t, err, broker.ENOTFOUND, apps.ReasonClientUnknown)
}

// Apply makes the registered apps exactly a file's: it checks everything
// first, keeps a confidential app's secret through its hash, generates one
// for a new app that brings none, and refuses an empty file unless asked.
func TestRegistryApply(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reg := e.p.Registry()
	const cb = "http://127.0.0.1:7777/cb"
	secretA, _ := reg.Create(ctx, admin, apps.ClientSpec{ID: "a", RedirectURIs: []string{cb}})
	if _, err := reg.Create(ctx, admin, apps.ClientSpec{ID: "b", Public: true, RedirectURIs: []string{cb}}); err != nil {
		t.Fatal(err)
	}
	exp, err := reg.Export(ctx)
	if err != nil || len(exp) != 2 || exp[0].SecretSHA256 != apps.HashSecret(secretA) || exp[1].SecretSHA256 != "" {
		t.Fatalf("export %+v %v", exp, err)
	}
	// Re-applying the export changes nothing.
	plan, err := reg.Apply(ctx, admin, exp, false, false)
	if err != nil || len(plan) != 2 || plan[0].Op != "unchanged" || plan[1].Op != "unchanged" {
		t.Fatalf("re-apply: %+v %v", plan, err)
	}
	// a renamed, b dropped, c new (no hash: a secret is generated).
	want := []apps.Exported{exp[0], {ClientSpec: apps.ClientSpec{ID: "c", RedirectURIs: []string{cb}}}}
	want[0].Name = "App A"
	plan, err = reg.Apply(ctx, admin, want, true, false)
	if err != nil {
		t.Fatal(err)
	}
	ops := func(plan []apps.Change) string {
		var s []string
		for _, c := range plan {
			s = append(s, c.Op+" "+c.ID)
		}
		return strings.Join(s, ", ")
	}
	if got := ops(plan); got != "update a, create c, delete b" {
		t.Fatalf("dry run plan: %s", got)
	}
	if _, err := reg.Get(ctx, "c"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Fatal("a dry run created an app")
	}
	plan, err = reg.Apply(ctx, admin, want, false, false)
	if err != nil || ops(plan) != "update a, create c, delete b" || plan[1].Secret == "" || plan[0].Secret != "" {
		t.Fatalf("apply: %+v %v", plan, err)
	}
	if _, err := e.signIn(t, "a", secretA, cb); err != nil {
		t.Fatalf("a's secret survived apply: %v", err)
	}
	if _, err := e.signIn(t, "c", plan[1].Secret, cb); err != nil {
		t.Fatalf("c's generated secret: %v", err)
	}
	// Problems anywhere: nothing applied.
	bad := []apps.Exported{{ClientSpec: apps.ClientSpec{ID: "d", RedirectURIs: []string{cb}}}, {ClientSpec: apps.ClientSpec{ID: "web", RedirectURIs: []string{cb}}},
		{ClientSpec: apps.ClientSpec{ID: "e", Public: true, RedirectURIs: []string{cb}}, SecretSHA256: apps.HashSecret("x")}}
	_, err = reg.Apply(ctx, admin, bad, false, false)
	wantCode(t, err, broker.EINVALID, apps.ReasonClientInvalid)
	if len(apps.ProblemsOf(err)) != 2 {
		t.Errorf("problems %v", apps.ProblemsOf(err))
	}
	if _, err := reg.Get(ctx, "d"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Fatal("a refused apply created an app")
	}
	_, err = reg.Apply(ctx, admin, nil, false, false)
	wantCode(t, err, broker.EINVALID, apps.ReasonClientsApplyEmpty)
	if plan, err := reg.Apply(ctx, admin, nil, false, true); err != nil || ops(plan) != "delete a, delete c" {
		t.Fatalf("apply empty, allowed: %+v %v", plan, err)
	}
}
