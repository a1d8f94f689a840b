package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/user"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store/sqlstore"
)

// rulesFile is what `broker rules export` writes and `apply` reads: the
// same accounts and rules sections as the config file.
type rulesFile struct {
	Accounts []mapping.Account `yaml:"accounts,omitempty"`
	Rules    []mapping.Rule    `yaml:"rules"`
}

const rulesUsage = `Usage:
  broker rules export (--config FILE | --url URL) [-o OUT]
               write the rules (and accounts) in force as YAML
  broker rules apply  (--config FILE | --url URL) -f RULES [--dry-run] [--allow-empty]
               make the rules exactly RULES (and the accounts, with --config, if the file has them);
               a file with no rules removes every rule, and needs --allow-empty
  --config works on the store directly; --url goes through a running broker's
  /api/v1 with the admin API token in $BROKER_TOKEN.
`

// rulesTarget is where `broker rules` reads and writes: the store named by
// a config file, or a running broker's API.
type rulesTarget interface {
	// current returns the revision, rules and accounts in force.
	current(ctx context.Context) (int64, []mapping.Rule, []mapping.Account, error)
	// check compiles rules with accounts (nil: the current ones) and
	// returns every problem; it changes nothing.
	check(ctx context.Context, rules []mapping.Rule, accounts []mapping.Account) error
	// apply makes the rules (and accounts, if not nil) exactly these, if
	// the rules are still at revision (else ECONFLICT, nothing applied);
	// no rules at all is refused (ruleset.ReasonRulesEmpty) unless allowEmpty.
	apply(ctx context.Context, revision int64, rules []mapping.Rule, accounts []mapping.Account, allowEmpty bool) (int64, error)
	close()
}

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, err := subcommand("rules", args, []string{"export", "apply"}, rulesUsage, stdout, stderr)
	if err != nil {
		return err
	}
	a, path, url, err := exportApplyFlags("rules", sub, "rules", "a file with no rules removes every rule (refused without this)", args[1:], stderr)
	if err != nil {
		return err
	}
	var target rulesTarget
	if path != "" {
		target, err = openStoreTarget(ctx, path, stderr)
	} else {
		target, err = newAPITarget(url, os.Getenv("BROKER_TOKEN"))
	}
	if err != nil {
		return err
	}
	defer target.close()
	return rulesOn(ctx, target, a, stdout, stderr)
}

// exportApplyFlags parses the flags `broker rules` and `broker clients`
// share: exactly one target (--config FILE or --url URL), then -o for
// export, or -f, --dry-run and --allow-empty for apply. what names the
// file's contents ("rules", "clients") in the help.
func exportApplyFlags(cmd, sub, what, allowEmptyHelp string, args []string, stderr io.Writer) (rulesArgs, string, string, error) {
	a := rulesArgs{sub: sub}
	fs := newFlagSet(cmd+" "+sub, stderr)
	path := fs.String("config", "", "config `FILE` (YAML): work on its store directly")
	url := fs.String("url", "", "a running broker's `URL`: work through its API (token in $BROKER_TOKEN)")
	if sub == "export" {
		fs.StringVar(&a.out, "o", "", "write to this `FILE` instead of stdout")
	} else {
		fs.StringVar(&a.in, "f", "", "the "+what+" `FILE` (- for stdin)")
		fs.BoolVar(&a.dry, "dry-run", false, "check and show what would change, change nothing")
		fs.BoolVar(&a.allowEmpty, "allow-empty", false, allowEmptyHelp)
	}
	if err := parseFlags(fs, args); err != nil {
		return a, "", "", err
	}
	if (*path == "") == (*url == "") {
		fmt.Fprintf(stderr, "broker %s %s: give exactly one of --config or --url\n", cmd, sub)
		return a, "", "", usageError{"need --config or --url"}
	}
	return a, *path, *url, nil
}

// rulesArgs are the flags of `broker rules` past the target.
type rulesArgs struct {
	sub, out, in    string
	dry, allowEmpty bool
}

