package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store/sqlstore"
)

// clientsFile is what `broker clients export` writes and `apply` reads:
// the apps admins registered, with their secrets' hashes (not the
// secrets), so applying the file elsewhere keeps their secrets working.
type clientsFile struct {
	Clients []apps.Exported `yaml:"clients"`
}

const clientsUsage = `Usage:
  broker clients export (--config FILE | --url URL) [-o OUT]
               write the apps registered with the broker's OpenID Provider as YAML
               (apps in the config file are not included: they live there)
  broker clients apply  (--config FILE | --url URL) -f CLIENTS [--dry-run] [--allow-empty]
               make the registered apps exactly CLIENTS: create, update, delete;
               a new confidential app without secret_sha256 gets a secret, printed once;
               a file with no apps removes every registered app, and needs --allow-empty
  --config works on the store directly; --url goes through a running broker's
  /api/v1 with an admin API token (scopes apps:read, apps:write) in $BROKER_TOKEN.
`

// clientsTarget is where `broker clients` reads and writes: the store
// named by a config file, or a running broker's API.
type clientsTarget interface {
	export(ctx context.Context) ([]apps.Exported, error)
	// apply makes the registered apps exactly want (apps.Registry.Apply).
	apply(ctx context.Context, want []apps.Exported, dryRun, allowEmpty bool) ([]apps.Change, error)
	close()
}

func runClients(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, err := subcommand("clients", args, []string{"export", "apply"}, clientsUsage, stdout, stderr)
	if err != nil {
		return err
	}
	a, path, url, err := exportApplyFlags("clients", sub, "clients", "a file with no apps removes every registered app (refused without this)", args[1:], stderr)
	if err != nil {
		return err
	}
	var target clientsTarget
	if path != "" {
		target, err = openClientsStore(ctx, path, stderr)
	} else {
		var t *apiTarget
		t, err = newAPITarget(url, os.Getenv("BROKER_TOKEN"))
		target = apiClients{t}
	}
	if err != nil {
		return err
	}
	defer target.close()
	if sub == "export" {
		return exportClients(ctx, target, a, stdout, stderr)
	}
	return applyClients(ctx, target, a, stdout, stderr)
}

