package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store"
)

func TestRulesExportApply(t *testing.T) {
	ctx := context.Background()
	cfg := writeConfig(t, goodConfig)
	dir := filepath.Dir(cfg)
	var out, errb bytes.Buffer

	// Export from a fresh store: the config's rules (they seed it).
	if err := run(ctx, []string{"rules", "export", "--config", cfg}, &out, &errb); err != nil {
		t.Fatalf("export: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "name: devs") || !strings.Contains(out.String(), "revision 1") {
		t.Fatalf("export:\n%s", out.String())
	}

	rules := filepath.Join(dir, "rules.yaml")
	write := func(s string) {
		if err := os.WriteFile(rules, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A rule that does not compile: nothing applied, the problem named.
	write("rules:\n  - name: bad\n    when: {all: [{attribute: g, regex: '('}]}\n    grant: {account: '111122223333', role: X}\n")
	out.Reset()
	errb.Reset()
	err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "rules[0].when.all[0].regex") {
		t.Fatalf("bad apply: %v\n%s", err, errb.String())
	}
	// A typo in a field name is refused too.
	write("rules:\n  - name: x\n    wehn: {}\n")
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb); err == nil || !strings.Contains(err.Error(), "wehn") {
		t.Fatalf("typo: %v", err)
	}

	good := "accounts:\n  - {id: '111122223333', alias: sandbox}\nrules:\n" +
		"  - name: ops\n    when: {all: [{attribute: groups, equals: ops}]}\n    grant: {account: sandbox, role: Operator}\n"
	write(good)
	out.Reset()
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules, "--dry-run"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "+ create ops") || !strings.Contains(out.String(), "- delete devs") || !strings.Contains(out.String(), "dry run") ||
		!strings.Contains(out.String(), "+ create account 111122223333 (sandbox)\n") {
		t.Fatalf("dry run:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"rules", "export", "--config", cfg}, &out, &errb); err != nil || !strings.Contains(out.String(), "name: devs") {
		t.Fatalf("dry run changed the store:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s", err, errb.String())
	}
	out.Reset()
	if err := run(ctx, []string{"rules", "export", "--config", cfg}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "name: devs") || !strings.Contains(out.String(), "role: Operator") || !strings.Contains(out.String(), "alias: sandbox") {
		t.Fatalf("after apply:\n%s", out.String())
	}
	// Applying the same file again changes nothing.
	out.Reset()
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb); err != nil || !strings.Contains(out.String(), "rules: no change\naccounts: no change\n") {
		t.Fatalf("re-apply: %v\n%s", err, out.String())
	}
	if err := run(ctx, []string{"rules"}, &out, &errb); err == nil {
		t.Fatal("rules without a subcommand succeeded")
	}
}

func TestDiffAccounts(t *testing.T) {
	cur := []mapping.Account{{ID: "111122223333", Alias: "sandbox"}, {ID: "444455556666", Alias: "prod", Label: "Production"}}
	next := []mapping.Account{{ID: "111122223333", Alias: "sbx", Label: "Sandbox"}, {ID: "777788889999"}}
	got := strings.Join(diffAccounts(cur, next), "\n")
	want := `~ update account 111122223333: alias "sandbox" → "sbx", label "" → "Sandbox"
+ create account 777788889999
- delete account 444455556666 (prod)`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if d := diffAccounts(cur, cur); len(d) != 0 {
		t.Fatalf("no change: %v", d)
	}
}

