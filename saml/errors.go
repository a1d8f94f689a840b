package saml

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// fail builds the error for a refused response: a safe, actionable message
// for the person, the private cause for the log.
func (sp *ServiceProvider) fail(code, reason string, cause error) error {
	var msg string
	switch code {
	case broker.EEXPIRED:
		msg = "Sign-in failed: the response from your identity provider has expired. Sign in again; if it keeps happening, check that your computer's clock is right."
	case broker.EREPLAY:
		msg = "Sign-in failed: this sign-in response was already used. Sign in again."
	case broker.EUNAVAILABLE:
		msg = "Sign-in with this identity provider is not available right now. Try again in a few minutes."
	case broker.ETOOLARGE:
		msg = "Sign-in failed: the response from your identity provider is too large."
	case broker.EFORBIDDEN:
		msg = "Your identity provider did not sign you in."
	default:
		msg = "Sign-in failed: the response from your identity provider could not be verified. Sign in again; if it keeps failing, contact your administrator."
	}
	if reason == "clock_skew" {
		msg = "Sign-in failed: your identity provider's clock and the broker's disagree. Sign in again; if it keeps happening, contact your administrator."
	}
	return &broker.Error{Code: code, Reason: reason, Message: msg, Err: fmt.Errorf("saml: %s: %w", sp.cfg.ID, cause)}
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
		return sp.refused(se)
	case errors.As(err, &bad):
		return sp.badStatus(bad.Status, err)
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

// badStatus is the refusal of a Response whose StatusCode is not Success.
func (sp *ServiceProvider) badStatus(status string, cause error) error {
	e := sp.fail(broker.EFORBIDDEN, "status_not_success", cause).(*broker.Error)
	e.Message = fmt.Sprintf("Your identity provider did not sign you in (status %s). Sign in again; if it keeps failing, contact your administrator.", shortStatus(status))
	return e
}

func shortStatus(s string) string {
	if i := strings.LastIndex(s, ":"); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
