package webtest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/console"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/sts"
)

// The account and roles the environments grant.
const (
	Acct        = "111122223333"
	DevRole     = "arn:aws:iam::" + Acct + ":role/Developer"
	AdmRole     = "arn:aws:iam::" + Acct + ":role/Admin"
	IdPProvider = "arn:aws:iam::" + Acct + ":saml-provider/Okta"
)

// ErrString is an error with a fixed message.
type ErrString string

func (e ErrString) Error() string { return string(e) }

// FakeSP is a SAML provider whose ParseResponse returns a canned result.
type FakeSP struct {
	// Result is what ParseResponse returns (a copy), unless Err is set.
	Result *saml.Result
	Err    error
	// NotReady is what Ready returns.
	NotReady error
	// LastIn is the input of the last ParseResponse.
	LastIn saml.ACSInput
	// Logout is what ParseLogout returns (nil: an error); LogoutSuccess
	// the status of the last LogoutResponse the portal asked for.
	Logout        *saml.LogoutMessage
	LogoutSuccess *bool
	// LastLogin is the options of the last LoginRedirect.
	LastLogin   saml.LoginOptions
	seenLogouts map[string]bool
	reqN        int
}

func (f *FakeSP) Metadata() ([]byte, error) { return []byte("<EntityDescriptor/>"), nil }
func (f *FakeSP) Ready() error              { return f.NotReady }

// LoginRedirect names its requests id-a, id-aa, id-aaa, …
func (f *FakeSP) LoginRedirect(relay string, opts saml.LoginOptions) (string, string, error) {
	f.reqN++
	f.LastLogin = opts
	id := "id-" + strings.Repeat("a", f.reqN)
	return "https://idp.example.com/sso?SAMLRequest=x&RelayState=" + url.QueryEscape(relay), id, nil
}
func (f *FakeSP) ParseResponse(_ context.Context, in saml.ACSInput) (*saml.Result, error) {
	f.LastIn = in
	if f.Err != nil {
		return nil, f.Err
	}
	r := *f.Result
	return &r, nil
}

// MemSessions is the server-side session store in memory; it is also the
// store readiness pings and checks, and the replay cache.
type MemSessions struct {
	mu sync.Mutex
	// M holds the sessions by id.
	M map[string]store.Session
	// Down makes Ping fail.
	Down bool
	// Err, when set, fails every session call with it (a store outage).
	Err error
	// ReadOnly makes every write the broker must make before handing
	// something out fail as a read-only database does (EUNAVAILABLE):
	// CompleteSignIn, CheckWrite, and the audit log's AppendAudit.
	ReadOnly bool
	// Audit receives a sign-in's audit record (CompleteSignIn), as the
	// store's audit table; SignIns its sign-in record (nil: dropped).
	Audit interface {
		AppendAudit(ctx context.Context, e *store.AuditEvent) error
	}
	SignIns interface {
		RecordSignIn(ctx context.Context, s *store.SignIn) error
	}
	replay map[string]bool
}

// ErrReadOnly is what a MemSessions or AuditLog set ReadOnly answers.
var ErrReadOnly = broker.Wrap(errors.New("attempt to write a readonly database"), broker.EUNAVAILABLE, "store_read_only",
	"The broker cannot save anything right now, so it does nothing it could not record. Try again in a few minutes.")

// Remember is the replay cache (EREPLAY for a key seen before).
func (m *MemSessions) Remember(_ context.Context, ns, key string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.remember(ns, key)
}

func (m *MemSessions) remember(ns, key string) error {
	if m.Err != nil {
		return m.Err
	}
	if m.ReadOnly {
		return ErrReadOnly
	}
	if m.replay == nil {
		m.replay = map[string]bool{}
	}
	if m.replay[ns+"\x00"+key] {
		return broker.Errorf(broker.EREPLAY, "replay", "used")
	}
	m.replay[ns+"\x00"+key] = true
	return nil
}

// CompleteSignIn writes a sign-in as one: the replay entry (EREPLAY, and
// nothing written, when seen), the previous session's end, the session,
// the sign-in record and the audit record.
func (m *MemSessions) CompleteSignIn(ctx context.Context, w *store.SignInWrite) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if m.ReadOnly {
		return ErrReadOnly
	}
	if r := w.Replay; r.Namespace != "" {
		if err := m.remember(r.Namespace, r.Key); err != nil {
			return err
		}
	}
	if m.Audit != nil {
		if err := m.Audit.AppendAudit(ctx, w.Audit); err != nil {
			return err
		}
	}
	if w.SignIn != nil && m.SignIns != nil {
		if err := m.SignIns.RecordSignIn(ctx, w.SignIn); err != nil {
			return err
		}
	}
	delete(m.M, w.Replaces)
	m.M[w.Session.ID] = *w.Session
	return nil
}

