package access

import (
	"context"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// CredentialsInput asks for AWS credentials for a person, on behalf of an
// app (the credentials API): the identity is the one the IdP verified
// when the person signed in to the app through the broker.
type CredentialsInput struct {
	Identity broker.Identity
	Role     RoleRef
	// Duration asks for a credential lifetime (15m..12h); 0 = the grant's.
	// STS may shorten it to what the role allows (Outcome.Notices).
	Duration time.Duration
	// Client is the app asking (audit).
	Client string
	Meta   Meta
}

// Reasons Credentials reports.
const (
	ReasonPassThroughForApps = "pass_through_not_for_apps"
	ReasonDurationInvalid    = "duration_invalid"
)

// Credentials assumes a role the rules give the person now and returns the
// STS credentials, without a console URL: the same grant path as the
// portal (rules, broker-issued assertion or ID token, duration, session
// name, tags, source identity). Pass-through roles are refused: they need
// the IdP's own credential, which only the person's browser session
// holds. Every attempt is audited as "credentials_issued" for the app,
// and credentials are returned only once that record is written (else
// EUNAVAILABLE ReasonAuditUnavailable, the Outcome without them).
func (s *Service) Credentials(ctx context.Context, in CredentialsInput) (*Outcome, error) {
	out, err := s.credentials(ctx, in)
	ev := &store.AuditEvent{
		RequestID: in.Meta.RequestID, RemoteAddr: in.Meta.RemoteAddr, UserAgent: in.Meta.UserAgent,
		Event: "credentials_issued", Provider: in.Identity.Provider, Subject: in.Identity.Subject,
		Details: map[string]string{"client": in.Client},
	}
	if out != nil {
		ev.RoleARN, ev.SessionName = out.Grant.RoleARN, out.SessionName
		if d := downstreamOf(out.Grant); d != "" {
			ev.Details[DetailDownstream] = d
		}
	}
	if err != nil {
		ev.Result, ev.Reason, ev.Message = store.ResultFailure, broker.ErrorReason(err), broker.ErrorMessage(err)
		if ev.RoleARN == "" {
			ev.RoleARN = in.Role.Role
		}
		s.audit(ctx, ev)
		s.log.WarnContext(ctx, "credentials refused", "request_id", in.Meta.RequestID, "subject", ev.Subject,
			"client", in.Client, "reason", ev.Reason, "err", err)
		return out, err
	}
	ev.Result = store.ResultSuccess
	ev.Details["mode"] = string(out.Grant.Mode)
	ev.Details["rule"] = out.Grant.Rule
	ev.Details["access_key_id"] = redactKeyID(out.Credentials.AccessKeyID)
	ev.Details["credentials_exp"] = out.Credentials.Expiration.UTC().Format(time.RFC3339)
	if err := s.auditBefore(ctx, ev); err != nil {
		out.withhold()
		return out, err
	}
	s.log.InfoContext(ctx, "credentials issued", "request_id", in.Meta.RequestID, "subject", ev.Subject,
		"client", in.Client, "role", out.Grant.RoleARN, "credentials", out.Credentials)
	return out, nil
}

func (s *Service) credentials(ctx context.Context, in CredentialsInput) (*Outcome, error) {
	if in.Duration != 0 && (in.Duration < 15*time.Minute || in.Duration > 12*time.Hour) {
		return nil, broker.Errorf(broker.EINVALID, ReasonDurationInvalid,
			"Ask for a duration between 15 minutes and 12 hours, or none for the role's default.")
	}
	out, err := s.appGrant(in.Identity, in.Role)
	if err != nil {
		return out, err
	}
	if in.Duration != 0 {
		out.Grant.CredentialDuration = in.Duration
	}
	if err := s.assumeGrant(ctx, &Session{Identity: in.Identity}, out); err != nil {
		return out, err
	}
	return out, nil
}

// appGrant is the grant ref names among the roles the rules give id now,
// for an app (Credentials, Console): granted (SelectGrant, one rule set
// throughout), the rule's max_auth_age met, and not pass-through
// (ReasonPassThroughForApps). The Outcome holds the grant as far as it
// was found.
func (s *Service) appGrant(id broker.Identity, ref RoleRef) (*Outcome, error) {
	e := s.cfg.Rules.Engine()
	g, err := SelectGrant(e.Evaluate(&id), e.Accounts(), ref)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Grant: g}
	if err := s.checkAuthAge(g, &id); err != nil {
		return out, err
	}
	if g.Mode == broker.ModePassThrough {
		return out, broker.Errorf(broker.EFORBIDDEN, ReasonPassThroughForApps,
			"This role is reached with your identity provider's own sign-in, which apps do not hold: open it from the portal instead.")
	}
	return out, nil
}
