package access

import (
	"context"
	"errors"

	"log/slog"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/console"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/metrics"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/sts"
)

// Rules returns the rules engine in force now. Implementations may swap
// engines at any time (rules reloaded from the store); each call to Decide
// or Assume uses one engine throughout.
type Rules interface {
	Engine() *mapping.Engine
}

// SAMLIssuer mints the broker's own signed SAML Responses (issuer.SAML).
type SAMLIssuer interface {
	Issue(ctx context.Context, req issuer.SAMLRequest) (issuer.IssuedSAML, error)
}

// OIDCIssuer mints the broker's own ID tokens (issuer.OIDC).
type OIDCIssuer interface {
	Mint(ctx context.Context, req issuer.OIDCRequest) (issuer.IssuedToken, error)
}

// STS assumes roles (sts.Client).
type STS interface {
	AssumeRoleWithSAML(ctx context.Context, in sts.SAMLInput) (*sts.Result, error)
	AssumeRoleWithWebIdentity(ctx context.Context, in sts.WebIdentityInput) (*sts.Result, error)
}

// Console builds console sign-in URLs (console.Client).
type Console interface {
	LoginURL(ctx context.Context, req console.Request) (*console.Result, error)
}

// AuditLog receives audit records (store.Store).
type AuditLog interface {
	AppendAudit(ctx context.Context, e *store.AuditEvent) error
}

// Config holds the dependencies of a Service.
type Config struct {
	Rules      Rules
	SAMLIssuer SAMLIssuer // nil: broker-issued SAML grants fail with a clear error
	OIDCIssuer OIDCIssuer // nil: broker-issued web-identity grants fail with a clear error
	STS        STS
	Console    Console
	Audit      AuditLog
	// Metrics counts what the audit log records (sign-ins, role
	// assumptions) and audit writes that failed; nil = not counted.
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service is the access use case. It is safe for concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	health awsHealth
}

