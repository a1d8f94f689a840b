package sts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/broker-dev/broker"
)

// Reasons callers branch on. Every reason is "sts_" + the AWS error code in
// snake_case (see reasonOf); these strings are in audit logs and never change.
const (
	// ReasonExpiredToken: AWS says the credential presented (the upstream
	// SAML assertion or ID token) has expired. Code broker.EEXPIRED.
	ReasonExpiredToken = "sts_expired_token"
	// ReasonTimeout: STS did not answer within aws.timeout (SDK retries
	// included). Code broker.EUNAVAILABLE.
	ReasonTimeout = "sts_timeout"
	// ReasonUnreachable: STS could not be reached (DNS, TCP, TLS). Code
	// broker.EUNAVAILABLE.
	ReasonUnreachable = "sts_unreachable"
)

// outageCodes are the AWS error codes that say STS is busy or failing
// rather than refusing this request.
var outageCodes = []string{"Throttling", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure", "InternalError"}

// IsOutage reports whether err says STS could not be used right now (no
// answer in time, unreachable, busy or failing), as opposed to refusing
// the request: worth a retry later, and a sign of AWS trouble for
// readiness warnings.
func IsOutage(err error) bool {
	if broker.ErrorCode(err) != broker.EUNAVAILABLE {
		return false
	}
	switch r := broker.ErrorReason(err); r {
	case ReasonTimeout, ReasonUnreachable:
		return true
	default:
		for _, c := range outageCodes {
			if r == reasonOf(c) {
				return true
			}
		}
		return false
	}
}

// reasonOf turns an AWS error code into a stable reason: ExpiredToken →
// ReasonExpiredToken.
func reasonOf(code string) string {
	code = strings.TrimSuffix(code, "Exception")
	isUpper := func(i int) bool { return i >= 0 && i < len(code) && code[i] >= 'A' && code[i] <= 'Z' }
	var b strings.Builder
	b.WriteString("sts_")
	for i := 0; i < len(code); i++ {
		c := code[i]
		if isUpper(i) {
			// A word starts at an upper-case letter after a lower-case one,
			// or at the last capital of an acronym (IDPRejected → idp_rejected).
			if i > 0 && (!isUpper(i-1) || (i+1 < len(code) && !isUpper(i+1))) {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func awsMessage(m string) string {
	m = strings.TrimSpace(m)
	if len(m) > 300 {
		m = m[:300] + "…"
	}
	return m
}

// classify maps an SDK error to a *broker.Error a person can act on.
func classify(err error, roleARN string) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return broker.Wrap(err, broker.EUNAVAILABLE, ReasonTimeout, "AWS STS did not answer in time; try again in a minute.")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return broker.Wrap(err, broker.EUNAVAILABLE, ReasonUnreachable, "AWS STS could not be reached; try again in a minute.")
	}
	code := strings.TrimSuffix(ae.ErrorCode(), "Exception")
	reason := reasonOf(code)
	msg := awsMessage(ae.ErrorMessage())
	switch code {
	case "ExpiredToken":
		return broker.Wrap(err, broker.EEXPIRED, ReasonExpiredToken, "Your identity provider's sign-in has expired: sign in again.")
	case "InvalidIdentityToken":
		return broker.Wrap(err, broker.EUNAUTHORIZED, reason, fmt.Sprintf("AWS did not accept the sign-in from your identity provider (%s). Sign in again; if it keeps failing, contact your administrator.", msg))
	case "IDPRejectedClaim":
		return broker.Wrap(err, broker.EFORBIDDEN, reason, fmt.Sprintf("AWS rejected the sign-in for %s (%s). The role or its identity provider in IAM may not match; contact your administrator.", roleARN, msg))
	case "AccessDenied":
		return broker.Wrap(err, broker.EFORBIDDEN, reason, fmt.Sprintf("The trust policy of %s does not allow this sign-in (%s). Ask your administrator to check the role's trust policy.", roleARN, msg))
	case "MalformedPolicyDocument", "PackedPolicyTooLarge":
		return broker.Wrap(err, broker.EINVALID, reason, fmt.Sprintf("The session policy for this role was refused by AWS (%s). Contact your administrator.", msg))
	case "ValidationError":
		return broker.Wrap(err, broker.EINVALID, reason, fmt.Sprintf("AWS refused the request (%s). Contact your administrator.", msg))
	case "RegionDisabled":
		return broker.Wrap(err, broker.EUNAVAILABLE, reason, "AWS STS is not enabled in the region the broker uses for this account. Contact your administrator.")
	case "IDPCommunicationError":
		return broker.Wrap(err, broker.EUPSTREAM, reason, "AWS could not reach your identity provider to check the sign-in; try again in a minute.")
	case "Throttling", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure", "InternalError": // outageCodes
		return broker.Wrap(err, broker.EUNAVAILABLE, reason, "AWS STS is busy or unavailable; try again in a minute.")
	}
	return broker.Wrap(err, broker.EUPSTREAM, reason, fmt.Sprintf("AWS STS refused the request (%s).", msg))
}

// errorCode is the metrics' code of a call's error: "" for none, the AWS
// error code as AWS spells it (AccessDenied, ExpiredToken), "timeout" or
// "unreachable".
func errorCode(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timeout"
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "unreachable"
	}
	return strings.TrimSuffix(ae.ErrorCode(), "Exception")
}

// isMaxSessionDuration reports AWS's refusal of a DurationSeconds above the
// role's MaxSessionDuration.
func isMaxSessionDuration(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "MaxSessionDuration")
}