func exportClients(ctx context.Context, target clientsTarget, a rulesArgs, stdout, stderr io.Writer) error {
	list, err := target.export(ctx)
	if err != nil {
		return err
	}
	if list == nil {
		list = []apps.Exported{}
	}
	b, err := mapping.MarshalYAML(clientsFile{Clients: list})
	if err != nil {
		return err
	}
	text := fmt.Sprintf("# broker clients export: %d registered app(s); secret_sha256 is a hash, not the secret\n", len(list)) + string(b)
	if a.out == "" {
		_, err = io.WriteString(stdout, text)
		return err
	}
	if err := os.WriteFile(a.out, []byte(text), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d app(s) to %s\n", len(list), a.out)
	return nil
}

func applyClients(ctx context.Context, target clientsTarget, a rulesArgs, stdout, stderr io.Writer) error {
	if a.in == "" {
		fmt.Fprintln(stderr, "broker clients apply: -f FILE is required")
		return usageError{"missing -f"}
	}
	f, err := readClientsFile(a.in)
	if err != nil {
		return err
	}
	changes, err := target.apply(ctx, f.Clients, a.dry, a.allowEmpty)
	printChanges(changes, stdout, stderr)
	switch {
	case broker.ErrorReason(err) == apps.ReasonClientsApplyEmpty:
		return fmt.Errorf("%s lists no apps: applying it would remove every registered app; nothing applied (add --allow-empty if that is what you mean)", a.in)
	case err != nil && len(changes) > 0:
		return fmt.Errorf("stopped after %d change(s): %w", len(changes), err)
	case err != nil:
		if ps := clientProblems(err); ps != nil {
			for _, p := range ps {
				fmt.Fprintf(stderr, "%s: %s: %s\n", a.in, p.Field, p.Reason)
			}
			return fmt.Errorf("%s: %d problem(s); nothing applied", a.in, len(ps))
		}
		return err
	}
	if a.dry {
		fmt.Fprintln(stdout, "dry run: nothing applied")
	}
	return nil
}

// readClientsFile reads a clients file strictly (a misspelt field is an
// error, not a silently dropped setting); "-" is stdin.
func readClientsFile(path string) (*clientsFile, error) {
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	var f clientsFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// printChanges lists what apply changed (or would change) and each new
// secret, once: it is not stored anywhere but as a hash.
func printChanges(changes []apps.Change, stdout, stderr io.Writer) {
	changed := false
	for _, ch := range changes {
		switch ch.Op {
		case "create":
			fmt.Fprintln(stdout, "+ create "+ch.ID)
		case "update":
			fmt.Fprintln(stdout, "~ update "+ch.ID)
		case "delete":
			fmt.Fprintln(stdout, "- delete "+ch.ID)
		default:
			continue
		}
		changed = true
		if ch.Secret != "" {
			fmt.Fprintf(stdout, "  secret of %s: %s\n", ch.ID, ch.Secret)
			fmt.Fprintf(stderr, "store the secret of %s now: it is not shown again (the broker keeps only its hash)\n", ch.ID)
		}
	}
	if !changed {
		fmt.Fprintln(stdout, "clients: no change")
	}
}

// clientProblems returns the problems of a refused file: the registry's
// (--config) or the API's 422 (--url, decoded by apiTarget.call).
func clientProblems(err error) apps.Problems {
	if ps := apps.ProblemsOf(err); ps != nil {
		return ps
	}
	var rps ruleset.Problems
	if errors.As(err, &rps) {
		ps := make(apps.Problems, len(rps))
		for i, p := range rps {
			ps[i] = apps.Problem{Field: p.Field, Reason: p.Reason}
		}
		return ps
	}
	return nil
}

// storeClients works on the store directly, through the registry: the
// same checks and audit events as the admin UI, as the actor cli:USER.
type storeClients struct {
	db  *sqlstore.DB
	reg *apps.Registry
	who broker.Actor
}

func openClientsStore(ctx context.Context, path string, stderr io.Writer) (*storeClients, error) {
	cfg, _, err := loadConfig(path, stderr)
	if err != nil {
		return nil, err
	}
	static, err := cfg.AppClients()
	if err != nil {
		return nil, err
	}
	db, err := app.OpenStore(ctx, cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	reg := apps.NewRegistry(apps.RegistryConfig{Store: db, Audit: apps.AuditTo(db, nil), Static: static})
	return &storeClients{db: db, reg: reg, who: ruleset.CLIActor(actor())}, nil
}

func (t *storeClients) export(ctx context.Context) ([]apps.Exported, error) { return t.reg.Export(ctx) }

func (t *storeClients) apply(ctx context.Context, want []apps.Exported, dryRun, allowEmpty bool) ([]apps.Change, error) {
	return t.reg.Apply(ctx, t.who, want, dryRun, allowEmpty)
}

func (t *storeClients) close() { t.db.Close() }

// apiClients works through a running broker's /api/v1/apps.
type apiClients struct{ t *apiTarget }

func (c apiClients) export(ctx context.Context) ([]apps.Exported, error) {
	var out clientsFile
	err := c.t.call(ctx, "GET", "/api/v1/apps/export", nil, &struct {
		Clients *[]apps.Exported `json:"clients"`
	}{&out.Clients})
	return out.Clients, err
}

func (c apiClients) apply(ctx context.Context, want []apps.Exported, dryRun, allowEmpty bool) ([]apps.Change, error) {
	if want == nil {
		want = []apps.Exported{}
	}
	var out struct {
		Changes []struct{ Op, ID, Secret string } `json:"changes"`
	}
	err := c.t.call(ctx, "PUT", "/api/v1/apps", map[string]any{"clients": want, "dry_run": dryRun, "allow_empty": allowEmpty}, &out)
	changes := make([]apps.Change, 0, len(out.Changes))
	for _, ch := range out.Changes {
		changes = append(changes, apps.Change{Op: ch.Op, ID: ch.ID, Secret: ch.Secret})
	}
	return changes, err
}

func (c apiClients) close() {}