// New returns a Service. Rules, STS, Console and Audit are required.
func New(cfg Config) (*Service, error) {
	if cfg.Rules == nil || cfg.STS == nil || cfg.Console == nil || cfg.Audit == nil {
		return nil, errors.New("access: Rules, STS, Console and Audit are required")
	}
	s := &Service{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.health.svc = map[string]*awsState{}
	s.cfg.STS, s.cfg.Console = watchedSTS{cfg.STS, s}, watchedConsole{cfg.Console, s}
	return s, nil
}

// Decide evaluates the rules for id. It never fails: a rule that cannot be
// applied to this identity is explained in the decision's trace.
func (s *Service) Decide(id *broker.Identity) mapping.Decision {
	return s.cfg.Rules.Engine().Evaluate(id)
}

// Meta describes the request an action came from, for the audit log.
type Meta struct {
	RequestID  string
	RemoteAddr string
	UserAgent  string
}

// AssumeInput asks for a console session for one of the identity's grants.
type AssumeInput struct {
	// Session is the signed-in person. Assume marks its upstream SAML
	// Response used once STS has seen it (Outcome.SessionChanged).
	Session  *Session
	GrantKey string // broker.Grant.Key() of the chosen grant
	// Destination optionally overrides the grant's console destination
	// (deep links); it must be a console URL of the role's partition.
	Destination string
	Meta        Meta
}

// Outcome is a role assumption: on success, the console session; with an
// error, as far as it got (the grant, and whether the session changed).
type Outcome struct {
	Grant          broker.Grant
	Credentials    broker.Credentials
	SessionName    string
	ConsoleURL     string    // secret: send to the browser as a 302 only
	ConsoleExpires time.Time // console session end
	Notices        []sts.Notice
	// UsedUpstream is true when the upstream SAML Response was presented to
	// STS (pass-through).
	UsedUpstream bool
	// SessionChanged is true when Assume changed AssumeInput.Session (it
	// marked the upstream Response used, whether or not the attempt
	// succeeded): write the session back to the session store.
	SessionChanged bool
}

// Reasons access itself reports (other reasons come from sts, console, issuer).
const (
	ReasonRoleNotGranted       = "role_not_granted"
	ReasonUpstreamUsed         = "upstream_credential_used"
	ReasonUpstreamExpired      = "upstream_credential_expired"
	ReasonUpstreamMissing      = "upstream_credential_missing"
	ReasonIssuerDisabled       = "issuer_not_configured"
	ReasonUpstreamTokenExpired = "upstream_token_expired"
)

// Assume assumes the chosen role and builds the console login URL. Errors
// are *broker.Error; every attempt is audited, and a console URL is
// returned only once its audit records are written (else EUNAVAILABLE
// ReasonAuditUnavailable, the Outcome without credentials or URL). On an error, NextStep says
// what to do next (refresh the upstream token, sign in again, or show the
// error). The Outcome may be non-nil on an error: check SessionChanged.
func (s *Service) Assume(ctx context.Context, in AssumeInput) (*Outcome, error) {
	sess := in.Session
	out, err := s.assume(ctx, sess, in)
	if sess != nil && sess.spend(out, err) {
		out.SessionChanged = true
	}
	var provider, subject string
	if sess != nil {
		provider, subject = sess.Identity.Provider, sess.Identity.Subject
	}
	if err != nil && expectedRoundTrip(err) {
		// Pass-through's "open a second role": the sign-in's Response was
		// spent on the first, and the portal fetches a fresh one and comes
		// back. Nothing failed; the role opened after it is audited.
		s.log.InfoContext(ctx, "role needs a fresh upstream sign-in", "request_id", in.Meta.RequestID,
			"subject", subject, "grant", in.GrantKey, "reason", broker.ErrorReason(err))
		return out, err
	}
	err = s.auditConsole(ctx, consoleAudit{meta: in.Meta, provider: provider, subject: subject, role: roleFromKey(in.GrantKey)}, out, err)
	return out, err
}

func (s *Service) assume(ctx context.Context, sess *Session, in AssumeInput) (*Outcome, error) {
	if sess == nil {
		return nil, broker.Errorf(broker.EUNAUTHORIZED, "not_signed_in", "You are not signed in.")
	}
	grant, ok := findGrant(s.Decide(&sess.Identity), in.GrantKey)
	if !ok {
		return nil, broker.Errorf(broker.EFORBIDDEN, ReasonRoleNotGranted,
			"You do not have access to this role. Pick one of the roles listed on the portal.")
	}
	out := &Outcome{Grant: grant}
	if err := s.checkAuthAge(grant, &sess.Identity); err != nil {
		return out, err
	}
	if in.Destination != "" {
		arn, _ := broker.ParseARN(grant.RoleARN)
		if err := console.ValidateDestination(arn.Partition, in.Destination); err != nil {
			return out, err
		}
		out.Grant.Destination = in.Destination
	}
	if err := s.assumeGrant(ctx, sess, out); err != nil {
		return out, err
	}
	return out, s.consoleURL(ctx, out)
}

// consoleURL builds the console sign-in URL for out's credentials and
// grant (region, destination, console duration) and sets out's console
// fields. The portal (Assume) and the console API (Console) both come
// through here.
func (s *Service) consoleURL(ctx context.Context, out *Outcome) error {
	cr, err := s.cfg.Console.LoginURL(ctx, console.Request{
		Credentials:     out.Credentials,
		RoleARN:         out.Grant.RoleARN,
		Region:          out.Grant.Region,
		Destination:     out.Grant.Destination,
		SessionDuration: out.Grant.ConsoleDuration,
	})
	if err != nil {
		return err
	}
	out.ConsoleURL = cr.URL
	out.ConsoleExpires = cr.Expires
	out.Grant.Destination = cr.Destination
	return nil
}

// ReasonAuthTooOld: the grant's rule wants a more recent IdP sign-in
// (max_auth_age) than the identity's AuthnInstant.
const ReasonAuthTooOld = "auth_too_old"

// checkAuthAge refuses a grant whose rule has a max_auth_age the
// identity's IdP sign-in is older than (EEXPIRED ReasonAuthTooOld:
// NextStep sends the person to sign in afresh).
func (s *Service) checkAuthAge(g broker.Grant, id *broker.Identity) error {
	if g.MaxAuthAge <= 0 {
		return nil
	}
	if id.AuthnInstant.IsZero() || s.now().Sub(id.AuthnInstant) > g.MaxAuthAge {
		return broker.Errorf(broker.EEXPIRED, ReasonAuthTooOld,
			"This role needs a sign-in with your identity provider within the last %s: sign in again to open it.", g.MaxAuthAge)
	}
	return nil
}

// assumeGrant calls STS for out.Grant the way its downstream says
// (AssumeRoleWithSAML or AssumeRoleWithWebIdentity) and sets out's
// credentials and notices. The portal (Assume) and the credentials API
// (Credentials) both come through here.
func (s *Service) assumeGrant(ctx context.Context, sess *Session, out *Outcome) error {
	var res *sts.Result
	var err error
	switch out.Grant.Downstream {
	case broker.DownstreamSAML, "":
		res, err = s.assumeSAML(ctx, sess, out)
	case broker.DownstreamWebIdentity:
		res, err = s.assumeWebIdentity(ctx, sess, out)
	default:
		err = broker.Errorf(broker.EINVALID, "downstream_unknown", "This role has an unknown sign-in method %q. Contact your administrator.", out.Grant.Downstream)
	}
	if err != nil {
		return setupRefusal(out.Grant, &sess.Identity, err)
	}
	out.Credentials, out.Notices = res.Credentials, res.Notices
	return nil
}

func findGrant(d mapping.Decision, key string) (broker.Grant, bool) {
	for _, g := range d.Grants {
		if g.Key() == key {
			return g, true
		}
	}
	return broker.Grant{}, false
}

// ReasonAuditUnavailable (EUNAVAILABLE): the audit record of a role
// assumption, a credential or a console URL could not be written, so it
// was not handed out.
const ReasonAuditUnavailable = "audit_unavailable"

// audit writes ev and counts it in the metrics: every audit record of
// access goes through here (or auditBefore, or the sign-in transaction,
// which count the same way), so the two agree; a record the store did not
// take is counted as an audit write failure instead. A failure is logged
// (with the request id), not returned: for records of what did not happen
// (refusals, sign-outs).
func (s *Service) audit(ctx context.Context, ev *store.AuditEvent) {
	if err := s.cfg.Audit.AppendAudit(ctx, ev); err != nil {
		s.cfg.Metrics.AuditWriteFailed(ev.Event)
		s.log.ErrorContext(ctx, "audit write failed", "request_id", ev.RequestID, "event", ev.Event,
			"subject", ev.Subject, "reason", broker.ErrorReason(err), "err", err)
		return
	}
	s.count(ev)
}

// auditBefore writes the record of something about to be handed out
// (credentials, a console URL): when it cannot be written, nothing is
// handed out and the caller gets EUNAVAILABLE ReasonAuditUnavailable
// (503), with the failure logged under the request id.
func (s *Service) auditBefore(ctx context.Context, ev *store.AuditEvent) error {
	err := s.cfg.Audit.AppendAudit(ctx, ev)
	if err == nil {
		s.count(ev)
		return nil
	}
	s.cfg.Metrics.AuditWriteFailed(ev.Event)
	s.log.ErrorContext(ctx, "audit write failed: nothing handed out", "request_id", ev.RequestID, "event", ev.Event,
		"subject", ev.Subject, "role", ev.RoleARN, "reason", broker.ErrorReason(err), "err", err)
	return broker.Wrap(err, broker.EUNAVAILABLE, ReasonAuditUnavailable,
		"The broker could not record this in its audit log, so it did not hand it out. Try again in a few minutes; if it lasts, tell your administrator.")
}

// withhold clears what an Outcome would hand out (credentials, console
// URL) after its audit record failed.
func (out *Outcome) withhold() {
	out.Credentials = broker.Credentials{}
	out.ConsoleURL, out.ConsoleExpires = "", time.Time{}
}

// Audit records an event that happened outside Assume (sign-out, failures
// at the edge). Write errors are logged with the request id, not returned.
func (s *Service) Audit(ctx context.Context, ev *store.AuditEvent) { s.audit(ctx, ev) }

// expectedRoundTrip is an Assume error that is a step of a normal flow,
// not a failure: a pass-through role asked for after the sign-in's SAML
// Response was spent (the portal signs in again and retries).
func expectedRoundTrip(err error) bool {
	return broker.ErrorCode(err) == broker.EEXPIRED && broker.ErrorReason(err) == ReasonUpstreamUsed
}

func roleFromKey(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '|' {
			return key[:i]
		}
	}
	return ""
}

func redactKeyID(id string) string {
	if len(id) <= 8 {
		return ""
	}
	return id[:8] + "…"
}
