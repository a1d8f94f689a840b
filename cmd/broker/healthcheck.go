package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// runHealthcheck is `broker healthcheck`: one GET of /healthz (or /readyz)
// that exits 0 on 200 and 1 on anything else, for container health checks
// where the image has no shell or curl (the distroless image).
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", stderr)
	path := fs.String("config", "", "config `FILE`: check server.listen on loopback (only the server section is read)")
	base := fs.String("url", "", "the broker's base `URL` (default http://127.0.0.1:8080)")
	ready := fs.Bool("ready", false, "check /readyz (store and IdPs usable) instead of /healthz (process up)")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path != "" && *base != "" {
		fmt.Fprintln(stderr, "broker healthcheck: --config and --url exclude each other")
		return usageError{"--config and --url"}
	}
	target, roots, serverName, err := healthTarget(*path, *base)
	if err != nil {
		return err
	}
	endpoint := "/healthz"
	if *ready {
		endpoint = "/readyz"
	}
	target.Path = strings.TrimRight(target.Path, "/") + endpoint
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a health check talks to this broker, never through a proxy
	if roots != nil || serverName != "" {
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}
	}
	hc := &http.Client{Transport: tr, Timeout: *timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect is not a healthy answer
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s: %s", target, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s: %s\n", target, resp.Status)
	return nil
}

// healthTarget is the URL to check: --url as given, or the config's
// server.listen reached on loopback (":8080" and "0.0.0.0:8080" become
// 127.0.0.1:8080, "[::]:8080" [::1]:8080). A config that serves HTTPS
// itself (tls_cert_file) is checked over HTTPS, its certificate trusted
// as it is in that file, for the host of server.external_url.
func healthTarget(path, base string) (u *url.URL, roots *x509.CertPool, serverName string, err error) {
	if path == "" {
		if base == "" {
			base = "http://127.0.0.1:8080"
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, "", usageError{fmt.Sprintf("bad --url %q: want http(s)://host[:port]", base)}
		}
		u.RawQuery, u.Fragment = "", ""
		return u, nil, "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, "", err
	}
	// Only what the check needs: the rest of the config (secrets from the
	// environment, keys, IdPs) is the broker's to load, not the probe's.
	var doc struct {
		Server struct {
			Listen      string `yaml:"listen"`
			ExternalURL string `yaml:"external_url"`
			TLSCertFile string `yaml:"tls_cert_file"`
		} `yaml:"server"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", path, err)
	}
	listen := doc.Server.Listen
	if listen == "" {
		listen = ":8080" // config's default
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: server.listen %q: %w", path, listen, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	u = &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}
	if doc.Server.TLSCertFile == "" {
		return u, nil, "", nil
	}
	u.Scheme = "https"
	cert := doc.Server.TLSCertFile
	if !filepath.IsAbs(cert) {
		cert = filepath.Join(filepath.Dir(path), cert)
	}
	pem, err := os.ReadFile(cert)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: server.tls_cert_file: %w", path, err)
	}
	roots = x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, nil, "", errors.New(path + ": server.tls_cert_file has no PEM certificate")
	}
	if ext, err := url.Parse(doc.Server.ExternalURL); err == nil {
		serverName = ext.Hostname()
	}
	return u, roots, serverName, nil
}