// rulesOn runs `broker rules export|apply` on an open target.
func rulesOn(ctx context.Context, target rulesTarget, a rulesArgs, stdout, stderr io.Writer) error {
	rev, curRules, curAccounts, err := target.current(ctx)
	if err != nil {
		return err
	}
	if a.sub == "export" {
		b, err := mapping.MarshalYAML(rulesFile{Accounts: curAccounts, Rules: curRules})
		if err != nil {
			return err
		}
		header := fmt.Sprintf("# broker rules export: revision %d, %d rule(s)\n", rev, len(curRules))
		if a.out == "" {
			_, err = io.WriteString(stdout, header+string(b))
			return err
		}
		if err := os.WriteFile(a.out, []byte(header+string(b)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d rule(s), revision %d, to %s\n", len(curRules), rev, a.out)
		return nil
	}

	if a.in == "" {
		fmt.Fprintln(stderr, "broker rules apply: -f FILE is required")
		return usageError{"missing -f"}
	}
	var raw []byte
	if a.in == "-" {
		raw, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	} else {
		raw, err = os.ReadFile(a.in)
	}
	if err != nil {
		return err
	}
	var f rulesFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", a.in, err)
	}
	if err := target.check(ctx, f.Rules, f.Accounts); err != nil {
		if ps := ruleset.ProblemsOf(err); ps != nil {
			for _, p := range ps {
				fmt.Fprintf(stderr, "%s: rules[%d].%s: %s\n", a.in, p.Index, p.Field, p.Reason)
			}
			return fmt.Errorf("%s: %d problem(s); nothing applied", a.in, len(ps))
		}
		return err
	}
	summary := diffRules(curRules, f.Rules)
	for _, l := range summary {
		fmt.Fprintln(stdout, l)
	}
	if len(summary) == 0 {
		fmt.Fprintln(stdout, "rules: no change")
	}
	if f.Accounts != nil {
		accts := diffAccounts(curAccounts, f.Accounts)
		for _, l := range accts {
			fmt.Fprintln(stdout, l)
		}
		if len(accts) == 0 {
			fmt.Fprintln(stdout, "accounts: no change")
		}
	}
	if a.dry {
		fmt.Fprintln(stdout, "dry run: nothing applied")
		return nil
	}
	// The target refuses the change if the rules moved since current.
	newRev, err := target.apply(ctx, rev, f.Rules, f.Accounts, a.allowEmpty)
	if broker.ErrorReason(err) == ruleset.ReasonRulesEmpty {
		return fmt.Errorf("%s has no rules: applying it would remove every rule; nothing applied (add --allow-empty if that is what you mean)", a.in)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d rule(s); revision %d (running brokers pick it up within a second)\n", len(f.Rules), newRev)
	return nil
}

// storeTarget works on the store directly, through the rule-administration
// service: the same checks, revision check, history and audit event as
// the admin UI, as the actor cli:USER.
type storeTarget struct {
	db    *sqlstore.DB
	admin *ruleset.Admin
	who   ruleset.Actor
}

func openStoreTarget(ctx context.Context, path string, stderr io.Writer) (*storeTarget, error) {
	cfg, _, err := loadConfig(path, stderr)
	if err != nil {
		return nil, err
	}
	db, err := app.OpenStore(ctx, cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	admin, err := ruleset.NewAdmin(ruleset.AdminConfig{Store: db, Options: cfg.MappingOptions()})
	if err == nil {
		_, err = admin.Seed(ctx, cfg.Rules, cfg.Accounts)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &storeTarget{db: db, admin: admin, who: ruleset.CLIActor(actor())}, nil
}

func (t *storeTarget) current(ctx context.Context) (int64, []mapping.Rule, []mapping.Account, error) {
	snap, err := t.admin.Current(ctx)
	if err != nil {
		return 0, nil, nil, err
	}
	return snap.Revision, ruleset.Plain(snap.Rules), snap.Accounts, nil
}

func (t *storeTarget) check(ctx context.Context, rules []mapping.Rule, accounts []mapping.Account) error {
	ps, err := t.admin.Check(ctx, rules, accounts)
	if err != nil {
		return err
	}
	if ps != nil {
		return ps
	}
	return nil
}

// apply replaces the rules (and accounts) if the store is still at
// revision, the one current returned.
func (t *storeTarget) apply(ctx context.Context, revision int64, rules []mapping.Rule, accounts []mapping.Account, allowEmpty bool) (int64, error) {
	snap, err := t.admin.ReplaceAll(ctx, t.who, rules, accounts, revision, allowEmpty)
	if err != nil {
		return 0, err
	}
	return snap.Revision, nil
}

func (t *storeTarget) close() { t.db.Close() }

// apiTarget works through a running broker's /api/v1 with an admin token.
type apiTarget struct {
	base, token string
	hc          *http.Client
}

func newAPITarget(base, token string) (*apiTarget, error) {
	if token == "" {
		return nil, errors.New("--url needs an admin API token in $BROKER_TOKEN (create one under Admin → API tokens)")
	}
	u, err := neturl.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--url %q is not an http(s) URL", base)
	}
	if u.Scheme == "http" && !config.IsLoopback(u.Hostname()) {
		return nil, errors.New("--url must use https: the token would travel in the clear")
	}
	return &apiTarget{base: strings.TrimRight(base, "/"), token: token, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

func (t *apiTarget) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusUnprocessableEntity {
		var e struct {
			Problems []struct {
				Rule   string `json:"rule"`
				Index  int    `json:"index"`
				Field  string `json:"field"`
				Reason string `json:"reason"`
			} `json:"problems"`
		}
		if json.Unmarshal(raw, &e) == nil && len(e.Problems) > 0 {
			var ps ruleset.Problems
			for _, p := range e.Problems {
				ps = append(ps, ruleset.Problem{Rule: p.Rule, Index: p.Index, Field: p.Field, Reason: p.Reason})
			}
			return ps
		}
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error, Message, Reason string }
		_ = json.Unmarshal(raw, &e)
		if out != nil {
			// What an answer that stopped part way says was done
			// (PUT /api/v1/apps: the changes made, with new secrets).
			_ = json.Unmarshal(raw, out)
		}
		if e.Error == "" {
			return fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		// The broker's code and reason, so callers branch as on the store's.
		return broker.Wrap(fmt.Errorf("%s %s: %s", method, path, resp.Status), e.Error, e.Reason, e.Message)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

type apiRules struct {
	Revision int64             `json:"revision"`
	Rules    []mapping.Rule    `json:"rules"`
	Accounts []mapping.Account `json:"accounts"`
}

func (t *apiTarget) current(ctx context.Context) (int64, []mapping.Rule, []mapping.Account, error) {
	var r apiRules
	if err := t.call(ctx, "GET", "/api/v1/rules", nil, &r); err != nil {
		return 0, nil, nil, err
	}
	return r.Revision, r.Rules, r.Accounts, nil
}

func (t *apiTarget) check(ctx context.Context, rules []mapping.Rule, accounts []mapping.Account) error {
	if accounts != nil {
		_, _, cur, err := t.current(ctx)
		if err != nil {
			return err
		}
		if fmt.Sprint(cur) != fmt.Sprint(accounts) {
			return errors.New("the file's accounts differ from the broker's: change accounts under Admin → Accounts, or apply with --config")
		}
	}
	if rules == nil {
		rules = []mapping.Rule{}
	}
	// Simulating with candidate rules compiles them on the broker, which
	// answers every problem (422) and changes nothing.
	return t.call(ctx, "POST", "/api/v1/simulate", map[string]any{"provider": "-", "attributes": map[string][]string{}, "rules": rules}, nil)
}

func (t *apiTarget) apply(ctx context.Context, revision int64, rules []mapping.Rule, _ []mapping.Account, allowEmpty bool) (int64, error) {
	if rules == nil {
		rules = []mapping.Rule{}
	}
	var r apiRules
	body := map[string]any{"revision": revision, "rules": rules, "allow_empty": allowEmpty}
	if err := t.call(ctx, "PUT", "/api/v1/rules", body, &r); err != nil {
		return 0, err
	}
	return r.Revision, nil
}

func (t *apiTarget) close() {}

// diffRules describes what applying next over cur changes.
func diffRules(cur []mapping.Rule, next []mapping.Rule) []string {
	var out []string
	have := map[string]mapping.Rule{}
	for _, r := range cur {
		have[r.Name] = r
	}
	seen := map[string]bool{}
	for i, r := range next {
		seen[r.Name] = true
		old, ok := have[r.Name]
		switch {
		case !ok:
			out = append(out, "+ create "+r.Name)
		case string(ruleset.Encode(old)) != string(ruleset.Encode(r)):
			out = append(out, "~ update "+r.Name)
		case i >= len(cur) || cur[i].Name != r.Name:
			out = append(out, "↕ move   "+r.Name)
		}
	}
	for _, r := range cur {
		if !seen[r.Name] {
			out = append(out, "- delete "+r.Name)
		}
	}
	return out
}

// diffAccounts describes what applying next over cur changes in the
// accounts: one line per account added, changed or removed.
func diffAccounts(cur, next []mapping.Account) []string {
	name := func(a mapping.Account) string {
		s := "account " + a.ID
		if a.Alias != "" {
			s += " (" + a.Alias + ")"
		}
		return s
	}
	have := map[string]mapping.Account{}
	for _, a := range cur {
		have[a.ID] = a
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range next {
		seen[a.ID] = true
		old, ok := have[a.ID]
		switch {
		case !ok:
			out = append(out, "+ create "+name(a))
		case old != a:
			var what []string
			if old.Alias != a.Alias {
				what = append(what, fmt.Sprintf("alias %q → %q", old.Alias, a.Alias))
			}
			if old.Label != a.Label {
				what = append(what, fmt.Sprintf("label %q → %q", old.Label, a.Label))
			}
			out = append(out, "~ update account "+a.ID+": "+strings.Join(what, ", "))
		}
	}
	for _, a := range cur {
		if !seen[a.ID] {
			out = append(out, "- delete "+name(a))
		}
	}
	return out
}

func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// runMigrate applies the store's migrations and exits: for deployments
// that migrate before rolling out new instances (instances also migrate at
// start, under a lock).
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	path := fs.String("config", "", "config `FILE` (YAML): where the store is")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(stderr, "broker migrate: --config is required")
		return usageError{"missing --config"}
	}
	cfg, _, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	db, err := app.OpenStore(ctx, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s store migrated: schema version %d\n", cfg.Store.Driver, v)
	return nil
}
