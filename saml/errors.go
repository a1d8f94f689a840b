package saml

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// RefusedError is the private cause (broker.Error.Err) of every refused
// Response: what the audit record needs beyond the reason. Read it with
// errors.As.
type RefusedError struct {
	// Subject is the NameID of an assertion whose signature verified, and
	// only that: it is "" for every refusal that came before a signature
	// verified or because none did.
	Subject string
	// Status, SubStatus and StatusMessage are what the IdP answered when
	// its Response's status is not Success (unverified: such a Response is
	// only ever refused, and rarely signed).
	Status, SubStatus, StatusMessage string
	Err                              error
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// VerifiedSubject is Subject: the person the IdP vouched for in a signed
// assertion the broker then refused.
func (e *RefusedError) VerifiedSubject() string { return e.Subject }

// AuditDetails are the IdP's status codes and message, nil when the IdP
// answered Success.
func (e *RefusedError) AuditDetails() map[string]string {
	if e.Status == "" {
		return nil
	}
	d := map[string]string{"status": e.Status}
	if e.SubStatus != "" {
		d["sub_status"] = e.SubStatus
	}
	if e.StatusMessage != "" {
		d["status_message"] = e.StatusMessage
	}
	return d
}

// fail builds the error for a refused response: the message for the
// person (messageFor: what happened and who must act), the private cause
// for the log.
func (sp *ServiceProvider) fail(code, reason string, cause error) error {
	return sp.refusal(code, reason, messageFor(code, reason), cause)
}

// refusal is fail with the message given.
func (sp *ServiceProvider) refusal(code, reason, msg string, cause error) *broker.Error {
	return &broker.Error{Code: code, Reason: reason, Message: msg,
		Err: &RefusedError{Err: fmt.Errorf("saml: %s: %w", sp.cfg.ID, cause)}}
}

// withSubject records the verified subject on a refusal built by fail.
func withSubject(err error, subject string) error {
	var re *RefusedError
	if subject != "" && errors.As(err, &re) {
		re.Subject = subject
	}
	return err
}

// unverified are crewjam's refusals that mean no signature verified the
// document, or that it is not one the broker reads: after them a
// refusal carries no subject, whatever the verifier saw.
var unverified = map[string]bool{
	"signature_invalid": true, "signature_missing": true, "signature_structure": true,
	"algorithm_not_allowed": true, "decrypt_failed": true, "multiple_assertions": true,
	"no_assertion": true, "malformed_response": true, "xml_unsupported": true,
}

// classify maps crewjam's refusal to a reason by the error kinds crewjam
// attaches (errors.Is), never by its messages; doc, the tree the broker
// inspected, tells apart what one kind covers.
func (sp *ServiceProvider) classify(err error, doc *checked, current *url.URL) error {
	var bad saml.ErrBadStatus
	var aud *audienceError
	var se *structureError
	switch {
	case errors.As(err, &se): // from our verifier
		return sp.refused(doc.tree, se)
	case errors.As(err, &bad):
		return sp.badStatus(doc.tree, err)
	case errors.As(err, &aud), errors.Is(err, saml.ErrAudienceMismatch):
		return sp.fail(broker.EUNAUTHORIZED, "audience_mismatch", err)
	case errors.Is(err, saml.ErrDecryptionFailed):
		return sp.decryptFailed(err)
	case errors.Is(err, saml.ErrInvalidSignature):
		return sp.fail(broker.EUNAUTHORIZED, "signature_invalid", err)
	case errors.Is(err, saml.ErrMalformedMessage):
		return sp.fail(broker.EINVALID, "malformed_response", err)
	case errors.Is(err, saml.ErrDestinationMismatch):
		// The Response's Destination or the assertion's Recipient.
		if dest, _ := attr(doc.root, "Destination"); dest == "" || dest == current.String() || dest == doc.acs.String() {
			return sp.fail(broker.EUNAUTHORIZED, "recipient_mismatch", err)
		}
		return sp.fail(broker.EUNAUTHORIZED, "destination_mismatch", err)
	case errors.Is(err, saml.ErrRequestIDMismatch):
		if !sp.cfg.AllowIDPInitiated && !doc.answersRequest() {
			return sp.fail(broker.EUNAUTHORIZED, "idp_initiated_not_allowed", err)
		}
		return sp.fail(broker.EUNAUTHORIZED, "in_response_to_mismatch", err)
	case errors.Is(err, saml.ErrIssuerMismatch):
		return sp.fail(broker.EUNAUTHORIZED, "issuer_mismatch", err)
	case errors.Is(err, saml.ErrExpired):
		return sp.fail(broker.EEXPIRED, "assertion_expired", err)
	case errors.Is(err, saml.ErrNotYetValid):
		return sp.fail(broker.EUNAUTHORIZED, "not_yet_valid", err)
	}
	return sp.fail(broker.EUNAUTHORIZED, "response_invalid", err)
}

// answersRequest reports whether the Response, or its plaintext assertion,
// names a request it answers.
func (doc *checked) answersRequest() bool {
	if v, _ := attr(doc.root, "InResponseTo"); v != "" {
		return true
	}
	if doc.facts != nil {
		for _, c := range doc.facts.confirmations {
			if c.inResponseTo != "" {
				return true
			}
		}
	}
	return false
}

// Status codes (saml-core §3.2.2.2) the person is told about in words.
const (
	statusPrefix           = "urn:oasis:names:tc:SAML:2.0:status:"
	statusRequester        = statusPrefix + "Requester"
	statusVersionMismatch  = statusPrefix + "VersionMismatch"
	statusAuthnFailed      = statusPrefix + "AuthnFailed"
	statusNoPassive        = statusPrefix + "NoPassive"
	statusRequestDenied    = statusPrefix + "RequestDenied"
	statusUnknownPrincipal = statusPrefix + "UnknownPrincipal"
	statusNoAuthnContext   = statusPrefix + "NoAuthnContext"
)

// badStatus is the refusal of a Response whose StatusCode is not Success:
// audited as what the IdP answered (RefusedError.AuditDetails), and the
// person is told the IdP refused and who can change that.
func (sp *ServiceProvider) badStatus(t *tree, cause error) error {
	status, sub, msg := t.statusOf()
	code, text := broker.EFORBIDDEN, ""
	name := shortStatus(sub)
	if name == "" {
		name = shortStatus(status)
	}
	switch {
	case sub == statusNoPassive:
		code = broker.EUNAUTHORIZED
		text = "Your identity provider could not sign you in without asking you (NoPassive): a silent sign-in needs you to be signed in at your identity provider already. Sign in at your identity provider, then sign in here again."
	case sub == statusAuthnFailed:
		code = broker.EUNAUTHORIZED
		text = "Your identity provider refused you: it could not authenticate you (AuthnFailed). Sign in again; if it keeps failing, ask whoever runs your identity provider."
	case sub == statusRequestDenied:
		text = "Your identity provider refused you (RequestDenied): it does not let you sign in to this application. If you should have access, ask whoever runs your identity provider to assign you to it."
	case sub == statusUnknownPrincipal:
		text = "Your identity provider refused you: it does not know your account for this application (UnknownPrincipal). Ask whoever runs your identity provider."
	case sub == statusNoAuthnContext:
		text = "Your identity provider refused you: it could not authenticate you the way this application asks (NoAuthnContext). Ask whoever runs your identity provider."
	case status == statusRequester, status == statusVersionMismatch:
		text = "Your identity provider refused the broker's sign-in request (" + name + "): the two are not set up to work together. An administrator must check this provider's settings, in the broker and at the identity provider."
	default:
		text = "Your identity provider refused you: it did not sign you in (" + name + "). Sign in again; if it keeps failing, ask whoever runs your identity provider."
	}
	e := sp.refusal(code, "status_not_success", text, cause)
	re := e.Err.(*RefusedError)
	re.Status, re.SubStatus, re.StatusMessage = status, sub, msg
	return e
}

// statusOf reads the Response's Status: its StatusCode, the first nested
// StatusCode and the StatusMessage, each clipped and stripped of control
// characters (they go to the audit log as the IdP wrote them).
func (t *tree) statusOf() (status, sub, message string) {
	st, _ := t.child(t.root, nsProtocol, "Status")
	if st == nil {
		return "", "", ""
	}
	if code, _ := t.child(st, nsProtocol, "StatusCode"); code != nil {
		status, _ = attr(code, "Value")
		if inner := t.children(code, nsProtocol, "StatusCode"); len(inner) > 0 {
			sub, _ = attr(inner[0], "Value")
		}
	}
	if m, _ := t.child(st, nsProtocol, "StatusMessage"); m != nil {
		message = m.Text()
	}
	return printable(status, 200), printable(sub, 200), printable(message, 300)
}

// printable keeps s's printable characters, spaces collapsed, at most n bytes.
func printable(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x7f }), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// shortStatus is the last segment of a status URI, letters and digits
// only, for the person's message.
func shortStatus(s string) string {
	if i := strings.LastIndex(s, ":"); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// What the person reads, by reason: what happened and who must act. The
// reason itself stays in the log and the audit record.
const (
	msgUnreadable  = "Sign-in failed: what arrived is not a sign-in response the broker can read. Start again from the portal; if it keeps happening, an administrator must check how your identity provider is set up for the broker."
	msgBadSetup    = "Sign-in failed: the response from your identity provider lacks what the broker requires of a sign-in. An administrator must check the identity provider's settings for the broker."
	msgNotVerified = "Sign-in failed: the response could not be verified as coming from your identity provider. Sign in again; if it keeps failing, an administrator must check the provider's signing certificate in the broker."
	msgAWSAttr     = "Sign-in failed: your identity provider sent an AWS attribute (Role, RoleSessionName or SessionDuration) that AWS would refuse. An administrator must correct it in the identity provider's settings for AWS."
)

var messages = map[string]string{
	"metadata_unavailable":      "Sign-in with this identity provider is not available right now: the broker could not load the provider's metadata. Try again in a few minutes; if it lasts, tell your administrator.",
	"too_large":                 "Sign-in failed: the response from your identity provider is larger than the broker accepts (often because it lists many groups). An administrator must have the identity provider send less, for example only the groups the rules use.",
	"malformed_response":        msgUnreadable,
	"dtd_forbidden":             msgUnreadable,
	"xml_unsupported":           msgUnreadable,
	"signature_invalid":         msgNotVerified,
	"signature_structure":       msgNotVerified,
	"response_invalid":          msgNotVerified,
	"signature_missing":         "Sign-in failed: the response from your identity provider is not signed. An administrator must have the identity provider sign its responses or assertions.",
	"algorithm_not_allowed":     "Sign-in failed: your identity provider signs with an algorithm this broker does not accept. An administrator must switch the identity provider to SHA-256 or stronger, or allow the algorithm in the broker.",
	"multiple_assertions":       "Sign-in failed: the response does not hold exactly one assertion, as the broker requires. An administrator must check the identity provider's settings for the broker.",
	"no_assertion":              "Sign-in failed: the response does not hold exactly one assertion, as the broker requires. An administrator must check the identity provider's settings for the broker.",
	"decrypt_failed":            "Sign-in failed: the broker could not decrypt the response. An administrator must give the identity provider the broker's current encryption certificate (from its SP metadata).",
	"issuer_mismatch":           "Sign-in failed: the response names another identity provider than the one set up here. An administrator must check this provider's metadata in the broker.",
	"audience_mismatch":         "Sign-in failed: the response is addressed to another application, not to this broker. An administrator must make the audience (entity ID) the identity provider uses for this application match the broker's.",
	"recipient_mismatch":        "Sign-in failed: the response is meant to be delivered to another address than this broker's. An administrator must make the identity provider's ACS (recipient) URL for this application match the broker's.",
	"destination_mismatch":      "Sign-in failed: the response is meant to be delivered to another address than this broker's. An administrator must make the identity provider's ACS (destination) URL for this application match the broker's.",
	"in_response_to_mismatch":   "Sign-in failed: this response answers a sign-in started in another browser, or one that has timed out. Start again from the portal's sign-in page.",
	"idp_initiated_not_allowed": "Sign-in failed: this identity provider may not start sign-ins here; the broker only accepts sign-ins started from its own sign-in page. Start from the portal's sign-in page, or ask an administrator to allow IdP-initiated sign-in for this provider.",
	"no_bearer_confirmation":    msgBadSetup,
	"no_authn_statement":        msgBadSetup,
	"replay":                    "Sign-in failed: the response was already used (each one works once; a page may have been reloaded or sent twice). Sign in again.",
	"assertion_expired":         "Sign-in failed: the response from your identity provider had expired when it reached the broker. Sign in again; if it happens right after you signed in, the broker's clock or your identity provider's is off, and an administrator must set it right.",
	"not_yet_valid":             "Sign-in failed: the response from your identity provider is dated in the future: the broker's clock or your identity provider's is off. An administrator must set it right.",
	"role_attribute_invalid":    msgAWSAttr,
	"role_session_name_invalid": msgAWSAttr,
	"session_duration_invalid":  msgAWSAttr,
	"attributes_invalid":        msgAWSAttr,
}

// messageFor is the message of a reason, else of its code.
func messageFor(code, reason string) string {
	if m, ok := messages[reason]; ok {
		return m
	}
	switch code {
	case broker.EEXPIRED:
		return messages["assertion_expired"]
	case broker.EREPLAY:
		return messages["replay"]
	case broker.EUNAVAILABLE:
		return messages["metadata_unavailable"]
	case broker.ETOOLARGE:
		return messages["too_large"]
	case broker.EINVALID:
		return msgUnreadable
	}
	return msgNotVerified
}

// Time refusals say by how much the clocks disagree: off is the broker's
// best estimate, the time between the IssueInstant (the IdP's clock when
// it answered) and the broker's now, as the response reaches it in
// seconds.

// late is a response that expired (assertion_expired) or was issued too
// long ago (response_too_old): off is how long ago it was issued, 0 when
// that is unknown.
func (sp *ServiceProvider) late(reason string, cause error, off time.Duration) error {
	if off <= 0 {
		return sp.fail(broker.EEXPIRED, reason, cause)
	}
	what := " and had expired by then"
	if reason == "response_too_old" {
		what = ", more than the " + approx(sp.cfg.ClockSkew) + " the broker accepts"
	}
	return sp.refusal(broker.EEXPIRED, reason, fmt.Sprintf("Sign-in failed: the response from your identity provider was issued %s before it reached the broker%s. Sign in again. If you had only just signed in, the broker's clock or your identity provider's is off by about %s, and an administrator must set it right.", approx(off), what, approx(off)), cause)
}

// early is a response dated in the future (not_yet_valid, clock_skew): off
// is how far ahead of the broker's clock.
func (sp *ServiceProvider) early(reason string, cause error, off time.Duration) error {
	return sp.refusal(broker.EUNAUTHORIZED, reason, fmt.Sprintf("Sign-in failed: the broker's clock or your identity provider's is off by about %s: the response is dated that far in the future, and the broker tolerates %s. An administrator must set the clocks right; sign in again once they agree.", approx(off), approx(sp.cfg.ClockSkew)), cause)
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
