package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devapp"
	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/localaws"
)

// Options configure a dev stack. Port 0 picks a free port.
type Options struct {
	DataDir    string
	Host       string // default 127.0.0.1
	BrokerPort int
	IDPPort    int
	OIDCPort   int
	AWSPort    int
	AppPort    int // the demo app's (package devapp); `broker dev` uses 8084
	Logger     *slog.Logger
	// Now is the clock of the broker, the demo IdPs and the local AWS
	// (tests move it forward to expire tokens); nil = time.Now.
	Now func() time.Time
	// NoRefreshTokens makes the broker ask the demo OP for no refresh
	// token, so an expired ID token needs a silent re-authentication.
	NoRefreshTokens bool
	// PostgresDSN puts the broker's store in PostgreSQL instead of the
	// SQLite file in DataDir (written to keys/store.dsn, 0600).
	PostgresDSN string
	// NoRateLimits turns the per-client rate limits off: a load test signs
	// everyone in from one loopback address.
	NoRateLimits bool
	// Configure, when set, changes the broker's configuration after it is
	// loaded from the generated file and before the broker starts (a test
	// turning on admin.require_mfa, say). The file keeps the defaults.
	Configure func(*config.Config)
}

// User is a demo user with the password generated for this data directory.
type User struct {
	Username, Password, DisplayName string
	Groups                          []string
	// OTP is the person's demo one-time code ("" without a second factor).
	OTP string
}

// Stack is a running dev stack.
type Stack struct {
	BrokerURL, IDPURL, OPURL, AWSURL string
	// AppURL is the demo app's origin. On loopback it is named by its IP
	// address (http://127.0.0.1:PORT) while the others are named localhost:
	// another site for the browser, as an app on its own domain would be.
	AppURL     string
	ConfigPath string
	// DemoAppSecret is the client secret of DemoAppID at the broker's
	// OpenID Provider (keys/demo-app.secret).
	DemoAppSecret string
	Users         []User
	App           *app.App
	IdP           *devidp.IdP
	OP            *devidp.OP
	AWS           *localaws.Server
	DemoApp       *devapp.App

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
	srvs   []*http.Server
}

