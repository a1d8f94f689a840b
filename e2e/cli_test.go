package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
)

// brokerCLI runs the broker binary as a person would, with its own home,
// config directory and AWS config file.
type brokerCLI struct {
	t       *testing.T
	bin     string
	home    string
	awsConf string
	env     []string
}

func newBrokerCLI(t *testing.T) *brokerCLI {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "broker")
	build := exec.Command("go", "build", "-o", bin, "github.com/broker-dev/broker/cmd/broker")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &brokerCLI{t: t, bin: bin, home: home, awsConf: filepath.Join(home, ".aws", "config")}
	// No SSH_* or DISPLAY from the machine running the tests: the flow is
	// chosen by flags only. No BROWSER: --no-browser is tested.
	c.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "BROKER_CONFIG_DIR=" + filepath.Join(home, ".config", "broker"),
		"AWS_CONFIG_FILE=" + c.awsConf, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, ".aws", "credentials"),
		"AWS_PROFILE=someone-elses", "LANG=C"}
	return c
}

func (c *brokerCLI) command(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	return cmd
}

// run runs the command to its end: stdout, stderr and the exit code.
func (c *brokerCLI) run(args ...string) (string, string, int) {
	c.t.Helper()
	var out, errb bytes.Buffer
	cmd := c.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	}
	c.t.Fatalf("broker %v: %v", args, err)
	return "", "", 0
}

// started is a command running in the background whose stderr is read
// line by line.
type started struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	lines  chan string
}

func (c *brokerCLI) start(args ...string) *started {
	c.t.Helper()
	s := &started{cmd: c.command(args...), lines: make(chan string, 100)}
	s.cmd.Stdout = &s.stdout
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	return s
}

// waitFor returns the first submatch of re in a stderr line.
func (s *started) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	var seen []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("the command ended without printing %s:\n%s", re, strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-timeout:
			t.Fatalf("no %s in 30s:\n%s", re, strings.Join(seen, "\n"))
		}
	}
}

func (s *started) wait(t *testing.T) (string, int) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return s.stdout.String(), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return s.stdout.String(), 0
	case <-time.After(60 * time.Second):
		t.Fatal("the command did not end")
	}
	return "", 0
}

var (
	authorizeURL = regexp.MustCompile(`^(http://\S+/oauth/authorize\?\S+)$`)
	userCode     = regexp.MustCompile(`enter the code (\S+)`)
)

// processCredentials is the credential_process JSON.
type processCredentials struct {
	Version                                    int
	AccessKeyId, SecretAccessKey, SessionToken string
	Expiration                                 string
}

func callerIdentity(t *testing.T, st *devstack.Stack, pc processCredentials) (*sts.GetCallerIdentityOutput, error) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: pc.AccessKeyId, SecretAccessKey: pc.SecretAccessKey, SessionToken: pc.SessionToken}
	client := sts.NewFromConfig(aws.Config{Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} }},
		func(o *sts.Options) { o.BaseEndpoint = aws.String(st.AWSURL) })
	return client.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
}

