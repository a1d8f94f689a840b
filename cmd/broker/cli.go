package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/broker-dev/broker/cli"
)

// The command line client: broker login, roles, credentials, configure,
// console, exec, logout (package cli).

const cliUsage = `
The command line (a client of a broker's API; tokens in $BROKER_CONFIG_DIR
or your config directory, files 0600):
  broker login --url URL [--device] [--no-browser]
               sign in through the browser (or with a device code over SSH)
  broker roles [--json]           the roles the rules give you
  broker credentials --role ACCOUNT/ROLE [--duration 1h] [--via saml|web-identity]
               AWS credential_process JSON (cached until 5 minutes before expiry)
  broker configure [--dry-run] [--prefix P] [--region R]
               one ~/.aws/config profile per role (credential_process)
  broker console --role ACCOUNT/ROLE [--destination s3|URL] [--region R] [--print]
  broker exec --role ACCOUNT/ROLE [--duration 1h] -- COMMAND [ARGS...]
  broker logout                   revoke the sign-in and delete tokens and cached credentials
  --url defaults to $BROKER_URL, then to the URL of the last broker login.
`

// exitStatus ends the process with this code; the command has already
// said what went wrong.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// cliFlags are the flags every CLI command shares.
type cliFlags struct {
	url string
}

func newCLIFlags(name string, stderr io.Writer) (*flag.FlagSet, *cliFlags) {
	fs := newFlagSet(name, stderr)
	f := &cliFlags{}
	fs.StringVar(&f.url, "url", "", "the broker's `URL` (default: $BROKER_URL, then the URL of the last broker login)")
	return fs, f
}

// client builds the cli.Client for the flags; errors are reported.
func (f *cliFlags) client(stderr io.Writer) (*cli.Client, error) {
	dir, err := cli.DefaultDir()
	if err != nil {
		return nil, fail(stderr, err)
	}
	c, err := cli.New(cli.Config{URL: cli.ResolveURL(f.url, dir), Dir: dir, Stderr: stderr})
	if err != nil {
		return nil, fail(stderr, err)
	}
	return c, nil
}

// fail prints what a person needs to read and exits 1.
func fail(stderr io.Writer, err error) error {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "broker: interrupted")
		return exitStatus(130)
	}
	fmt.Fprintln(stderr, "broker:", cli.Describe(err))
	return exitStatus(1)
}

func runLogin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newCLIFlags("login", stderr)
	device := fs.Bool("device", false, "sign in with a device code (RFC 8628): the default over SSH without a display")
	noBrowser := fs.Bool("no-browser", false, "print the sign-in URL instead of opening a browser")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.url == "" && os.Getenv(cli.URLEnv) == "" {
		// Without --url, sign in again to the broker of the last login.
		dir, err := cli.DefaultDir()
		if err == nil {
			f.url = cli.ResolveURL("", dir)
		}
	}
	c, err := f.client(stderr)
	if err != nil {
		return err
	}
	useDevice := *device || cli.NeedsDevice(runtime.GOOS, os.Getenv)
	acct, err := c.Login(ctx, cli.LoginOptions{Device: useDevice, NoBrowser: *noBrowser, Out: stderr})
	if err != nil {
		return fail(stderr, err)
	}
	who := acct.Email
	if who == "" {
		who = acct.Subject
	}
	fmt.Fprintf(stdout, "Signed in to %s as %s.\n", c.URL(), who)
	return nil
}