func TestMigrate(t *testing.T) {
	cfg := writeConfig(t, goodConfig)
	migrations, err := os.ReadDir("../../store/sqlstore/migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	// The schema version is the highest migration number (numbers may
	// have gaps).
	newest := 0
	for _, m := range migrations {
		if v, err := strconv.Atoi(strings.SplitN(m.Name(), "_", 2)[0]); err == nil && v > newest {
			newest = v
		}
	}
	want := fmt.Sprintf("sqlite store migrated: schema version %d", newest)
	var out, errb bytes.Buffer
	for i := 0; i < 2; i++ { // twice: idempotent
		out.Reset()
		if err := run(context.Background(), []string{"migrate", "--config", cfg}, &out, &errb); err != nil {
			t.Fatalf("migrate: %v\n%s", err, errb.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("migrate said %q", out.String())
		}
	}
	if err := run(context.Background(), []string{"migrate"}, &out, &errb); err == nil {
		t.Fatal("migrate without --config succeeded")
	}
}

// stackWithToken starts the dev stack (closed when the test ends) with an
// admin API token named cli, and returns the token.
func stackWithToken(t *testing.T) (*devstack.Stack, string) {
	t.Helper()
	st, err := devstack.Start(context.Background(), devstack.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	token := "brk_cli-test-token-0123456789"
	storeAdminToken(t, st.App.Store, "cli", token)
	return st, token
}

// storeAdminToken stores an admin API token (every scope, a day to live)
// created by the demo admin alice, and records her latest sign-in in the
// admin group: a token works only while its creator is an admin.
func storeAdminToken(t *testing.T, st store.Store, id, token string) {
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
	sum := sha256.Sum256([]byte(token))
	if err := st.CreateAPIToken(ctx, &store.APIToken{ID: id, Name: id, Hash: sum[:], CreatedBy: "demo/alice", CreatorProvider: "demo",
		CreatorSubject: "alice", Scopes: []string{"rules:read", "rules:write", "audit:read", "accounts:read"}, ExpiresAt: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// The same commands through a running broker's API, with an admin token.
func TestRulesThroughAPI(t *testing.T) {
	ctx := context.Background()
	st, token := stackWithToken(t)
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"rules", "export", "--url", st.BrokerURL}, &out, &errb); err == nil || !strings.Contains(err.Error(), "BROKER_TOKEN") {
		t.Fatalf("no token: %v", err)
	}
	t.Setenv("BROKER_TOKEN", token)
	if err := run(ctx, []string{"rules", "export", "--url", "http://broker.example.com"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("plain http to a remote host: %v", err)
	}
	if err := run(ctx, []string{"rules", "export", "--url", st.BrokerURL}, &out, &errb); err != nil {
		t.Fatalf("export: %v", err)
	}
	exported := out.String()
	if !strings.Contains(exported, "name: engineers-sandbox") || !strings.Contains(exported, "alias: production") {
		t.Fatalf("export:\n%s", exported)
	}
	// Edit the exported file: drop the accounts (they stay as they are),
	// change one rule; apply checks on the broker first.
	var f rulesFile
	if err := yaml.Unmarshal([]byte(exported), &f); err != nil {
		t.Fatal(err)
	}
	f.Accounts = nil
	f.Rules[0].Grant.Role = "ReadOnly"
	bad := f
	bad.Rules = append(append([]mapping.Rule(nil), f.Rules...), mapping.Rule{Name: "bad", When: mapping.Group{All: []mapping.Condition{{Attribute: "g", Regex: "("}}}, Grant: mapping.GrantSpec{Account: "sandbox", Role: "X"}})
	path := filepath.Join(t.TempDir(), "rules.yaml")
	write := func(v rulesFile) {
		b, _ := yaml.Marshal(v)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(bad)
	errb.Reset()
	if err := run(ctx, []string{"rules", "apply", "--url", st.BrokerURL, "-f", path}, &out, &errb); err == nil || !strings.Contains(errb.String(), "when.all[0].regex") {
		t.Fatalf("bad rules through the API: %v\n%s", err, errb.String())
	}
	write(f)
	out.Reset()
	if err := run(ctx, []string{"rules", "apply", "--url", st.BrokerURL, "-f", path}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "~ update "+f.Rules[0].Name) || !strings.Contains(out.String(), "applied") {
		t.Fatalf("apply said:\n%s", out.String())
	}
	set, _ := st.App.Store.Rules(ctx)
	if !strings.Contains(string(set.Rules[0].Rule), `"role":"ReadOnly"`) {
		t.Fatalf("the store has %s", set.Rules[0].Rule)
	}
	h, _ := st.App.Store.RuleHistory(ctx, f.Rules[0].Name)
	if h[0].Actor != "token:cli" {
		t.Fatalf("change recorded as %q", h[0].Actor)
	}
}

// openTestStore opens the store a config file names, as another process would.
func openTestStore(t *testing.T, cfgPath string) *storeTarget {
	t.Helper()
	var errb bytes.Buffer
	target, err := openStoreTarget(context.Background(), cfgPath, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	t.Cleanup(target.close)
	return target
}

func auditEvents(t *testing.T, target *storeTarget, event string) []store.AuditEvent {
	t.Helper()
	evs, err := target.db.ListAudit(context.Background(), store.AuditFilter{Event: event})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// `broker rules apply --config` goes through the rule-administration
// service: the seed and the apply each write an audit event with their
// actor; a dry run writes nothing.
func TestRulesApplyConfigAudits(t *testing.T) {
	ctx := context.Background()
	cfg := writeConfig(t, goodConfig)
	rules := filepath.Join(filepath.Dir(cfg), "rules.yaml")
	file := "rules:\n  - name: ops\n    when: {all: [{attribute: groups, equals: ops}]}\n    grant: {account: '111122223333', role: Operator}\n"
	if err := os.WriteFile(rules, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules, "--dry-run"}, &out, &errb); err != nil {
		t.Fatalf("dry run: %v\n%s", err, errb.String())
	}
	target := openTestStore(t, cfg)
	if evs := auditEvents(t, target, ruleset.EventRulesReplaced); len(evs) != 0 {
		t.Fatalf("a dry run was audited: %+v", evs)
	}
	seeds := auditEvents(t, target, ruleset.EventRulesSeeded)
	if len(seeds) != 1 || seeds[0].Subject != ruleset.SeedActor {
		t.Fatalf("seed audit %+v", seeds)
	}
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s", err, errb.String())
	}
	evs := auditEvents(t, target, ruleset.EventRulesReplaced)
	if len(evs) != 1 || evs[0].Subject != "cli:"+actor() || evs[0].Result != store.ResultSuccess || evs[0].Message != "1 rules" {
		t.Fatalf("apply audit %+v", evs)
	}
	if h, _ := target.db.RuleHistory(ctx, "ops"); len(h) != 1 || h[0].Actor != "cli:"+actor() {
		t.Fatalf("history %+v", h)
	}
	if n := len(auditEvents(t, target, ruleset.EventRulesSeeded)); n != 1 {
		t.Fatalf("the second run seeded again (%d events)", n)
	}
}

// raced is a target whose store changes between the read and the write,
// as when an admin saves a rule while `broker rules apply` runs.
type raced struct {
	rulesTarget
	between func()
}

func (r raced) apply(ctx context.Context, revision int64, rules []mapping.Rule, accounts []mapping.Account, allowEmpty bool) (int64, error) {
	r.between()
	return r.rulesTarget.apply(ctx, revision, rules, accounts, allowEmpty)
}

// `broker rules apply --config` applies only over the revision it read.
func TestRulesApplyConfigRefusesStaleRevision(t *testing.T) {
	ctx := context.Background()
	cfg := writeConfig(t, goodConfig)
	rules := filepath.Join(filepath.Dir(cfg), "rules.yaml")
	file := "rules:\n  - name: ops\n    when: {all: [{attribute: groups, equals: ops}]}\n    grant: {account: '111122223333', role: Operator}\n"
	if err := os.WriteFile(rules, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	target := openTestStore(t, cfg)
	other := openTestStore(t, cfg) // the admin UI of a running broker
	hotfix := mapping.Rule{Name: "hotfix", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "oncall"}}},
		Grant: mapping.GrantSpec{Account: "111122223333", Role: "Admin"}}
	before, _ := target.db.RulesRevision(ctx)
	var out, errb bytes.Buffer
	err := rulesOn(ctx, raced{target, func() {
		if _, err := other.admin.Create(ctx, ruleset.Actor{ID: "okta/ann"}, hotfix); err != nil {
			t.Error(err)
		}
	}}, rulesArgs{sub: "apply", in: rules}, &out, &errb)
	if broker.ErrorCode(err) != broker.ECONFLICT || strings.Contains(out.String(), "applied") {
		t.Fatalf("stale apply: %v\n%s", err, out.String())
	}
	set, _ := target.db.Rules(ctx)
	if len(set.Rules) != 2 || set.Rules[0].Name != "devs" || set.Rules[1].Name != "hotfix" || set.Revision != before+1 {
		t.Fatalf("the store after a refused apply: revision %d, %+v", set.Revision, set.Rules)
	}
	if evs := auditEvents(t, target, ruleset.EventRulesReplaced); len(evs) != 0 {
		t.Fatalf("a refused apply was audited: %+v", evs)
	}
	// Run again, it reads the new revision and applies.
	out.Reset()
	if err := rulesOn(ctx, target, rulesArgs{sub: "apply", in: rules}, &out, &errb); err != nil || !strings.Contains(out.String(), "- delete hotfix") {
		t.Fatalf("apply after reload: %v\n%s", err, out.String())
	}
}

// An empty rules file would remove every rule: refused without
// --allow-empty, by ruleset.Admin, whichever way it is applied.
func TestRulesApplyEmptyNeedsAllowEmpty(t *testing.T) {
	ctx := context.Background()
	cfg := writeConfig(t, goodConfig)
	dir := filepath.Dir(cfg)
	for name, body := range map[string]string{"empty.yaml": "", "none.yaml": "rules: []\n", "accounts-only.yaml": "accounts:\n  - {id: '111122223333', alias: sandbox}\n"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", path}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "--allow-empty") || strings.Contains(out.String(), "applied") {
			t.Fatalf("%s: %v\n%s", name, err, out.String())
		}
	}
	target := openTestStore(t, cfg)
	if set, _ := target.db.Rules(ctx); len(set.Rules) != 1 || len(auditEvents(t, target, ruleset.EventRulesReplaced)) != 0 {
		t.Fatalf("a refused empty apply changed the store: %+v", set)
	}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", filepath.Join(dir, "none.yaml"), "--allow-empty"}, &out, &errb); err != nil {
		t.Fatalf("--allow-empty: %v\n%s", err, errb.String())
	}
	if set, _ := target.db.Rules(ctx); len(set.Rules) != 0 {
		t.Fatalf("rules left after an allowed empty apply: %+v", set.Rules)
	}
	if evs := auditEvents(t, target, ruleset.EventRulesReplaced); len(evs) != 1 || evs[0].Message != "0 rules" {
		t.Fatalf("audit %+v", evs)
	}
}

// PUT /api/v1/rules with no rules needs "allow_empty": true, and
// `broker rules apply --url` sends it for --allow-empty.
func TestRulesAPIEmptyNeedsAllowEmpty(t *testing.T) {
	ctx := context.Background()
	st, token := stackWithToken(t)
	type answer struct {
		Reason string
		Rules  *[]any
	}
	put := func(body string) (int, answer) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, st.BrokerURL+"/api/v1/rules", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a answer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, a
	}
	for _, body := range []string{`{}`, `{"rules": []}`, `{"rules": null, "allow_empty": false}`} {
		if code, a := put(body); code != http.StatusBadRequest || a.Reason != ruleset.ReasonRulesEmpty {
			t.Fatalf("PUT %s: %d %+v", body, code, a)
		}
	}
	if set, _ := st.App.Store.Rules(ctx); len(set.Rules) == 0 {
		t.Fatal("a refused PUT emptied the rules")
	}

	path := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(path, []byte("rules: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROKER_TOKEN", token)
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"rules", "apply", "--url", st.BrokerURL, "-f", path}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--allow-empty") {
		t.Fatalf("empty apply through the API: %v\n%s", err, out.String())
	}
	if err := run(ctx, []string{"rules", "apply", "--url", st.BrokerURL, "-f", path, "--allow-empty"}, &out, &errb); err != nil {
		t.Fatalf("--allow-empty through the API: %v\n%s", err, errb.String())
	}
	set, _ := st.App.Store.Rules(ctx)
	if len(set.Rules) != 0 {
		t.Fatalf("rules left: %d", len(set.Rules))
	}
	if code, a := put(`{"rules": [], "allow_empty": true}`); code != http.StatusOK || a.Rules == nil || len(*a.Rules) != 0 {
		t.Fatalf("allowed empty PUT: %d %+v", code, a)
	}
	evs, _ := st.App.Store.ListAudit(ctx, store.AuditFilter{Event: ruleset.EventRulesReplaced})
	if len(evs) != 2 || evs[0].Subject != "token:cli" || evs[0].Message != "0 rules" {
		t.Fatalf("audit %+v", evs)
	}
}

