package oidc

import (
	"context"
	"fmt"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/broker-dev/broker"
)

// RefusedError is the private cause (broker.Error.Err) of every refused
// sign-in, refresh or OP answer: what the audit record needs beyond the
// reason. Read it with errors.As.
type RefusedError struct {
	// Subject is the sub of an ID token whose signature verified, and only
	// that: "" for every refusal before (or of) the signature.
	Subject string
	// OPError and OPErrorDescription are the error the OP sent back to
	// the callback (unverified, clipped).
	OPError, OPErrorDescription string
	Err                         error
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// VerifiedSubject is Subject: the person the OP vouched for in an ID
// token the broker then refused.
func (e *RefusedError) VerifiedSubject() string { return e.Subject }

// AuditDetails are the OP's error code and description, nil when there
// is none.
func (e *RefusedError) AuditDetails() map[string]string {
	if e.OPError == "" {
		return nil
	}
	d := map[string]string{"error": e.OPError}
	if e.OPErrorDescription != "" {
		d["error_description"] = e.OPErrorDescription
	}
	return d
}

// fail builds the error for a refusal: the message for the person (what
// happened and who must act), the private cause for the log.
func (p *Provider) fail(code, reason string, cause error) error {
	return p.refusal(code, reason, messageFor(code, reason), cause)
}

func (p *Provider) refusal(code, reason, msg string, cause error) *broker.Error {
	return &broker.Error{Code: code, Reason: reason, Message: msg,
		Err: &RefusedError{Err: fmt.Errorf("oidc: %s: %w", p.cfg.ID, cause)}}
}

// refusedFor is fail for a refusal of an ID token whose signature
// verified: it names the token's subject.
func (p *Provider) refusedFor(subject, code, reason string, cause error) error {
	e := p.refusal(code, reason, messageFor(code, reason), cause)
	e.Err.(*RefusedError).Subject = subject
	return e
}

// verifyError classifies go-oidc's refusal of an ID token. go-oidc checks
// the signature first, then the issuer and the audience: an audience
// refusal is of a token the OP signed, so its subject is read again
// through a verifier that skips only that check.
func (p *Provider) verifyError(ctx context.Context, op *gooidc.Provider, raw string, err error) error {
	code, reason := classifyVerify(err)
	if reason == "audience_mismatch" {
		lax := op.Verifier(&gooidc.Config{SkipClientIDCheck: true, SkipExpiryCheck: true, SupportedSigningAlgs: p.cfg.SigningAlgorithms})
		subject := ""
		if idt, lerr := lax.Verify(p.httpContext(ctx), raw); lerr == nil {
			subject = idt.Subject
		}
		return p.refusedFor(subject, code, reason, err)
	}
	return p.fail(code, reason, err)
}

// classifyVerify names go-oidc's refusal of a signed token (ID token or
// logout token): its code and reason.
func classifyVerify(err error) (code, reason string) {
	m := err.Error()
	switch {
	case strings.Contains(m, "issued by a different provider"):
		return broker.EUNAUTHORIZED, "issuer_mismatch"
	case strings.Contains(m, "expected audience"):
		return broker.EUNAUTHORIZED, "audience_mismatch"
	case strings.Contains(m, "unsupported algorithm"), strings.Contains(m, "signing algorithm"), strings.Contains(m, "unexpected signature algorithm"):
		return broker.EUNAUTHORIZED, "algorithm_not_allowed"
	case strings.Contains(m, "failed to verify signature"), strings.Contains(m, "malformed"):
		return broker.EUNAUTHORIZED, "signature_invalid"
	case strings.Contains(m, "fetching keys"), strings.Contains(m, "get keys"):
		return broker.EUPSTREAM, "jwks_unavailable"
	}
	return broker.EUNAUTHORIZED, "id_token_invalid"
}

// What the person reads, by reason: what happened and who must act. The
// reason itself stays in the log and the audit record.
const (
	msgNotVerified = "Sign-in failed: the answer from your identity provider could not be verified. Sign in again; if it keeps failing, an administrator must check this provider's settings in the broker."
	msgOtherClient = "Sign-in failed: the ID token from your identity provider is meant for another application. An administrator must check this provider's client id in the broker and at the identity provider."
	msgBadToken    = "Sign-in failed: the ID token from your identity provider lacks what the broker requires (sub, iat). An administrator must check the identity provider's settings for the broker."
	msgOtherLogin  = "Sign-in failed: this answer from your identity provider belongs to another sign-in, or one that has timed out. Start again from the portal's sign-in page."
)

var messages = map[string]string{
	"code_missing":                 "Sign-in failed: the answer from your identity provider came back without a code. Start again from the portal's sign-in page.",
	"code_rejected":                "Sign-in failed: your identity provider did not accept this sign-in's code (it may have been used or have expired). Start again from the portal's sign-in page.",
	"client_authentication_failed": "Sign-in failed: your identity provider did not accept the broker's client credentials. An administrator must check this provider's client id and secret in the broker.",
	"token_endpoint_unreachable":   "Sign-in failed: the broker could not reach your identity provider. Try again in a few minutes; if it lasts, tell your administrator.",
	"refresh_refused":              "Your sign-in with your identity provider has ended. Sign in again.",
	"id_token_missing":             "Sign-in failed: your identity provider answered without an ID token. An administrator must check that the provider is set up for OpenID Connect (the openid scope).",
	"issuer_mismatch":              "Sign-in failed: the ID token names another issuer than the identity provider set up here. An administrator must check this provider's issuer in the broker.",
	"audience_mismatch":            msgOtherClient,
	"azp_mismatch":                 msgOtherClient,
	"algorithm_not_allowed":        "Sign-in failed: your identity provider signs with an algorithm this broker does not accept. An administrator must switch the identity provider to RS256 or ES256, which AWS also accepts (or allow the algorithm in the broker).",
	"signature_invalid":            msgNotVerified,
	"id_token_invalid":             msgNotVerified,
	"jwks_unavailable":             "Sign-in failed: the broker could not fetch your identity provider's signing keys. Try again in a few minutes; if it lasts, tell your administrator.",
	"sub_missing":                  msgBadToken,
	"iat_missing":                  msgBadToken,
	"token_expired":                "Sign-in failed: the ID token from your identity provider had expired when it reached the broker. Sign in again; if it happens right after you signed in, the broker's clock or your identity provider's is off, and an administrator must set it right.",
	"issued_in_future":             "Sign-in failed: the ID token from your identity provider is dated in the future: the broker's clock or your identity provider's is off. An administrator must set it right.",
	"nonce_mismatch":               msgOtherLogin,
	"nonce_missing":                msgOtherLogin,
	"sub_changed":                  "Your identity provider now names you differently than when you signed in. Sign in again.",
	"userinfo_failed":              "Sign-in failed: the broker could not read your profile from your identity provider. Try again in a few minutes; if it lasts, tell your administrator.",
	"userinfo_sub_mismatch":        "Sign-in failed: your identity provider's profile answer is about someone else than its ID token. An administrator must check the identity provider.",
	ReasonAuthTimeMissing:          "Sign-in failed: this access needs a recent sign-in, and your identity provider did not say when you signed in (auth_time). An administrator must set the identity provider up to send auth_time.",
	ReasonAuthTimeTooOld:           "Sign-in failed: this access needs a recent sign-in, and your identity provider reused an older one instead of asking you again. Sign in again; if it keeps happening, an administrator must check that the identity provider honours max_age.",
}

// Reasons of the refusals of a sign-in sent with a max age (AuthRequest.MaxAge, WithMaxAge).
const (
	ReasonAuthTimeMissing = "auth_time_missing" // max_age sent, no auth_time in the ID token
	ReasonAuthTimeTooOld  = "auth_time_too_old" // auth_time older than max_age (+ skew)
)

// messageFor is the message of a reason, else of its code.
func messageFor(code, reason string) string {
	if m, ok := messages[reason]; ok {
		return m
	}
	switch code {
	case broker.EEXPIRED:
		return messages["refresh_refused"]
	case broker.EUPSTREAM:
		return messages["token_endpoint_unreachable"]
	case broker.EINVALID:
		return messages["code_missing"]
	}
	return msgNotVerified
}

// expired is a token_expired refusal of a verified token issued age ago.
func (p *Provider) expired(subject string, cause error, age time.Duration) error {
	e := p.refusedFor(subject, broker.EEXPIRED, "token_expired", cause).(*broker.Error)
	if age > 0 {
		e.Message = fmt.Sprintf("Sign-in failed: the ID token from your identity provider was issued %s before it reached the broker and had expired. Sign in again. If you had only just signed in, the broker's clock or your identity provider's is off by about %s, and an administrator must set it right.", approx(age), approx(age))
	}
	return e
}

// early is an issued_in_future refusal of a verified token dated ahead.
func (p *Provider) early(subject string, cause error, ahead time.Duration) error {
	e := p.refusedFor(subject, broker.EUNAUTHORIZED, "issued_in_future", cause).(*broker.Error)
	e.Message = fmt.Sprintf("Sign-in failed: the broker's clock or your identity provider's is off by about %s: the ID token is dated that far in the future, and the broker tolerates %s. An administrator must set the clocks right; sign in again once they agree.", approx(ahead), approx(p.cfg.ClockSkew))
	return e
}

// approx writes d rounded to seconds, minutes or hours.
func approx(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%d s", d.Round(time.Second)/time.Second)
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", d.Round(time.Minute)/time.Minute)
	}
	return fmt.Sprintf("%d h", d.Round(time.Hour)/time.Hour)
}

