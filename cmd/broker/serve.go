package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/ruleset"
)

// defaultGCPercent is the collector's setting for `broker serve` when GOGC
// is not set: collect when the heap has grown to five times what was live
// (Go's default is twice). Every sign-in allocates about 1 MB of garbage
// (the XML of a 12 KB response, parsed, canonicalised, verified); with a
// live heap of 15-20 MB the default collects every ~15 sign-ins, and its
// marking was a tenth of the ACS's CPU. At 400: bench/peers/run, 8
// concurrent, 3.5 -> 2.8 ms CPU per response, for some tens of MB more
// heap. In a container with a memory limit, set GOMEMLIMIT below it (the
// Helm chart does) so the collector works harder before the limit.
const defaultGCPercent = 400

// serveGCPercent is what `broker serve` sets: defaultGCPercent, or 0
// (leave Go's own) when GOGC says otherwise.
func serveGCPercent(gogc string) int {
	if gogc != "" {
		return 0
	}
	return defaultGCPercent
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	path := fs.String("config", "", "config `FILE` (YAML)")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(stderr, "broker serve: --config is required")
		return usageError{"missing --config"}
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	if gcPercent := serveGCPercent(os.Getenv("GOGC")); gcPercent > 0 {
		debug.SetGCPercent(gcPercent)
	}
	cfg, probs, err := loadConfig(*path, stderr)
	for _, p := range probs {
		if p.Warning {
			log.Warn("config", "problem", p.String())
		}
	}
	if err != nil {
		return err
	}
	start := time.Now()
	a, err := app.New(ctx, cfg, app.Options{Logger: log, Version: currentVersion().Version})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return err
	}
	log.Info("broker started", "listen", ln.Addr().String(), "external_url", cfg.Server.ExternalURL,
		"providers", len(cfg.Providers), "rules", len(a.Rules.State().Rules), "rules_revision", a.Rules.State().Revision, "startup_ms", time.Since(start).Milliseconds())
	return a.Serve(ctx, ln)
}

// loadConfig loads and validates a config file; its errors go to stderr,
// one per line with file:line:col, and make err non-nil.
func loadConfig(path string, stderr io.Writer) (*config.Config, config.Problems, error) {
	cfg, probs := loadChecked(path)
	if errs := probs.Errors(); len(errs) > 0 {
		fmt.Fprintln(stderr, errs.Error())
		return nil, probs, fmt.Errorf("%s has %d problem(s); run `broker check --config %s`", path, len(errs), path)
	}
	return cfg, probs, nil
}

func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	path := fs.String("config", "", "config `FILE` (YAML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(stderr, "broker check: --config is required")
		return usageError{"missing --config"}
	}
	cfg, probs := loadChecked(*path)
	for _, p := range probs {
		fmt.Fprintln(stdout, p.String())
	}
	if errs := probs.Errors(); len(errs) > 0 {
		return fmt.Errorf("%d error(s), %d warning(s)", len(errs), len(probs)-len(errs))
	}
	fmt.Fprintf(stdout, "%s: ok (%d provider(s), %d rule(s), %d warning(s))\n", *path, len(cfg.Providers), len(cfg.Rules), len(probs))
	return nil
}

// loadChecked loads a config file and checks its rules with ruleset.Check:
// config holds plain values, the rules are the ruleset's to judge. Each
// rule problem is placed in the file at rules[INDEX].FIELD; one that
// follows from a value that did not decode is left out. The problems come
// sorted by line.
func loadChecked(path string) (*config.Config, config.Problems) {
	cfg, probs := config.Load(path)
	if cfg == nil {
		return nil, probs
	}
	for _, p := range ruleset.Check(cfg.Rules, cfg.MappingOptions()) {
		at := fmt.Sprintf("rules[%d]", p.Index)
		if p.Field != "" {
			at += "." + p.Field
		}
		name := p.Rule
		if name == "" {
			name = fmt.Sprintf("#%d", p.Index+1)
		}
		if cfg.DecodeFailed(at) {
			continue // follows from a value already reported
		}
		probs = append(probs, cfg.Locate(at, fmt.Sprintf("rule %s: %s", name, p.Reason)))
	}
	probs.Sort()
	return cfg, probs
}
