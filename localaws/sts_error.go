package localaws

import (
	"fmt"
	"net/http"
)

// STS error codes, as they appear on the wire (the Code of an
// ErrorResponse) and as aws-sdk-go-v2 maps them to typed errors.
const (
	codeAccessDenied      = "AccessDenied"
	codeExpiredToken      = "ExpiredTokenException" // types.ExpiredTokenException
	codeIDPRejectedClaim  = "IDPRejectedClaim"      // types.IDPRejectedClaimException
	codeIDPCommunication  = "IDPCommunicationError" // types.IDPCommunicationErrorException
	codeInvalidIdentity   = "InvalidIdentityToken"  // types.InvalidIdentityTokenException
	codeMalformedPolicy   = "MalformedPolicyDocument"
	codePackedPolicyLarge = "PackedPolicyTooLarge"
	codeValidation        = "ValidationError"
	codeInvalidAction     = "InvalidAction"
	codeMissingAction     = "MissingAction"
	codeInternal          = "InternalFailure"
	codeTooLarge          = "RequestEntityTooLarge"
)

// stsError is an STS error response. Message is what AWS would tell the
// caller; reason is a stable snake_case reason for the log; cause is a
// private detail for the log only.
type stsError struct {
	status  int
	code    string
	message string
	reason  string
	cause   error
}

func (e *stsError) Error() string {
	s := e.code + " (" + e.reason + "): " + e.message
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *stsError) Unwrap() error { return e.cause }

// faultType is the ErrorResponse Type: Sender for client errors.
func (e *stsError) faultType() string {
	if e.status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// statusOf returns the HTTP status AWS uses for an STS error code.
func statusOf(code string) int {
	switch code {
	case codeAccessDenied, codeIDPRejectedClaim, "RegionDisabledException", codeMissingAuth, codeInvalidClientID, codeSignature:
		return http.StatusForbidden
	case codeInternal:
		return http.StatusInternalServerError
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func newSTSError(code, reason string, cause error, format string, args ...any) *stsError {
	return &stsError{status: statusOf(code), code: code, reason: reason, cause: cause, message: fmt.Sprintf(format, args...)}
}

// Constructors for the codes AssumeRoleWithSAML answers with.

func errInvalidToken(reason string, cause error, format string, args ...any) *stsError {
	return newSTSError(codeInvalidIdentity, reason, cause, format, args...)
}

func errExpired(reason, format string, args ...any) *stsError {
	return newSTSError(codeExpiredToken, reason, nil, format, args...)
}

func errRejectedClaim(reason, format string, args ...any) *stsError {
	return newSTSError(codeIDPRejectedClaim, reason, nil, format, args...)
}

func errAccessDenied(reason, action string) *stsError {
	return newSTSError(codeAccessDenied, reason, nil, "Not authorized to perform %s", action)
}

func errValidation(reason, format string, args ...any) *stsError {
	return newSTSError(codeValidation, reason, nil, format, args...)
}