// TestCLI: the broker binary against the dev stack, end to end: login
// through the loopback redirect (an HTTP client completing alice's
// sign-in at the demo IdP), roles, credentials accepted by the local
// AWS's GetCallerIdentity and served from the cache the second time, an
// ungranted role refused in words, exec, configure (and the aws CLI
// through its profile, when installed), console, logout, and the device
// flow approved at /device.
func TestCLI(t *testing.T) {
	st := startStack(t)
	cli := newBrokerCLI(t)
	b := newBrowser(t)

	// Not signed in yet.
	if _, stderr, code := cli.run("credentials", "--url", st.BrokerURL, "--role", "sandbox/Developer"); code != 1 ||
		!strings.Contains(stderr, "run `broker login --url "+st.BrokerURL+"`") {
		t.Fatalf("before login: %d %s", code, stderr)
	}

	// broker login --no-browser: the URL printed, the person signs in.
	login := cli.start("login", "--url", st.BrokerURL, "--no-browser")
	u := login.waitFor(t, authorizeURL)
	if !strings.Contains(u, "client_id=broker-cli") || !strings.Contains(u, "code_challenge_method=S256") ||
		!strings.Contains(u, "redirect_uri=http%3A%2F%2F127.0.0.1%3A") {
		t.Errorf("authorize URL %s", u)
	}
	signin := b.get(u)
	var idpLogin string
	for _, href := range signin.all("href") {
		if strings.HasPrefix(href, "/saml/demo/login?") && strings.Contains(href, "return=") {
			idpLogin = href
		}
	}
	if idpLogin == "" {
		t.Fatalf("the broker's sign-in page has no demo IdP login keeping the return: %d at %s", signin.Status, signin.URL)
	}
	done := loginAtIdP(t, b, st, b.get(st.BrokerURL+idpLogin), "alice")
	if done.Status != http.StatusOK || !strings.HasPrefix(done.URL.String(), "http://127.0.0.1:") || !strings.Contains(done.Body, "You can close this tab") {
		t.Fatalf("the browser ended at %d %s:\n%s", done.Status, done.URL, clip(done.Body))
	}
	if out, code := login.wait(t); code != 0 || !strings.Contains(out, "Signed in to "+st.BrokerURL+" as alice@example.com") {
		t.Fatalf("login: %d %s", code, out)
	}
	tokenFiles, _ := filepath.Glob(filepath.Join(cli.home, ".config", "broker", "tokens", "*.json"))
	if len(tokenFiles) != 1 {
		t.Fatalf("token files %v", tokenFiles)
	}
	if fi, err := os.Stat(tokenFiles[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v %v", fi.Mode(), err)
	}

	// roles --json (the URL remembered from the login).
	out, stderr, code := cli.run("roles", "--json")
	var roles struct {
		Roles []struct {
			RoleARN     string `json:"role_arn"`
			Credentials bool   `json:"credentials"`
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &roles) != nil {
		t.Fatalf("roles: %d %s %s", code, out, stderr)
	}
	var dev bool
	for _, r := range roles.Roles {
		if r.RoleARN == sandboxDeveloper && r.Credentials {
			dev = true
		}
		if strings.HasSuffix(r.RoleARN, ":role/Billing") {
			t.Errorf("roles lists a role alice is not granted: %+v", r)
		}
	}
	if !dev {
		t.Fatalf("roles lacks sandbox Developer with credentials: %s", out)
	}
	if table, _, code := cli.run("roles"); code != 0 || !strings.Contains(table, "ACCOUNT") || !strings.Contains(table, "Developer") {
		t.Errorf("roles table: %d\n%s", code, table)
	}

	// credentials: the credential_process JSON, accepted by the local AWS.
	out, stderr, code = cli.run("credentials", "--role", "sandbox/Developer", "--duration", "30m")
	var pc processCredentials
	if code != 0 || json.Unmarshal([]byte(out), &pc) != nil || pc.Version != 1 || pc.AccessKeyId == "" || pc.SecretAccessKey == "" || pc.SessionToken == "" {
		t.Fatalf("credentials: %d %s %s", code, out, stderr)
	}
	if exp, err := time.Parse(time.RFC3339, pc.Expiration); err != nil || time.Until(exp) < 25*time.Minute || time.Until(exp) > 31*time.Minute {
		t.Errorf("Expiration %q (%v), want in about 30 minutes", pc.Expiration, err)
	}
	who, err := callerIdentity(t, st, pc)
	if err != nil || !strings.Contains(aws.ToString(who.Arn), ":assumed-role/Developer/") || aws.ToString(who.Account) != devstack.SandboxAccount {
		t.Fatalf("GetCallerIdentity: %v %v", who, err)
	}
	// Again: the same credentials, from the cache (one issuance audited).
	out2, _, code := cli.run("credentials", "--role", "sandbox/Developer", "--duration", "30m")
	var pc2 processCredentials
	if code != 0 || json.Unmarshal([]byte(out2), &pc2) != nil || pc2.AccessKeyId != pc.AccessKeyId {
		t.Errorf("second call not from the cache: %d %s", code, out2)
	}
	events, err := st.App.Store.ListAudit(t.Context(), store.AuditFilter{Event: "credentials_issued"})
	if err != nil {
		t.Fatal(err)
	}
	issued := 0
	for _, e := range events {
		if e.Result == "success" {
			issued++
			if e.Details["client"] != "broker-cli" {
				t.Errorf("credentials audited without the client broker-cli: %+v", e)
			}
		}
	}
	if issued != 1 {
		t.Errorf("%d issuances audited, want 1 (the second call from the cache)", issued)
	}

	// A role alice lacks: refused in words, nothing on stdout.
	out, stderr, code = cli.run("credentials", "--role", "production/Billing")
	if code != 1 || out != "" || !strings.Contains(stderr, "You do not have the role Billing") {
		t.Errorf("ungranted role: %d %q %s", code, out, stderr)
	}

	// exec: the credentials in the environment, AWS_PROFILE gone, the
	// exit code passed through.
	out, stderr, code = cli.run("exec", "--role", "sandbox/Developer", "--duration", "30m", "--", "sh", "-c", `echo "$AWS_ACCESS_KEY_ID|${AWS_PROFILE:-none}|$AWS_CREDENTIAL_EXPIRATION"; exit 5`)
	if code != 5 || out != pc.AccessKeyId+"|none|"+pc.Expiration+"\n" {
		t.Errorf("exec: %d %q %s", code, out, stderr)
	}

	// configure: the dry run writes nothing; then the profile.
	out, stderr, code = cli.run("configure", "--dry-run")
	if code != 0 || !strings.Contains(out, "+[profile sandbox-developer]") {
		t.Errorf("configure --dry-run: %d %s %s", code, out, stderr)
	}
	if _, err := os.Stat(cli.awsConf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dry run wrote %s: %v", cli.awsConf, err)
	}
	if out, stderr, code = cli.run("configure"); code != 0 {
		t.Fatalf("configure: %d %s %s", code, out, stderr)
	}
	conf, _ := os.ReadFile(cli.awsConf)
	if !strings.Contains(string(conf), "# managed by broker\n[profile sandbox-developer]\ncredential_process = "+cli.bin+" credentials --url "+st.BrokerURL+" --role "+devstack.SandboxAccount+"/Developer\n") {
		t.Errorf("AWS config:\n%s", conf)
	}
	if aws, err := exec.LookPath("aws"); err == nil {
		cmd := exec.Command(aws, "sts", "get-caller-identity", "--profile", "sandbox-developer", "--endpoint-url", st.AWSURL, "--region", "us-east-1", "--output", "json")
		cmd.Env = append(cli.env[:len(cli.env):len(cli.env)], "AWS_PROFILE=sandbox-developer")
		got, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(got), ":assumed-role/Developer/") {
			t.Errorf("aws sts get-caller-identity through the profile: %v\n%s", err, got)
		}
	} else if os.Getenv("BROKER_REQUIRE_INTEROP") == "1" {
		t.Error("no aws CLI on PATH and BROKER_REQUIRE_INTEROP=1 (.ci/system installs awscli)")
	} else {
		t.Log("no aws CLI: the profile is not tried with it (.ci/system installs awscli)")
	}
	// aws-sdk-go-v2's own config loader reads the profile and runs its
	// credential_process, as Terraform's and every Go tool's would. The
	// process inherits this test's environment: point it at the CLI's home.
	t.Setenv("HOME", cli.home)
	t.Setenv("BROKER_CONFIG_DIR", filepath.Join(cli.home, ".config", "broker"))
	sdkCfg, err := awsconfig.LoadDefaultConfig(t.Context(), awsconfig.WithSharedConfigFiles([]string{cli.awsConf}),
		awsconfig.WithSharedCredentialsFiles([]string{filepath.Join(t.TempDir(), "none")}),
		awsconfig.WithSharedConfigProfile("sandbox-developer"), awsconfig.WithRegion("us-east-1"))
	if err != nil {
		t.Fatalf("aws-sdk-go-v2 config loader: %v", err)
	}
	ident, err := sts.NewFromConfig(sdkCfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(st.AWSURL) }).
		GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(aws.ToString(ident.Arn), ":assumed-role/Developer/") {
		t.Errorf("GetCallerIdentity with the SDK's config loader and the broker profile: %v %v", err, ident)
	}

	// console --print: a live sign-in link to the local console.
	out, stderr, code = cli.run("console", "--role", "sandbox/Developer", "--destination", "s3", "--print")
	link := strings.TrimSpace(out)
	if code != 0 || !strings.Contains(link, "Action=login") || !strings.Contains(link, "SigninToken=") || !strings.Contains(stderr, "live sign-in link") {
		t.Fatalf("console: %d %s %s", code, out, stderr)
	}
	if p := newBrowser(t).get(link); p.Status != http.StatusOK || !strings.HasPrefix(p.URL.String(), st.AWSURL+"/console") {
		t.Errorf("the console link led to %d %s", p.Status, p.URL)
	}

	// logout: revoked at the broker; then credentials say run broker login.
	if out, stderr, code = cli.run("logout"); code != 0 || !strings.Contains(out, "the broker revoked the sign-in") {
		t.Errorf("logout: %d %s %s", code, out, stderr)
	}
	if _, stderr, code = cli.run("credentials", "--role", "sandbox/Developer", "--duration", "30m"); code != 1 || !strings.Contains(stderr, "broker login") {
		t.Errorf("credentials after logout: %d %s", code, stderr)
	}

	// The device flow: the code approved at /device by alice (still
	// signed in to the portal in this browser).
	device := cli.start("login", "--device")
	code1 := device.waitFor(t, userCode)
	p := b.get(st.BrokerURL + "/device?user_code=" + code1)
	action, form := p.form(t, formWithID("device-form"))
	p = b.post(action, form)
	if app := p.text("device-app"); app == "" {
		t.Fatalf("device confirmation page: %d\n%s", p.Status, clip(p.Body))
	}
	action, form = p.form(t, formWithID("device-decide"))
	form.Set("decision", "allow")
	if p = b.post(action, form); p.text("device-done") == "" {
		t.Fatalf("device approval: %d\n%s", p.Status, clip(p.Body))
	}
	if out, code := device.wait(t); code != 0 || !strings.Contains(out, "Signed in") {
		t.Fatalf("device login: %d %s", code, out)
	}
	if out, stderr, code = cli.run("roles", "--json"); code != 0 || !strings.Contains(out, sandboxDeveloper) {
		t.Errorf("roles after the device login: %d %s %s", code, out, stderr)
	}
}