// `broker rules apply --config` and the API (what --url and the admin
// tools call) record the same change the same way: the same history
// entries and one rules_replaced audit event that differ only in the
// actor and the request's own details.
func TestRulesApplyConfigRecordsWhatTheAPIRecords(t *testing.T) {
	ctx := context.Background()
	st, token := stackWithToken(t)
	t.Setenv("BROKER_TOKEN", token)
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"rules", "export", "--url", st.BrokerURL}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var before rulesFile
	if err := yaml.Unmarshal(out.Bytes(), &before); err != nil {
		t.Fatal(err)
	}
	// The change: the first rule updated, the second deleted, one created.
	after := rulesFile{Rules: append([]mapping.Rule(nil), before.Rules...)}
	after.Rules[0].Grant.Role = "ReadOnly"
	after.Rules = append(after.Rules[:1], after.Rules[2:]...)
	after.Rules = append(after.Rules, mapping.Rule{Name: "oncall", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "oncall"}}},
		Grant: mapping.GrantSpec{Account: "sandbox", Role: "Admin"}})
	dir := t.TempDir()
	files := map[string]rulesFile{"before.yaml": {Rules: before.Rules}, "after.yaml": after}
	for name, f := range files {
		b, _ := yaml.Marshal(f)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// record applies the change with args and returns what it recorded:
	// each history entry as "name action rule" and the audit event.
	record := func(args ...string) ([]string, store.AuditEvent) {
		t.Helper()
		set, _ := st.App.Store.Rules(ctx)
		last := map[string]int64{}
		for _, name := range []string{before.Rules[0].Name, before.Rules[1].Name, "oncall"} {
			if h, _ := st.App.Store.RuleHistory(ctx, name); len(h) > 0 {
				last[name] = h[0].ID
			}
		}
		if err := run(ctx, append(append([]string{"rules", "apply"}, args...), "-f", filepath.Join(dir, "after.yaml")), &out, &errb); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		var changes []string
		for name, id := range map[string]int64{before.Rules[0].Name: last[before.Rules[0].Name], before.Rules[1].Name: last[before.Rules[1].Name], "oncall": last["oncall"]} {
			h, _ := st.App.Store.RuleHistory(ctx, name)
			for _, c := range h {
				if c.ID > id {
					changes = append(changes, fmt.Sprintf("%s %s %s", c.Name, c.Action, c.Rule))
				}
			}
		}
		sort.Strings(changes)
		evs, _ := st.App.Store.ListAudit(ctx, store.AuditFilter{Event: ruleset.EventRulesReplaced, Limit: 1})
		if len(evs) != 1 {
			t.Fatalf("%v: no audit event (revision was %d)", args, set.Revision)
		}
		return changes, evs[0]
	}
	viaAPI, apiEvent := record("--url", st.BrokerURL)
	// Back to the start, then the same change through the store.
	if err := run(ctx, []string{"rules", "apply", "--config", st.ConfigPath, "-f", filepath.Join(dir, "before.yaml")}, &out, &errb); err != nil {
		t.Fatalf("revert: %v\n%s", err, errb.String())
	}
	viaConfig, cliEvent := record("--config", st.ConfigPath)

	if len(viaAPI) != 3 || fmt.Sprint(viaAPI) != fmt.Sprint(viaConfig) {
		t.Fatalf("history\n  api:    %q\n  config: %q", viaAPI, viaConfig)
	}
	if apiEvent.Subject != "token:cli" || cliEvent.Subject != "cli:"+actor() {
		t.Fatalf("actors %q and %q", apiEvent.Subject, cliEvent.Subject)
	}
	same := func(e store.AuditEvent) string {
		return fmt.Sprint(e.Event, e.Result, e.Reason, e.Message, e.Details)
	}
	if same(apiEvent) != same(cliEvent) || apiEvent.Message != fmt.Sprintf("%d rules", len(after.Rules)) {
		t.Fatalf("audit events differ:\n  api:    %+v\n  config: %+v", apiEvent, cliEvent)
	}
	for _, name := range []string{before.Rules[0].Name, "oncall"} {
		h, _ := st.App.Store.RuleHistory(ctx, name)
		if h[0].Actor != "cli:"+actor() {
			t.Fatalf("%s changed by %q", name, h[0].Actor)
		}
	}
}
