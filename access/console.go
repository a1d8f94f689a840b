package access

import (
	"context"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// ConsoleInput asks for an AWS console sign-in URL for a person, on
// behalf of an app (the console API, the command line's broker console):
// the identity is the one the IdP verified when the person signed in to
// the app through the broker.
type ConsoleInput struct {
	Identity broker.Identity
	Role     RoleRef
	// Destination is a console URL of the role's partition or a service's
	// short name ("s3"); "" = the grant's (ResolveDestination).
	Destination string
	// Region, when given, replaces the grant's: the regional sign-in
	// endpoint and, without a destination, the console home there.
	Region string
	// Duration asks for a console session length (15m..12h); 0 = the grant's.
	Duration time.Duration
	// Client is the app asking (audit).
	Client string
	Meta   Meta
}

// Console assumes a role the rules give the person now and returns the
// console sign-in URL (Outcome.ConsoleURL: secret, for the person's
// browser only), by the portal's grant path: SelectGrant, the rule's
// max_auth_age, a broker-issued credential, STS, console.LoginURL.
// Pass-through roles are refused as for Credentials
// (ReasonPassThroughForApps: the portal opens them). Audited as the
// portal's console sign-in ("role_assumed", "console_url_issued") with
// Details client, before the URL is returned (EUNAVAILABLE
// ReasonAuditUnavailable when those records cannot be written). Errors
// are *broker.Error.
func (s *Service) Console(ctx context.Context, in ConsoleInput) (*Outcome, error) {
	out, err := s.console(ctx, in)
	err = s.auditConsole(ctx, consoleAudit{meta: in.Meta, provider: in.Identity.Provider, subject: in.Identity.Subject,
		role: in.Role.Role, client: in.Client}, out, err)
	return out, err
}

func (s *Service) console(ctx context.Context, in ConsoleInput) (*Outcome, error) {
	if in.Duration != 0 && (in.Duration < 15*time.Minute || in.Duration > 12*time.Hour) {
		return nil, broker.Errorf(broker.EINVALID, ReasonDurationInvalid,
			"Ask for a console session between 15 minutes and 12 hours, or none for the role's default.")
	}
	out, err := s.appGrant(in.Identity, in.Role)
	if err != nil {
		return out, err
	}
	dest, err := ResolveDestination(out.Grant.RoleARN, in.Destination, in.Region)
	if err != nil {
		return out, err
	}
	if dest != "" {
		out.Grant.Destination = dest
	}
	if in.Region != "" {
		out.Grant.Region = in.Region
	}
	if in.Duration != 0 {
		out.Grant.ConsoleDuration = in.Duration
	}
	if err := s.assumeGrant(ctx, &Session{Identity: in.Identity}, out); err != nil {
		return out, err
	}
	return out, s.consoleURL(ctx, out)
}

// consoleAudit is who asked for a console sign-in, for its audit records.
type consoleAudit struct {
	meta              Meta
	provider, subject string
	// role names the role asked for, recorded when the attempt failed
	// before a grant was found.
	role string
	// client is the app that asked ("" for the portal).
	client string
}

// auditConsole writes the audit records of a console sign-in: "role_assumed"
// (success, or the failure and its reason) and on success
// "console_url_issued"; with Details client when an app asked. It logs the
// outcome (never the URL or the credentials' secrets) and returns the
// error to hand on: err on a failure, and on a success nil once both
// records are written, else the audit failure (out's credentials and URL
// withheld).
func (s *Service) auditConsole(ctx context.Context, a consoleAudit, out *Outcome, err error) error {
	ev := &store.AuditEvent{
		RequestID:  a.meta.RequestID,
		RemoteAddr: a.meta.RemoteAddr,
		UserAgent:  a.meta.UserAgent,
		Event:      "role_assumed",
		Provider:   a.provider,
		Subject:    a.subject,
	}
	withClient := func(d map[string]string) map[string]string {
		if a.client != "" {
			if d == nil {
				d = map[string]string{}
			}
			d["client"] = a.client
		}
		return d
	}
	if out != nil {
		ev.RoleARN = out.Grant.RoleARN
		ev.SessionName = out.SessionName
	}
	if err != nil {
		ev.Result = store.ResultFailure
		ev.Reason = broker.ErrorReason(err)
		ev.Message = broker.ErrorMessage(err)
		ev.Details = withClient(nil)
		if out != nil && out.Grant.RoleARN != "" {
			if ev.Details == nil {
				ev.Details = map[string]string{}
			}
			ev.Details[DetailDownstream] = downstreamOf(out.Grant)
		}
		if ev.RoleARN == "" {
			ev.RoleARN = a.role
		}
		s.audit(ctx, ev)
		s.log.WarnContext(ctx, "role assumption failed", "request_id", a.meta.RequestID,
			"subject", ev.Subject, "role", a.role, "client", a.client, "reason", ev.Reason, "err", err)
		return err
	}
	ev.Result = store.ResultSuccess
	ev.Details = withClient(map[string]string{
		"mode":            string(out.Grant.Mode),
		DetailDownstream:  downstreamOf(out.Grant),
		"rule":            out.Grant.Rule,
		"access_key_id":   redactKeyID(out.Credentials.AccessKeyID),
		"credentials_exp": out.Credentials.Expiration.UTC().Format(time.RFC3339),
		"console_exp":     out.ConsoleExpires.UTC().Format(time.RFC3339),
	})
	issued := &store.AuditEvent{
		RequestID: a.meta.RequestID, RemoteAddr: a.meta.RemoteAddr, UserAgent: a.meta.UserAgent,
		Event: "console_url_issued", Result: store.ResultSuccess,
		Provider: ev.Provider, Subject: ev.Subject,
		RoleARN: out.Grant.RoleARN, SessionName: out.SessionName,
		Details: withClient(map[string]string{"destination": out.Grant.Destination}),
	}
	for _, e := range []*store.AuditEvent{ev, issued} {
		if aerr := s.auditBefore(ctx, e); aerr != nil {
			out.withhold()
			return aerr
		}
	}
	s.log.InfoContext(ctx, "role assumed", "request_id", a.meta.RequestID, "subject", ev.Subject,
		"role", out.Grant.RoleARN, "mode", out.Grant.Mode, "session_name", out.SessionName,
		"client", a.client, "credentials", out.Credentials)
	return nil
}