// AuthorizationError is the refusal of a callback that brought the OP's
// error (?error=) instead of a code: access_denied (EFORBIDDEN: the OP
// refused the person), unmet_authentication_requirements (EFORBIDDEN, that
// reason: the OP could not meet acr_values or max_age, e.g. no second
// factor set up), an answer that needs the person at the OP
// (login_required and its kin: EUNAUTHORIZED, sign in again), anything
// else EUPSTREAM (reason op_error). The person is told that the OP
// refused and who can change it; the audit record gets the code and the
// description (RefusedError.AuditDetails). provider is the provider id.
func AuthorizationError(provider, code, description string) error {
	p := &Provider{cfg: Config{ID: provider}}
	name := errorCode(code)
	cause := fmt.Errorf("the OP answered %q", name)
	var e *broker.Error
	switch name {
	case "access_denied":
		e = p.refusal(broker.EFORBIDDEN, "access_denied", "Your identity provider refused you (access_denied): it does not let you sign in to this application. If you should have access, ask whoever runs your identity provider.", cause)
	case "unmet_authentication_requirements":
		e = p.refusal(broker.EFORBIDDEN, "unmet_authentication_requirements", "Your identity provider could not sign you in the way this access needs (unmet_authentication_requirements): usually a second factor you have not set up there. Set it up at your identity provider, or ask whoever runs it.", cause)
	case "login_required", "interaction_required", "consent_required", "account_selection_required":
		e = p.refusal(broker.EUNAUTHORIZED, "op_error", "Your identity provider could not sign you in without asking you ("+name+"). Sign in again, and answer your identity provider when it asks.", cause)
	case "server_error", "temporarily_unavailable":
		e = p.refusal(broker.EUPSTREAM, "op_error", "Your identity provider could not sign you in right now ("+name+"). Try again in a few minutes; if it lasts, tell your administrator.", cause)
	default:
		e = p.refusal(broker.EUPSTREAM, "op_error", "Your identity provider refused the broker's sign-in request ("+name+"): the two are not set up to work together. An administrator must check this provider's settings, in the broker and at the identity provider.", cause)
	}
	re := e.Err.(*RefusedError)
	re.OPError, re.OPErrorDescription = name, printable(description, 300)
	return e
}

// errorCode keeps an OAuth error code's characters (a-z and _), at most 40.
func errorCode(s string) string {
	out := make([]rune, 0, 40)
	for _, r := range s {
		if len(out) == 40 {
			break
		}
		if r == '_' || r >= 'a' && r <= 'z' {
			out = append(out, r)
		}
	}
	return string(out)
}

// printable keeps s's printable characters, spaces collapsed, at most n bytes.
func printable(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x7f }), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
