// Command broker is a self-hosted federation identity broker for AWS.
//
//	broker dev   [--data-dir DIR] [--port 8080] [--idp-port 8081] [--oidc-port 8082] [--aws-port 8083]
//	broker serve --config FILE
//	broker check --config FILE
//	broker idp-metadata --config FILE [-o OUT]
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
	"syscall"
)

var version = "dev"

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
  broker loadtest [--concurrency 50] [--duration 30s]
               whole SAML logins against an in-process dev stack, with a report
  broker loadtest --flood [--requests 20000] [--concurrency 50] [--duration 30s]
               bad SAML responses to the dev stack's ACS (127.0.0.1 only), and
               the store's size before, after and after upkeep
  broker version
` + cliUsage

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command"}
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "rules":
		return runRules(ctx, args[1:], stdout, stderr)
	case "clients":
		return runClients(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "idp-metadata":
		return runIDPMetadata(args[1:], stdout, stderr)
	case "loadtest":
		return runLoadtest(ctx, args[1:], stdout, stderr)
	case "login":
		return runLogin(ctx, args[1:], stdout, stderr)
	case "logout":
		return runLogout(ctx, args[1:], stdout, stderr)
	case "roles":
		return runRoles(ctx, args[1:], stdout, stderr)
	case "credentials":
		return runCredentials(ctx, args[1:], stdout, stderr)
	case "configure":
		return runConfigure(ctx, args[1:], stdout, stderr)
	case "console":
		return runConsole(ctx, args[1:], stdout, stderr)
	case "exec":
		return runExec(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "broker", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "broker: unknown command %q\n\n%s", args[0], usage)
		return usageError{"unknown command"}
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("broker "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{"help"}
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
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("bad --log-format %q (json or text)", format)}
}
