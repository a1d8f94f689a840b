package access

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/console"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/sts"
)

const (
	acct     = "111122223333"
	devRole  = "arn:aws:iam::" + acct + ":role/Developer"
	admRole  = "arn:aws:iam::" + acct + ":role/Admin"
	idpProv  = "arn:aws:iam::" + acct + ":saml-provider/Okta"
	brkProv  = "arn:aws:iam::" + acct + ":saml-provider/broker"
	upstream = "PHNhbWxwOlJlc3BvbnNlLz4=" // base64 "<samlp:Response/>", as STS is given it
)

// upstreamXML is the Response a session keeps (upstream decoded).
var upstreamXML = []byte("<samlp:Response/>")

type fakeSTS struct {
	mu     sync.Mutex
	calls  []sts.SAMLInput
	wcalls []sts.WebIdentityInput
	err    error
}

func (f *fakeSTS) AssumeRoleWithSAML(_ context.Context, in sts.SAMLInput) (*sts.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sts.Result{Credentials: broker.Credentials{AccessKeyID: "ASIAFAKEFAKEFAKE1234", SecretAccessKey: "s3cr3t", SessionToken: "t0k3n", Expiration: time.Now().Add(time.Hour)}}, nil
}

func (f *fakeSTS) AssumeRoleWithWebIdentity(_ context.Context, in sts.WebIdentityInput) (*sts.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wcalls = append(f.wcalls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sts.Result{Credentials: broker.Credentials{AccessKeyID: "ASIAFAKEFAKEFAKE1234", SecretAccessKey: "s3cr3t", SessionToken: "t0k3n", Expiration: time.Now().Add(time.Hour)}}, nil
}

type fakeOIDCIssuer struct{ reqs []issuer.OIDCRequest }

func (f *fakeOIDCIssuer) Mint(_ context.Context, r issuer.OIDCRequest) (issuer.IssuedToken, error) {
	f.reqs = append(f.reqs, r)
	return issuer.IssuedToken{Token: "minted.jwt.token", Expires: time.Now().Add(5 * time.Minute)}, nil
}

type fakeConsole struct {
	reqs []console.Request
	err  error
}

func (f *fakeConsole) LoginURL(_ context.Context, r console.Request) (*console.Result, error) {
	f.reqs = append(f.reqs, r)
	if f.err != nil {
		return nil, f.err
	}
	return &console.Result{URL: "https://signin.aws.amazon.com/federation?Action=login&SigninToken=x", Expires: time.Now().Add(r.SessionDuration), Destination: "https://console.aws.amazon.com/"}, nil
}

type fakeIssuer struct{ reqs []issuer.SAMLRequest }

func (f *fakeIssuer) Issue(_ context.Context, r issuer.SAMLRequest) (issuer.IssuedSAML, error) {
	f.reqs = append(f.reqs, r)
	return issuer.IssuedSAML{Base64: "bWludGVk", AssertionID: "_x"}, nil
}

type memAudit struct {
	mu  sync.Mutex
	evs []store.AuditEvent
	// fail, when set, is what AppendAudit returns (nothing is kept).
	fail error
}

func (m *memAudit) AppendAudit(_ context.Context, e *store.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.evs = append(m.evs, *e)
	return nil
}

type rules struct{ e *mapping.Engine }

func (r rules) Engine() *mapping.Engine { return r.e }

func newService(t *testing.T, st *fakeSTS) (*Service, *fakeConsole, *fakeIssuer, *memAudit) {
	t.Helper()
	e, err := mapping.Compile([]mapping.Rule{
		{
			Name: "devs",
			When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: acct, Role: "Developer", ConsoleDuration: mapping.Duration(2 * time.Hour),
				SessionTags: map[string]string{"team": "dev"}},
		},
		{
			Name:  "passthrough",
			When:  mapping.Group{All: []mapping.Condition{{Attribute: broker.SAMLAttrRole, Exists: true}}},
			Grant: mapping.GrantSpec{Mode: string(broker.ModePassThrough), Role: "*"},
		},
	}, mapping.Options{BrokerSAMLProviderName: "broker"})
	if err != nil {
		t.Fatal(err)
	}
	c, is, au := &fakeConsole{}, &fakeIssuer{}, &memAudit{}
	s, err := New(Config{Rules: rules{e}, SAMLIssuer: is, STS: st, Console: c, Audit: au})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, is, au
}