// CheckWrite fails when ReadOnly or Err (an outage).
func (m *MemSessions) CheckWrite(context.Context) error {
	if m.Err != nil {
		return m.Err
	}
	if m.ReadOnly {
		return ErrReadOnly
	}
	return nil
}

func (m *MemSessions) CreateSession(_ context.Context, s *store.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	m.M[s.ID] = *s
	return nil
}
func (m *MemSessions) GetSession(_ context.Context, id string) (*store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	s, ok := m.M[id]
	if !ok {
		return nil, broker.Errorf(broker.ENOTFOUND, "session_not_found", "no session")
	}
	return &s, nil
}
func (m *MemSessions) UpdateSession(_ context.Context, id string, data []byte, exp time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	s := m.M[id]
	s.Data, s.ExpiresAt = data, exp
	m.M[id] = s
	return nil
}
func (m *MemSessions) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.M, id)
	return nil
}
func (m *MemSessions) Ping(context.Context) error {
	if m.Down || m.Err != nil {
		return errors.New("db down")
	}
	return nil
}

// FakeSTS hands out credentials and counts the calls in N.
type FakeSTS struct{ N int }

func (f *FakeSTS) AssumeRoleWithSAML(_ context.Context, in sts.SAMLInput) (*sts.Result, error) {
	f.N++
	return &sts.Result{Credentials: broker.Credentials{AccessKeyID: "ASIAFAKE", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Now().Add(time.Hour)}}, nil
}

func (f *FakeSTS) AssumeRoleWithWebIdentity(_ context.Context, in sts.WebIdentityInput) (*sts.Result, error) {
	f.N++
	return &sts.Result{Credentials: broker.Credentials{AccessKeyID: "ASIAFAKE", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Now().Add(time.Hour)}}, nil
}

// FakeConsole returns a federation login URL with a SigninToken.
type FakeConsole struct{}

func (FakeConsole) LoginURL(_ context.Context, r console.Request) (*console.Result, error) {
	return &console.Result{URL: "https://signin.aws.amazon.com/federation?Action=login&SigninToken=secret", Expires: time.Now().Add(time.Hour)}, nil
}

// FakeIssuer mints a fixed SAML Response.
type FakeIssuer struct{}

func (FakeIssuer) Issue(_ context.Context, r issuer.SAMLRequest) (issuer.IssuedSAML, error) {
	return issuer.IssuedSAML{Base64: "bWludGVk"}, nil
}

// AuditLog keeps the audit events in Events.
type AuditLog struct {
	mu     sync.Mutex
	Events []store.AuditEvent
	// ReadOnly makes AppendAudit fail with ErrReadOnly.
	ReadOnly bool
}

func (a *AuditLog) AppendAudit(_ context.Context, e *store.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ReadOnly {
		return ErrReadOnly
	}
	a.Events = append(a.Events, *e)
	return nil
}

// rulesOf is a fixed rule set.
type rulesOf struct{ e *mapping.Engine }

func (r rulesOf) Engine() *mapping.Engine { return r.e }

// The fake IdP sends no LogoutRequest of its own making: a test sets
// Logout to what ParseLogout returns (the message saml verified), to test
// what the portal does with it. Protocol-level single logout is tested
// against the demo IdP and SimpleSAMLphp.
func (f *FakeSP) MFARequest() []string        { return nil }
func (f *FakeSP) SingleLogoutSupported() bool { return false }
func (f *FakeSP) LogoutRequest(*broker.Identity, string) (*saml.Outbound, string, error) {
	return nil, "", ErrString("fake SP: no single logout")
}
func (f *FakeSP) ParseLogout(*http.Request, []string) (*saml.LogoutMessage, error) {
	if f.Logout == nil {
		return nil, broker.Errorf(broker.EINVALID, "logout_unsupported", "This identity provider has no single logout.")
	}
	m := *f.Logout
	return &m, nil
}

// RememberLogoutRequest refuses an ID seen before, as the replay cache does.
func (f *FakeSP) RememberLogoutRequest(_ context.Context, req *saml.LogoutRequestInfo) error {
	if f.seenLogouts == nil {
		f.seenLogouts = map[string]bool{}
	}
	if f.seenLogouts[req.ID] {
		return broker.Errorf(broker.EREPLAY, "replay", "This sign-out message was already used.")
	}
	f.seenLogouts[req.ID] = true
	return nil
}

// LogoutResponse answers on the Redirect binding; Success records the
// status the portal asked for.
func (f *FakeSP) LogoutResponse(_ *saml.LogoutRequestInfo, success bool, relay string) (*saml.Outbound, error) {
	f.LogoutSuccess = &success
	return &saml.Outbound{RedirectURL: "https://idp.example.com/slo?SAMLResponse=x&RelayState=" + url.QueryEscape(relay)}, nil
}