// Start starts the five servers (broker, demo IdP, demo OP, local AWS, demo app) and
// returns when all of them accept connections. Call Close to stop them.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.DataDir == "" {
		return nil, errors.New("devstack: DataDir is required")
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("devstack: data dir: %w", err)
	}
	lns := make([]net.Listener, 0, 5)
	defer func() {
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
		}
	}()
	for _, port := range []int{o.BrokerPort, o.IDPPort, o.AWSPort, o.OIDCPort, o.AppPort} {
		ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("devstack: listen: %w", err)
		}
		lns = append(lns, ln)
	}
	// Browsers treat localhost and 127.0.0.1 as different sites (cookies):
	// name every URL one way, localhost, whatever address we listen on.
	urlOf := func(ln net.Listener) string {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		host := o.Host
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			host = "localhost"
		}
		return "http://" + net.JoinHostPort(host, port)
	}
	s := &Stack{BrokerURL: urlOf(lns[0]), IDPURL: urlOf(lns[1]), AWSURL: urlOf(lns[2]), OPURL: urlOf(lns[3]),
		AppURL: "http://" + lns[4].Addr().String(), errs: make(chan error, 5)}
	if ip := net.ParseIP(o.Host); ip == nil || !ip.IsLoopback() {
		_, port, _ := net.SplitHostPort(lns[4].Addr().String())
		s.AppURL = "http://" + net.JoinHostPort(o.Host, port)
	}

	sec, err := loadSecrets(o.DataDir)
	if err != nil {
		return nil, err
	}
	s.DemoAppSecret = sec.DemoAppSecret
	users := demoUsers()
	var idpUsers []devidp.User
	for _, u := range users {
		pw := sec.Passwords[u.Username]
		idpUsers = append(idpUsers, devidp.User{Username: u.Username, Password: pw, Email: u.Email,
			DisplayName: u.DisplayName, Groups: u.Groups, AWSRoles: u.AWSRoles, OTP: sec.OTPs[u.Username]})
		s.Users = append(s.Users, User{Username: u.Username, Password: pw, DisplayName: u.DisplayName, Groups: u.Groups, OTP: sec.OTPs[u.Username]})
	}
	s.IdP, err = devidp.New(devidp.Config{
		BaseURL: s.IDPURL, Users: idpUsers, Signing: &sec.IdPKey, Logger: log.With("component", "devidp"), Now: o.Now,
		ServiceProviders: []devidp.ServiceProvider{
			{EntityID: s.BrokerURL + "/saml/demo/metadata", ACSURL: s.BrokerURL + "/saml/demo/acs", SLOURL: s.BrokerURL + "/saml/demo/slo"},
			{EntityID: s.BrokerURL + "/saml/demo-aws/metadata", ACSURL: s.BrokerURL + "/saml/demo-aws/acs", AWS: true, SessionDuration: 4 * time.Hour},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: demo IdP: %w", err)
	}
	s.OP, err = devidp.NewOP(devidp.OPConfig{
		BaseURL: s.OPURL, Users: idpUsers, Signing: sec.OPKey.Key, RefreshTokens: true, Logger: log.With("component", "devop"), Now: o.Now,
		Clients: []devidp.Client{{ID: OIDCClientID, Secret: sec.OIDCSecret, RedirectURIs: []string{s.BrokerURL + "/oidc/demo-oidc/callback"},
			PostLogoutRedirectURIs: []string{s.BrokerURL + "/"}, BackchannelLogoutURI: s.BrokerURL + "/oidc/demo-oidc/backchannel-logout"}},
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: demo OP: %w", err)
	}
	brokerIdP, err := issuer.NewSAML(issuer.SAMLConfig{
		EntityID: s.BrokerURL + "/idp/saml/metadata", SSOURL: s.BrokerURL + "/idp/saml/sso", Signing: sec.IssuerKey, Now: o.Now,
	})
	if err != nil {
		return nil, err
	}
	brokerMD, err := brokerIdP.Metadata()
	if err != nil {
		return nil, err
	}
	// The local AWS's IAM (SAML providers, roles, trust policies) goes to a
	// file, as a real registry would, and is loaded from it.
	regPath := filepath.Join(o.DataDir, "aws-registry.yaml")
	// An administrator's own entries (IAMExtraFile) are merged in; the
	// generated file is rewritten at each start, the extra one never.
	merged, err := withIAMExtra(registry(s.IdP.Metadata(), brokerMD, s.OPURL, s.BrokerURL), o.DataDir)
	if err != nil {
		return nil, err
	}
	regYAML, err := yaml.Marshal(merged)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(regPath, append([]byte("# Generated by \"broker dev\" at each start: the local AWS's IAM, with "+IAMExtraFile+" merged in.\n# Edit "+IAMExtraFile+", not this file.\n"), regYAML...), 0o600); err != nil {
		return nil, err
	}
	reg, err := localaws.LoadRegistry(regPath)
	if err != nil {
		return nil, fmt.Errorf("devstack: local AWS registry: %w", err)
	}
	s.AWS, err = localaws.New(localaws.Config{Registry: reg, BaseURL: s.AWSURL, Logger: log.With("component", "localaws"), Now: o.Now})
	if err != nil {
		return nil, fmt.Errorf("devstack: local AWS: %w", err)
	}

	s.DemoApp, err = devapp.New(devapp.Config{
		BrokerURL: s.BrokerURL, ClientID: DemoAppID, ClientSecret: sec.DemoAppSecret, BaseURL: s.AppURL,
		AWSEndpoint: s.AWSURL, Logger: log.With("component", "devapp"), Now: o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: demo app: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.serve(lns[1], s.IdP, ComponentIdP)
	s.serve(lns[2], s.AWS, ComponentAWS)
	s.serve(lns[3], s.OP, ComponentOP)
	s.serve(lns[4], s.DemoApp, ComponentApp) // discovers the broker at its first sign-in
	lns = lns[:1]                            // the others belong to their servers now

	s.ConfigPath = filepath.Join(o.DataDir, "broker.yaml")
	storeYAML := "  driver: sqlite\n  dsn: broker.db\n"
	if o.PostgresDSN != "" {
		if err := os.WriteFile(filepath.Join(o.DataDir, "keys", "store.dsn"), []byte(o.PostgresDSN), 0o600); err != nil {
			s.Close()
			return nil, err
		}
		storeYAML = "  driver: postgres\n  dsn: file:keys/store.dsn\n"
	}
	if err := os.WriteFile(s.ConfigPath, []byte(configYAML(s, o.Host, !o.NoRefreshTokens, o.NoRateLimits, storeYAML)), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	cfg, probs := config.Load(s.ConfigPath)
	if errs := probs.Errors(); len(errs) > 0 {
		s.Close()
		return nil, fmt.Errorf("devstack: generated config is invalid:\n%w", errs)
	}
	if o.Configure != nil {
		o.Configure(cfg)
	}
	// The broker's goroutines (its store's pool among them) are labelled
	// from the start.
	Labelled(ctx, ComponentBroker, func(ctx context.Context) {
		s.App, err = app.New(ctx, cfg, app.Options{Logger: log.With("component", "broker"), Now: o.Now})
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	ln := lns[0]
	lns = nil
	s.wg.Add(1)
	go Labelled(runCtx, ComponentBroker, func(runCtx context.Context) {
		defer s.wg.Done()
		if err := s.App.Serve(runCtx, ln); err != nil {
			s.errs <- err
		}
	})
	// The broker loads the demo IdPs' metadata and discovery in the
	// background; the stack is started when every provider is ready, so the
	// sign-in page offers them all from the first request.
	if err := s.waitReady(ctx, 15*time.Second); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var notReady error
		for id, sp := range s.App.SAML {
			if err := sp.Ready(); err != nil {
				notReady = fmt.Errorf("provider %s: %w", id, err)
			}
		}
		for id, op := range s.App.OIDC {
			if err := op.Ready(); err != nil {
				notReady = fmt.Errorf("provider %s: %w", id, err)
			}
		}
		if notReady == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devstack: not ready after %v: %w", limit, notReady)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devstack: %w (%v)", ctx.Err(), notReady)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// serve serves h on ln, its goroutines labelled component.
func (s *Stack) serve(ln net.Listener, h http.Handler, component string) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.srvs = append(s.srvs, srv)
	s.wg.Add(1)
	go Labelled(context.Background(), component, func(context.Context) {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- err
		}
	})
}

// Err delivers the first server failure, if any.
func (s *Stack) Err() <-chan error { return s.errs }

// Close stops all servers and waits for them.
func (s *Stack) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	for _, srv := range s.srvs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
	s.wg.Wait()
	if s.App != nil {
		s.App.Close()
	}
}

func configYAML(s *Stack, host string, refreshTokens, noRateLimits bool, storeYAML string) string {
	limits := ""
	if noRateLimits {
		limits = "  rate_limits: {signin: {off: true}, api_token: {off: true}}\n"
	}
	return fmt.Sprintf(`# Generated by "broker dev" at each start; edit a copy for "broker serve".
server:
  listen: %q
  external_url: %q
  session_keys: ["file:keys/session.key"]
  # One instance on a laptop: no load balancer to drain (see README, Operate).
  shutdown_drain: 0s
`+limits+`store:
%s  encryption_keys: ["file:keys/store.key"]
aws:
  # The local stand-in for AWS; remove both lines to talk to real AWS.
  sts_endpoint: %q
  federation_url: %q
issuer:
  saml:
    provider_name: %s
    key: file:keys/issuer.key
    certificate: file:keys/issuer.crt
portal:
  title: AWS sign-in (dev)
providers:
  - id: demo
    label: Demo IdP
    type: saml
    mode: broker-issued
    metadata_url: %q
    allow_idp_initiated: true
    # "Sign in with MFA" asks the demo IdP for its second factor (alice's
    # one-time code, keys/otp.json): it then insists on the code.
    mfa_request: ["urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"]
  - id: demo-aws
    label: Demo IdP (AWS app, pass-through)
    type: saml
    mode: pass-through
    metadata_url: %q
    allow_idp_initiated: true
  - id: demo-oidc
    label: Demo OpenID Provider
    type: oidc
    mode: broker-issued
    issuer: %q
    client_id: %s
    client_secret: file:keys/oidc-client.secret
    refresh_tokens: %t
    userinfo: true
    mfa_request: ["https://refeds.org/profile/mfa"]
# Apps that sign people in through the broker (its OpenID Provider;
# discovery at %s/.well-known/openid-configuration).
apps:
  clients:
    - id: %s
      name: Demo app
      secret: file:keys/demo-app.secret
      # The organisation's own app: no consent screen.
      first_party: true
      redirect_uris: [%q]
      post_logout_redirect_uris: [%q]
      scopes: [openid, profile, email, groups, offline_access, "aws:roles", "aws:credentials"]
  # The broker's own command line (client broker-cli) is built in: see apps.cli.
%s`, listenAddr(host, s.BrokerURL), s.BrokerURL, storeYAML, s.AWSURL, s.AWSURL+"/federation", BrokerProvider,
		s.IDPURL+"/saml/metadata", s.IDPURL+"/saml/metadata", s.OPURL, OIDCClientID, refreshTokens,
		s.BrokerURL, DemoAppID, s.AppURL+"/callback", s.AppURL+"/", rulesYAML())
}

// listenAddr is where the broker listens: the configured host, the port of
// its URL.
func listenAddr(host, u string) string {
	_, port, _ := net.SplitHostPort(u[len("http://"):])
	return net.JoinHostPort(host, port)
}
