package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
)

// rulesFile is what `broker rules export` writes and `apply` reads: the
// same accounts and rules sections as the config file.
type rulesFile struct {
	Accounts []mapping.Account `yaml:"accounts,omitempty"`
	Rules    []mapping.Rule    `yaml:"rules"`
}

const rulesUsage = `Usage:
  broker rules export --config FILE [-o OUT]          write the store's accounts and rules as YAML
  broker rules apply  --config FILE -f RULES [--dry-run]
               make the store's rules (and accounts, if the file has them) exactly RULES
`

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "apply") {
		fmt.Fprint(stderr, rulesUsage)
		return usageError{"rules needs export or apply"}
	}
	sub := args[0]
	fs := newFlagSet("rules "+sub, stderr)
	path := fs.String("config", "", "config file (YAML): where the store is")
	out := fs.String("o", "", "export: write to this file instead of stdout")
	in := fs.String("f", "", "apply: the rules file (- for stdin)")
	dry := fs.Bool("dry-run", false, "apply: show what would change and change nothing")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintf(stderr, "broker rules %s: --config is required\n", sub)
		return usageError{"missing --config"}
	}
	cfg, probs := config.Load(*path)
	if errs := probs.Errors(); len(errs) > 0 {
		fmt.Fprintln(stderr, errs.Error())
		return fmt.Errorf("%s has %d problem(s)", *path, len(errs))
	}
	db, err := app.OpenStore(ctx, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := ruleset.Seed(ctx, db, cfg.Rules, cfg.Accounts, "config"); err != nil {
		return err
	}
	src, err := ruleset.New(ctx, ruleset.Config{Store: db, Options: cfg.MappingOptions()})
	if err != nil {
		return err
	}
	st := src.State()
	if sub == "export" {
		b, err := yaml.Marshal(rulesFile{Accounts: st.Accounts, Rules: ruleset.Plain(st.Rules)})
		if err != nil {
			return err
		}
		header := fmt.Sprintf("# broker rules export: revision %d, %d rule(s)\n", st.Revision, len(st.Rules))
		if *out == "" {
			_, err = io.WriteString(stdout, header+string(b))
			return err
		}
		if err := os.WriteFile(*out, []byte(header+string(b)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d rule(s), revision %d, to %s\n", len(st.Rules), st.Revision, *out)
		return nil
	}

	if *in == "" {
		fmt.Fprintln(stderr, "broker rules apply: -f FILE is required")
		return usageError{"missing -f"}
	}
	var raw []byte
	if *in == "-" {
		raw, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	} else {
		raw, err = os.ReadFile(*in)
	}
	if err != nil {
		return err
	}
	var f rulesFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", *in, err)
	}
	accounts := f.Accounts // nil: keep the store's accounts
	opts := cfg.MappingOptions()
	if accounts != nil {
		opts.Accounts = accounts
	} else {
		opts.Accounts = st.Accounts
	}
	if _, err := mapping.Compile(f.Rules, opts); err != nil {
		var ces mapping.CompileErrors
		if errors.As(err, &ces) {
			for _, ce := range ces {
				fmt.Fprintf(stderr, "%s: rules[%d].%s: %s\n", *in, ce.Index, ce.Field, ce.Reason)
			}
			return fmt.Errorf("%s: %d problem(s); nothing applied", *in, len(ces))
		}
		return err
	}
	summary := diffRules(st.Rules, f.Rules)
	for _, l := range summary {
		fmt.Fprintln(stdout, l)
	}
	if len(summary) == 0 {
		fmt.Fprintln(stdout, "rules: no change")
	}
	if *dry {
		fmt.Fprintln(stdout, "dry run: nothing applied")
		return nil
	}
	rev, err := ruleset.Apply(ctx, db, cfg.MappingOptions(), f.Rules, accounts, "cli:"+actor())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d rule(s); revision %d (running brokers pick it up within a second)\n", len(f.Rules), rev)
	return nil
}

// diffRules describes what applying next over cur changes.
func diffRules(cur []ruleset.Rule, next []mapping.Rule) []string {
	var out []string
	have := map[string]ruleset.Rule{}
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
		case string(ruleset.Encode(old.Rule)) != string(ruleset.Encode(r)):
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
	path := fs.String("config", "", "config file (YAML): where the store is")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(stderr, "broker migrate: --config is required")
		return usageError{"missing --config"}
	}
	cfg, probs := config.Load(*path)
	if errs := probs.Errors(); len(errs) > 0 {
		fmt.Fprintln(stderr, errs.Error())
		return fmt.Errorf("%s has %d problem(s)", *path, len(errs))
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