func identity() *broker.Identity {
	return &broker.Identity{
		Provider: "okta", Protocol: broker.ProtocolSAML, Subject: "alice",
		Attributes:      map[string][]string{"groups": {"dev"}, "email": {"alice@example.com"}, broker.SAMLAttrRole: {admRole + "," + idpProv}},
		Roles:           []broker.RolePair{{RoleARN: admRole, ProviderARN: idpProv}},
		RoleSessionName: "alice.upstream", SessionDuration: 30 * time.Minute,
		Expires: time.Now().Add(5 * time.Minute),
	}
}

func grantKey(t *testing.T, s *Service, id *broker.Identity, role string) string {
	t.Helper()
	for _, g := range s.Decide(id).Grants {
		if g.RoleARN == role {
			return g.Key()
		}
	}
	t.Fatalf("no grant for %s", role)
	return ""
}

func TestAssumeBrokerIssued(t *testing.T) {
	st := &fakeSTS{}
	s, con, is, au := newService(t, st)
	id := identity()
	sess := &Session{Identity: *id, samlResponse: upstreamXML}
	out, err := s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: grantKey(t, s, id, devRole), Meta: Meta{RequestID: "r1", RemoteAddr: "192.0.2.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(is.reqs) != 1 || is.reqs[0].Role != (broker.RolePair{RoleARN: devRole, ProviderARN: brkProv}) {
		t.Fatalf("issuer request %+v", is.reqs)
	}
	if is.reqs[0].RoleSessionName != "alice@example.com" || is.reqs[0].PrincipalTags["team"] != "dev" {
		t.Errorf("issued session name %q tags %v", is.reqs[0].RoleSessionName, is.reqs[0].PrincipalTags)
	}
	if st.calls[0].Assertion != "bWludGVk" || st.calls[0].PrincipalARN != brkProv {
		t.Errorf("STS got %+v, want the minted assertion", st.calls[0])
	}
	if out.UsedUpstream || sess.used || out.SessionChanged {
		t.Error("broker-issued must not consume the upstream assertion")
	}
	if con.reqs[0].SessionDuration != 2*time.Hour || con.reqs[0].RoleARN != devRole {
		t.Errorf("console request %+v", con.reqs[0])
	}
	if len(au.evs) != 2 || au.evs[0].Event != "role_assumed" || au.evs[0].Result != store.ResultSuccess || au.evs[1].Event != "console_url_issued" {
		t.Fatalf("audit %+v", au.evs)
	}
	for _, e := range au.evs {
		for k, v := range e.Details {
			if strings.Contains(v, "s3cr3t") || strings.Contains(v, "t0k3n") || strings.Contains(v, "SigninToken") {
				t.Errorf("audit detail %s leaks a secret: %q", k, v)
			}
		}
	}
}

func TestAssumePassThrough(t *testing.T) {
	st := &fakeSTS{}
	s, _, is, _ := newService(t, st)
	id := identity()
	key := grantKey(t, s, id, admRole)
	sess := &Session{Identity: *id, samlResponse: upstreamXML}
	out, err := s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if len(is.reqs) != 0 {
		t.Error("pass-through minted an assertion")
	}
	in := st.calls[0]
	if in.Assertion != upstream || in.PrincipalARN != idpProv || in.AssertionMaxDuration != 30*time.Minute {
		t.Errorf("STS input %+v", in)
	}
	if !out.UsedUpstream || out.SessionName != "alice.upstream" {
		t.Errorf("outcome %+v", out)
	}
	if !sess.used || !out.SessionChanged {
		t.Errorf("upstream Response not marked used: used %v, changed %v", sess.used, out.SessionChanged)
	}
}

