package cli

import (
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/broker-dev/broker"
)

// ExecEnv is environ with the credentials set (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION,
// AWS_REGION and AWS_DEFAULT_REGION when region is set) and
// AWS_PROFILE/AWS_DEFAULT_PROFILE (which would win over them in some
// tools) and any earlier AWS credential variables removed.
func ExecEnv(environ []string, cr *Credentials, region string) []string {
	drop := map[string]bool{"AWS_PROFILE": true, "AWS_DEFAULT_PROFILE": true, "AWS_ACCESS_KEY_ID": true,
		"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_SECURITY_TOKEN": true, "AWS_CREDENTIAL_EXPIRATION": true}
	if region != "" {
		drop["AWS_REGION"], drop["AWS_DEFAULT_REGION"] = true, true
	}
	var env []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_ACCESS_KEY_ID="+cr.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+cr.SecretAccessKey,
		"AWS_SESSION_TOKEN="+cr.SessionToken, "AWS_CREDENTIAL_EXPIRATION="+cr.Expiration.UTC().Format(time.RFC3339))
	if region != "" {
		env = append(env, "AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
	}
	return env
}

// Exec runs argv with env and the given standard streams, forwards
// SIGTERM and SIGHUP to it, and returns its exit code (128+signal when
// a signal ended it). SIGINT is caught, not forwarded: Ctrl-C at a
// terminal reaches the whole foreground process group, so the command
// already has it, and a second copy would make tools such as Terraform
// stop at once instead of cleanly; broker keeps waiting for the command. Errors: EINVALID ReasonCommandFailed when it
// cannot be started.
func Exec(argv, env []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(argv) == 0 {
		return 0, broker.Errorf(broker.EINVALID, ReasonCommandFailed, "Name the command to run after --, e.g. broker exec --role sandbox/Developer -- aws s3 ls")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return 127, broker.Wrap(err, broker.EINVALID, ReasonCommandFailed, "Cannot run "+argv[0]+": not found or not executable.")
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdin: stdin, Stdout: stdout, Stderr: stderr}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 126, broker.Wrap(err, broker.EINVALID, ReasonCommandFailed, "Cannot run "+argv[0]+".")
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			if s != os.Interrupt {
				_ = cmd.Process.Signal(s)
			}
		case err := <-waited:
			return exitCode(cmd, err), nil
		}
	}
}

func exitCode(cmd *exec.Cmd, err error) int {
	if err == nil {
		return 0
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := cmd.ProcessState.ExitCode(); code >= 0 {
		return code
	}
	return 1
}