func runLogout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newCLIFlags("logout", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := f.client(stderr)
	if err != nil {
		return err
	}
	res, err := c.Logout(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	switch {
	case !res.SignedIn:
		fmt.Fprintf(stdout, "You were not signed in to %s; cached credentials (if any) are deleted.\n", c.URL())
	case res.Revoked:
		fmt.Fprintf(stdout, "Signed out of %s: the broker revoked the sign-in; tokens and cached credentials are deleted.\n", c.URL())
	default:
		fmt.Fprintf(stdout, "Signed out here: tokens and cached credentials are deleted. The broker could not revoke the sign-in (%v);\nit ends on its own when its refresh token expires.\n", res.RevokeError)
	}
	return nil
}

func runRoles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newCLIFlags("roles", stderr)
	asJSON := fs.Bool("json", false, "print the roles as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := f.client(stderr)
	if err != nil {
		return err
	}
	roles, err := c.Roles(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	if *asJSON {
		if roles == nil {
			roles = []cli.Role{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string][]cli.Role{"roles": roles})
	}
	if len(roles) == 0 {
		fmt.Fprintln(stdout, "The rules give you no AWS role.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tROLE\tLABEL\tREGION\tCREDENTIALS")
	for _, r := range roles {
		acct := r.Account
		if r.AccountAlias != "" {
			acct = r.AccountAlias + " (" + r.Account + ")"
		}
		creds := "n"
		if r.Credentials {
			creds = "y"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", acct, r.Role, r.Label, dash(r.Region), creds)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// roleFlags are --role, --via, --duration.
type roleFlags struct {
	role, via string
	duration  time.Duration
}

func (r *roleFlags) register(fs *flag.FlagSet, withDuration bool) {
	fs.StringVar(&r.role, "role", "", "`ACCOUNT/ROLE`: account id or alias, and role name (broker roles lists them)")
	fs.StringVar(&r.via, "via", "", "saml or web-identity, for a role granted both ways")
	if withDuration {
		fs.DurationVar(&r.duration, "duration", 0, "session duration, e.g. 1h (default: the role's)")
	}
}

func (r *roleFlags) ref(stderr io.Writer) (cli.RoleRef, error) {
	ref, err := cli.ParseRoleRef(r.role, r.via)
	if err != nil {
		return ref, fail(stderr, err)
	}
	return ref, nil
}

func runCredentials(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newCLIFlags("credentials", stderr)
	var rf roleFlags
	rf.register(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, _, cr, err := fetchCredentials(ctx, f, rf, stderr)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", cr.ProcessJSON())
	return err
}

func runConfigure(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newCLIFlags("configure", stderr)
	dryRun := fs.Bool("dry-run", false, "print the diff and write nothing")
	prefix := fs.String("prefix", "", "put this before every profile name")
	region := fs.String("region", "", "region for roles that have none of their own")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := f.client(stderr)
	if err != nil {
		return err
	}
	path, err := cli.AWSConfigPath()
	if err != nil {
		return fail(stderr, err)
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.Abs(exe)
	}
	if err != nil {
		return fail(stderr, fmt.Errorf("cli: where is this broker binary? %w", err))
	}
	res, err := c.Configure(ctx, cli.ConfigureOptions{Path: path, Executable: exe, Prefix: *prefix, Region: *region, DryRun: *dryRun})
	if err != nil {
		return fail(stderr, err)
	}
	for _, name := range res.Skipped {
		fmt.Fprintf(stderr, "broker: left [profile %s] as it is: it exists and is not managed by broker for %s\n", name, c.URL())
	}
	switch {
	case res.Diff == "":
		fmt.Fprintf(stdout, "%s is up to date.\n", path)
	case *dryRun:
		fmt.Fprint(stdout, res.Diff)
	default:
		fmt.Fprintf(stdout, "Wrote %s: %s.\n", path, summary(res.ConfigEdit))
	}
	return nil
}

func summary(ed cli.ConfigEdit) string {
	var parts []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"added", ed.Added}, {"updated", ed.Updated}, {"removed", ed.Removed}} {
		if len(p.names) > 0 {
			parts = append(parts, p.what+" "+strings.Join(p.names, ", "))
		}
	}
	if len(parts) == 0 {
		return "no profile changed"
	}
	return strings.Join(parts, "; ")
}

func runConsole(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newCLIFlags("console", stderr)
	var rf roleFlags
	rf.register(fs, true)
	dest := fs.String("destination", "", "a console URL or a service name like s3 (default: the console home)")
	region := fs.String("region", "", "the console's region")
	printLink := fs.Bool("print", false, "print the sign-in link instead of opening a browser")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ref, err := rf.ref(stderr)
	if err != nil {
		return err
	}
	c, err := f.client(stderr)
	if err != nil {
		return err
	}
	link, err := c.Console(ctx, cli.ConsoleRequest{Role: ref, Destination: *dest, Region: *region, Duration: rf.duration})
	if err != nil {
		return fail(stderr, err)
	}
	for _, n := range link.Notices {
		fmt.Fprintln(stderr, "broker:", n)
	}
	if *printLink {
		fmt.Fprintf(stderr, "broker: this is a live sign-in link: whoever opens it is signed in to the AWS console as %s. Do not share it.\n", link.RoleARN)
		fmt.Fprintln(stdout, link.URL)
		return nil
	}
	if err := cli.OpenBrowser(link.URL); err != nil {
		fmt.Fprintf(stderr, "broker: could not open a browser (%v); use --print to get the link.\n", err)
		return exitStatus(1)
	}
	fmt.Fprintf(stdout, "Opened the AWS console as %s in your browser.\n", link.RoleARN)
	return nil
}

func runExec(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newCLIFlags("exec", stderr)
	var rf roleFlags
	rf.register(fs, true)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err.Error()}
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fmt.Fprintln(stderr, "broker exec: name the command after --, e.g. broker exec --role sandbox/Developer -- aws s3 ls")
		return usageError{"no command"}
	}
	c, ref, cr, err := fetchCredentials(ctx, f, rf, stderr)
	if err != nil {
		return err
	}
	env := cli.ExecEnv(os.Environ(), cr, c.RegionOf(ctx, ref))
	code, err := cli.Exec(argv, env, os.Stdin, stdout, stderr)
	if err != nil {
		_ = fail(stderr, err)
		return exitStatus(code)
	}
	if code != 0 {
		return exitStatus(code)
	}
	return nil
}

// fetchCredentials resolves the role and the broker named by the flags and
// gets the role's credentials (from the cache when fresh), printing the
// broker's notices to stderr; errors are already said on stderr.
func fetchCredentials(ctx context.Context, f *cliFlags, rf roleFlags, stderr io.Writer) (*cli.Client, cli.RoleRef, *cli.Credentials, error) {
	ref, err := rf.ref(stderr)
	if err != nil {
		return nil, ref, nil, err
	}
	c, err := f.client(stderr)
	if err != nil {
		return nil, ref, nil, err
	}
	cr, err := c.Credentials(ctx, cli.CredentialsRequest{Role: ref, Duration: rf.duration})
	if err != nil {
		return nil, ref, nil, fail(stderr, err)
	}
	for _, n := range cr.Notices {
		fmt.Fprintln(stderr, "broker:", n)
	}
	return c, ref, cr, nil
}