func TestAssumeFailures(t *testing.T) {
	expired := identity()
	expired.Expires = time.Now().Add(-time.Second)
	stsErr := broker.Errorf(broker.EFORBIDDEN, "sts_access_denied", "trust policy")
	sess := func(id *broker.Identity, saml string, used bool) *Session {
		s := &Session{Identity: *id, used: used}
		if saml != "" {
			s.samlResponse, _ = base64.StdEncoding.DecodeString(saml)
		}
		return s
	}
	tests := []struct {
		name    string
		sess    *Session
		key     func(s *Service) string
		dest    string
		stsErr  error
		code    string
		reason  string
		stsUsed bool
		// noAudit: an expected step of a flow, not a failure (no row).
		noAudit bool
	}{
		{"not granted", sess(identity(), "", false), func(*Service) string { return "arn:aws:iam::999999999999:role/X||saml" }, "", nil, broker.EFORBIDDEN, ReasonRoleNotGranted, false, false},
		{"pass-through without response", sess(identity(), "", false), func(s *Service) string { return grantKey(t, s, identity(), admRole) }, "", nil, broker.EEXPIRED, ReasonUpstreamMissing, false, false},
		{"pass-through already used", sess(identity(), upstream, true), func(s *Service) string { return grantKey(t, s, identity(), admRole) }, "", nil, broker.EEXPIRED, ReasonUpstreamUsed, false, true},
		{"pass-through expired", sess(expired, upstream, false), func(s *Service) string { return grantKey(t, s, identity(), admRole) }, "", nil, broker.EEXPIRED, ReasonUpstreamExpired, false, false},
		{"bad destination", sess(identity(), "", false), func(s *Service) string { return grantKey(t, s, identity(), devRole) }, "https://evil.example.com/", nil, broker.EINVALID, "destination_not_allowed", false, false},
		{"sts refuses", sess(identity(), "", false), func(s *Service) string { return grantKey(t, s, identity(), devRole) }, "", stsErr, broker.EFORBIDDEN, "sts_access_denied", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeSTS{err: tt.stsErr}
			s, _, _, au := newService(t, st)
			cp := *tt.sess
			in := AssumeInput{Session: &cp, GrantKey: tt.key(s), Destination: tt.dest, Meta: Meta{RequestID: "r"}}
			_, err := s.Assume(context.Background(), in)
			if broker.ErrorCode(err) != tt.code || broker.ErrorReason(err) != tt.reason {
				t.Fatalf("err = %v, want %s/%s", err, tt.code, tt.reason)
			}
			if (len(st.calls) > 0) != tt.stsUsed {
				t.Errorf("STS called %d times", len(st.calls))
			}
			if tt.noAudit {
				if len(au.evs) != 0 {
					t.Errorf("an expected round trip wrote audit rows %+v", au.evs)
				}
				return
			}
			if len(au.evs) != 1 || au.evs[0].Result != store.ResultFailure || au.evs[0].Reason != tt.reason || au.evs[0].Subject != "alice" {
				t.Errorf("audit %+v", au.evs)
			}
		})
	}
}

func TestSessionName(t *testing.T) {
	id := &broker.Identity{Subject: "CN=Alice Smith,OU=x", Attributes: map[string][]string{}}
	if got := SessionName(broker.Grant{}, id); got != "CN=Alice-Smith,OU=x" {
		t.Errorf("from subject: %q", got)
	}
	id.Attributes["email"] = []string{"a@example.com"}
	if got := SessionName(broker.Grant{}, id); got != "a@example.com" {
		t.Errorf("from email: %q", got)
	}
	if got := SessionName(broker.Grant{SessionName: "custom name"}, id); got != "custom-name" {
		t.Errorf("from grant: %q", got)
	}
}

func TestNewRequiresDependencies(t *testing.T) {
	if _, err := New(Config{}); err == nil || errors.Is(err, context.Canceled) {
		t.Fatal("New accepted a config without dependencies")
	}
}

