package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/broker-dev/broker/devstack"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", stderr)
	dataDir := fs.String("data-dir", "broker-dev-data", "`DIR` for the SQLite file, keys and demo passwords")
	host := fs.String("host", "127.0.0.1", "address to listen on (keep it on loopback)")
	port := fs.Int("port", 8080, "broker port")
	idpPort := fs.Int("idp-port", 8081, "demo SAML IdP port")
	oidcPort := fs.Int("oidc-port", 8082, "demo OpenID Provider port")
	awsPort := fs.Int("aws-port", 8083, "local AWS stand-in port (STS, sign-in, console)")
	appPort := fs.Int("app-port", 8084, "demo app port (an app that signs people in with the broker)")
	logFormat := fs.String("log-format", "text", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	// Say what the slow steps are before they start: a fresh machine's
	// first run generates keys, which takes a few seconds.
	if _, err := os.Stat(filepath.Join(*dataDir, "keys", "passwords.json")); err != nil {
		fmt.Fprintf(stderr, "broker dev: first run: generating signing keys and demo passwords in %s (a few seconds)…\n", *dataDir)
	}
	fmt.Fprintf(stderr, "broker dev: starting the demo IdP on %s, the demo OP on %s, the local AWS on %s, the demo app on %s and the broker on %s…\n",
		devAddr(*host, *idpPort), devAddr(*host, *oidcPort), devAddr(*host, *awsPort), devAddr(*host, *appPort), devAddr(*host, *port))
	st, err := devstack.Start(ctx, devstack.Options{DataDir: *dataDir, Host: *host, BrokerPort: *port, IDPPort: *idpPort, OIDCPort: *oidcPort, AWSPort: *awsPort, AppPort: *appPort, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, `
  broker dev is running.

    Portal        %s/
    Demo IdP      %s/  (SAML)
    Demo OP       %s/  (OpenID Connect)
    Local AWS     %s/  (STS, sign-in federation endpoint, console page)
    Demo app      %s/  ("Sign in with broker": an app using the broker's OpenID Provider)
    Config        %s

  Demo users (passwords are kept in %s/keys/passwords.json):
`, st.BrokerURL, st.IDPURL, st.OPURL, st.AWSURL, st.AppURL, st.ConfigPath, *dataDir)
	for _, u := range st.Users {
		otp := ""
		if u.OTP != "" {
			otp = "  one-time code: " + u.OTP + " (keys/otp.json)"
		}
		fmt.Fprintf(stdout, "    %-6s %-14s groups: %v%s\n", u.Username, u.Password, u.Groups, otp)
	}
	fmt.Fprintf(stdout, "\n  Open %s/ and sign in, or %s/ to sign in to the demo app. Ctrl-C stops everything.\n\n", st.BrokerURL, st.AppURL)
	select {
	case <-ctx.Done():
		return nil
	case err := <-st.Err():
		return err
	}
}

// devAddr is host:port as the progress lines name it.
func devAddr(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
