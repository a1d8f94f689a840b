// Command broker is a self-hosted federation identity broker for AWS.
//
//	broker dev   [--data-dir DIR] [--port 8080] [--idp-port 8081] [--oidc-port 8082] [--aws-port 8083]
//	broker serve --config FILE
//	broker check --config FILE
//	broker idp-metadata --config FILE [-o OUT]
//	broker healthcheck [--config FILE | --url URL] [--ready]
//	broker version
//	broker login|roles|credentials|configure|console|exec|logout (the command line client)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		var es exitStatus
		if errors.As(err, &es) {
			os.Exit(int(es))
		}
		fmt.Fprintln(os.Stderr, "broker:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `broker: a federation identity broker for AWS

Usage:
  broker dev   [--data-dir DIR] [--port N] [--idp-port N] [--oidc-port N] [--aws-port N]
               run the broker with a demo IdP and a local stand-in for AWS
  broker serve --config FILE      run the broker
  broker check --config FILE      validate a config file and print every problem
  broker migrate --config FILE    apply the store's migrations and exit
  broker idp-metadata --config FILE [-o OUT]
               print the broker's SAML IdP metadata to upload to IAM (again
               before its validUntil, IAM's expiry of the provider)
  broker rules export (--config FILE | --url URL) [-o OUT]
  broker rules apply  (--config FILE | --url URL) -f RULES [--dry-run] [--allow-empty]
               keep the role mapping rules in git: export them, apply a file
  broker clients export (--config FILE | --url URL) [-o OUT]
  broker clients apply  (--config FILE | --url URL) -f CLIENTS [--dry-run] [--allow-empty]
               the same for the apps registered with the broker's OpenID Provider
  broker loadtest [--provider saml|oidc] [--concurrency 50] [--duration 30s] [--report-every 1m]
               whole logins against an in-process dev stack: latency, CPU per
               login by component, store bytes per login; a soak with --report-every
  broker loadtest acs --acs-url URL --sp-entity-id ID --idp DIR [--count 2000] [--concurrency 8]
               fresh signed SAML responses to any SP's ACS on loopback: CPU per
               response, responses/s, latency (bench/peers/run uses it)
  broker loadtest --flood [--requests 20000] [--concurrency 50] [--duration 30s]
               bad SAML responses to the dev stack's ACS (127.0.0.1 only), and
               the store's size before, after and after upkeep
  broker healthcheck [--config FILE | --url URL] [--ready]
               exit 0 when the broker answers /healthz (/readyz) with 200, else 1
  broker version
  broker help COMMAND             a command's flags (also: broker COMMAND --help)
` + cliUsage

// command is one of broker's commands: the dispatch table run uses, and
// the list the --help test walks.
type command struct {
	name string
	// subs are the command's own subcommands (broker rules export).
	subs []string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{name: "dev", run: runDev},
		{name: "serve", run: runServe},
		{name: "check", run: func(_ context.Context, args []string, stdout, stderr io.Writer) error {
			return runCheck(args, stdout, stderr)
		}},
		{name: "migrate", run: runMigrate},
		{name: "idp-metadata", run: func(_ context.Context, args []string, stdout, stderr io.Writer) error {
			return runIDPMetadata(args, stdout, stderr)
		}},
		{name: "rules", subs: []string{"export", "apply"}, run: runRules},
		{name: "clients", subs: []string{"export", "apply"}, run: runClients},
		{name: "loadtest", run: runLoadtest},
		{name: "login", run: runLogin},
		{name: "logout", run: runLogout},
		{name: "roles", run: runRoles},
		{name: "credentials", run: runCredentials},
		{name: "configure", run: runConfigure},
		{name: "console", run: runConsole},
		{name: "exec", run: runExec},
		{name: "healthcheck", run: runHealthcheck},
		{name: "version", run: runVersion},
		{name: "help", run: runHelp},
	}
}

// commandHelp is the first lines of a command's --help: how to call it and
// what it does. Its flags follow, each with its description.
func commandHelp(name string) string {
	switch name {
	case "dev":
		return "broker dev [flags]\n\nRun the broker with a demo SAML IdP, a demo OpenID Provider, a local stand-in\nfor AWS and a demo app, all on loopback: no AWS account or IdP needed."
	case "serve":
		return "broker serve --config FILE [flags]\n\nRun the broker."
	case "check":
		return "broker check --config FILE\n\nValidate a config file and print every problem, each with file:line:col."
	case "migrate":
		return "broker migrate --config FILE\n\nApply the store's migrations and exit (instances also migrate at start)."
	case "rules export":
		return "broker rules export (--config FILE | --url URL) [-o OUT]\n\nWrite the rules (and accounts) in force as YAML."
	case "rules apply":
		return "broker rules apply (--config FILE | --url URL) -f RULES [--dry-run] [--allow-empty]\n\nMake the rules exactly RULES (and the accounts, with --config, if the file\nhas them). --url goes through a running broker with the admin API token in\n$BROKER_TOKEN."
	case "clients export":
		return "broker clients export (--config FILE | --url URL) [-o OUT]\n\nWrite the apps registered with the broker's OpenID Provider as YAML\n(apps in the config file are not included: they live there)."
	case "clients apply":
		return "broker clients apply (--config FILE | --url URL) -f CLIENTS [--dry-run] [--allow-empty]\n\nMake the registered apps exactly CLIENTS: create, update, delete. --url goes\nthrough a running broker with an admin API token (scopes apps:read,\napps:write) in $BROKER_TOKEN."
	case "idp-metadata":
		return "broker idp-metadata --config FILE [-o OUT]\n\nPrint the broker's SAML IdP metadata, freshly signed, to upload to IAM again\n(its validUntil is the signing certificate's end, which IAM records)."
	case "loadtest":
		return "broker loadtest [flags]\n\nWhole SAML (or --provider oidc) logins against an in-process dev stack, with a\nreport: latency, CPU per login by component, store bytes per login; with\n--report-every, a line per interval (a soak); with --flood, bad SAML responses\nto its ACS and what they did to the store. `broker loadtest acs --help`: signed\nresponses to any SP's ACS."
	case "healthcheck":
		return "broker healthcheck [--config FILE | --url URL] [--ready] [--timeout 5s]\n\nGET the broker's /healthz (with --ready, /readyz) and exit 0 on 200, 1\notherwise: for container health checks (HEALTHCHECK, compose). With\n--config, the address is the config's server.listen on loopback."
	case "version":
		return "broker version\n\nPrint the version, the commit and its time, and the Go toolchain."
	case "login":
		return "broker login [--url URL] [--device] [--no-browser]\n\nSign in to a broker through the browser (or with a device code over SSH)."
	case "logout":
		return "broker logout [--url URL]\n\nRevoke the sign-in and delete its tokens and cached credentials."
	case "roles":
		return "broker roles [--url URL] [--json]\n\nList the roles the rules give you."
	case "credentials":
		return "broker credentials --role ACCOUNT/ROLE [flags]\n\nPrint AWS credential_process JSON (cached until 5 minutes before expiry)."
	case "configure":
		return "broker configure [flags]\n\nWrite one ~/.aws/config profile per role (credential_process)."
	case "console":
		return "broker console --role ACCOUNT/ROLE [flags]\n\nOpen the AWS console as a role."
	case "exec":
		return "broker exec --role ACCOUNT/ROLE [flags] -- COMMAND [ARGS...]\n\nRun a command with a role's credentials in its environment."
	}
	return "broker " + name + " [flags]"
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command"}
	}
	name := args[0]
	switch name {
	case "--version":
		name = "version"
	case "-h", "--help", "-help":
		name = "help"
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(ctx, args[1:], stdout, stderr)
			if errors.Is(err, errHelp) {
				return nil // asked for --help: shown, not a failure
			}
			return err
		}
	}
	fmt.Fprintf(stderr, "broker: unknown command %q (broker help lists them)\n", args[0])
	return usageError{"unknown command " + args[0]}
}

// runHelp prints the list of commands, or one command's --help.
func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stdout, usage)
		return nil
	}
	return run(ctx, append(slices.Clone(args), "--help"), stdout, stderr)
}

// errHelp is what a command returns after printing its --help.
var errHelp = errors.New("help shown")

// subcommand returns args[0] if it is one of subs; otherwise it prints
// usageText (to stdout for help, else to stderr) and returns the error
// run should return.
func subcommand(name string, args, subs []string, usageText string, stdout, stderr io.Writer) (string, error) {
	if len(args) > 0 && slices.Contains(subs, args[0]) {
		return args[0], nil
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
		fmt.Fprint(stdout, usageText)
		return "", errHelp
	}
	if len(args) > 0 {
		fmt.Fprintf(stderr, "broker %s: unknown command %q\n\n", name, args[0])
	}
	fmt.Fprint(stderr, usageText)
	return "", usageError{"broker " + name + " needs " + strings.Join(subs, " or ")}
}

// newFlagSet is a command's flag set: its --help starts with
// commandHelp(name) and lists only this command's flags.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("broker "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n", commandHelp(name))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses a command's flags; --help prints them and returns
// errHelp (run exits 0), a bad flag is a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return usageError{"unexpected argument"}
	}
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("bad --log-level %q", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	var log *slog.Logger
	switch format {
	case "json":
		log = slog.New(slog.NewJSONHandler(w, opts))
	case "text":
		log = slog.New(slog.NewTextHandler(w, opts))
	default:
		return nil, usageError{fmt.Sprintf("bad --log-format %q (json or text)", format)}
	}
	// Libraries that log through slog's default (zitadel's OpenID
	// Provider) write in the same format, at the same level, to the same
	// stream as the broker, marked as theirs.
	slog.SetDefault(log.With("component", "library"))
	return log, nil
}