func webIdentityService(t *testing.T) (*Service, *fakeSTS, *fakeOIDCIssuer) {
	t.Helper()
	e, err := mapping.Compile([]mapping.Rule{
		{Name: "wi-pass", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: acct, Role: "WebDev", Mode: string(broker.ModePassThrough), Downstream: string(broker.DownstreamWebIdentity)}},
		{Name: "wi-issued", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: acct, Role: "WebAdmin", Mode: string(broker.ModeBrokerIssued), Downstream: string(broker.DownstreamWebIdentity),
				SessionTags: map[string]string{"team": "dev"}}},
	}, mapping.Options{DefaultAudience: "sts.amazonaws.com"})
	if err != nil {
		t.Fatal(err)
	}
	st, oi := &fakeSTS{}, &fakeOIDCIssuer{}
	s, err := New(Config{Rules: rules{e}, STS: st, OIDCIssuer: oi, Console: &fakeConsole{}, Audit: &memAudit{}})
	if err != nil {
		t.Fatal(err)
	}
	return s, st, oi
}

func TestAssumeWebIdentity(t *testing.T) {
	s, st, oi := webIdentityService(t)
	id := &broker.Identity{Provider: "keycloak", Protocol: broker.ProtocolOIDC, Subject: "bob", RoleSessionName: "bob@example.com",
		Attributes: map[string][]string{"groups": {"dev"}, "email": {"bob@example.com"}}}
	up := NewOIDCSession(*id, "upstream.id.token", time.Now().Add(time.Hour), "")
	key := func(role string) string { return grantKey(t, s, id, "arn:aws:iam::"+acct+":role/"+role) }

	if _, err := s.Assume(context.Background(), AssumeInput{Session: up, GrantKey: key("WebDev")}); err != nil {
		t.Fatal(err)
	}
	if in := st.wcalls[0]; in.Token != "upstream.id.token" || in.RoleSessionName != "bob@example.com" {
		t.Errorf("pass-through input %+v", in)
	}
	if _, err := s.Assume(context.Background(), AssumeInput{Session: up, GrantKey: key("WebAdmin")}); err != nil {
		t.Fatal(err)
	}
	if r := oi.reqs[0]; r.Subject != "keycloak:bob" || r.Audience != "sts.amazonaws.com" || r.PrincipalTags["team"] != "dev" {
		t.Errorf("minted %+v", r)
	}
	if in := st.wcalls[1]; in.Token != "minted.jwt.token" || in.RoleSessionName != "bob@example.com" {
		t.Errorf("broker-issued input %+v", in)
	}
	// An expired upstream token asks for a fresh one; STS is not called.
	up.idTokenExpires = time.Now().Add(-time.Second)
	_, err := s.Assume(context.Background(), AssumeInput{Session: up, GrantKey: key("WebDev")})
	if broker.ErrorCode(err) != broker.EEXPIRED || broker.ErrorReason(err) != ReasonUpstreamTokenExpired || len(st.wcalls) != 2 {
		t.Fatalf("expired upstream token: %v, %d calls", err, len(st.wcalls))
	}
	// An OIDC session that holds no ID token (none kept: no pass-through
	// role at sign-in) asks for a fresh one the same way.
	_, err = s.Assume(context.Background(), AssumeInput{Session: NewOIDCSession(*id, "", time.Time{}, "refresh"), GrantKey: key("WebDev")})
	if broker.ErrorReason(err) != ReasonUpstreamTokenExpired || len(st.wcalls) != 2 {
		t.Fatalf("OIDC session without its ID token: %v, %d calls", err, len(st.wcalls))
	}
	// A SAML sign-in (no ID token) cannot use a pass-through web identity role.
	samlID := *id
	samlID.Protocol = broker.ProtocolSAML
	_, err = s.Assume(context.Background(), AssumeInput{Session: &Session{Identity: samlID}, GrantKey: key("WebDev")})
	if broker.ErrorReason(err) != ReasonUpstreamMissing {
		t.Fatalf("no upstream token: %v", err)
	}
}
