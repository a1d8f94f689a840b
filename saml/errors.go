package saml

import (
	"errors"
	"fmt"
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
	return &broker.Error{Code: code, Reason: reason, Message: msg, Err: fmt.Errorf("saml: %s: %w", sp.cfg.ID, cause)}
}

// classify maps crewjam's private error (its messages are pinned to
// crewjam/saml v0.5.1 and covered by the fixture tests) to a reason.
func (sp *ServiceProvider) classify(err error, raw []byte) error {
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		err = ire.PrivateErr
	}
	var bad saml.ErrBadStatus
	if errors.As(err, &bad) {
		return sp.badStatus(bad.Status, err)
	}
	var alg *algorithmError
	if errors.As(err, &alg) {
		return sp.fail(broker.EUNAUTHORIZED, "algorithm_not_allowed", err)
	}
	var aud *audienceError
	if errors.As(err, &aud) {
		return sp.fail(broker.EUNAUTHORIZED, "audience_mismatch", err)
	}
	m := err.Error()
	switch {
	case strings.Contains(m, "signature element not present"):
		return sp.fail(broker.EUNAUTHORIZED, "signature_missing", err)
	case strings.Contains(m, "cannot validate signature"), strings.Contains(m, "Signature could not be verified"),
		strings.Contains(m, "Missing signature referencing"), strings.Contains(m, "Could not verify certificate"):
		return sp.fail(broker.EUNAUTHORIZED, "signature_invalid", err)
	case strings.Contains(m, "invalid xml"), strings.Contains(m, "cannot unmarshal"), strings.Contains(m, "XML syntax"), strings.Contains(m, "etree:"):
		return sp.fail(broker.EINVALID, "malformed_response", err)
	case strings.Contains(m, "Destination"):
		return sp.fail(broker.EUNAUTHORIZED, "destination_mismatch", err)
	case strings.Contains(m, "InResponseTo"), strings.Contains(m, "possible request IDs"):
		if !sp.cfg.AllowIDPInitiated && !strings.Contains(string(raw), "InResponseTo=") {
			return sp.fail(broker.EUNAUTHORIZED, "idp_initiated_not_allowed", err)
		}
		return sp.fail(broker.EUNAUTHORIZED, "in_response_to_mismatch", err)
	case strings.Contains(m, "expired"), strings.Contains(m, "is expired"):
		return sp.fail(broker.EEXPIRED, "assertion_expired", err)
	case strings.Contains(m, "not yet valid"):
		return sp.fail(broker.EUNAUTHORIZED, "not_yet_valid", err)
	case strings.Contains(m, "Issuer"), strings.Contains(m, "issuer is not"):
		return sp.fail(broker.EUNAUTHORIZED, "issuer_mismatch", err)
	case strings.Contains(m, "Recipient"):
		return sp.fail(broker.EUNAUTHORIZED, "recipient_mismatch", err)
	case strings.Contains(m, "decrypt"):
		return sp.fail(broker.EUNAUTHORIZED, "decrypt_failed", err)
	}
	return sp.fail(broker.EUNAUTHORIZED, "response_invalid", err)
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
