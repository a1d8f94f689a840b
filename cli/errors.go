package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/broker-dev/broker"
)

// Reasons of the errors this package makes itself (errors from the
// server keep the server's reason: role_not_granted, mfa_required, …).
const (
	ReasonNoURL             = "no_url"             // no --url, $BROKER_URL or saved URL
	ReasonURLInvalid        = "url_invalid"        // the URL is not http(s)://host[/path]
	ReasonNotSignedIn       = "not_signed_in"      // no tokens for this broker
	ReasonSignInEnded       = "sign_in_ended"      // the refresh token was refused (invalid_grant)
	ReasonUnreachable       = "broker_unreachable" // the broker did not answer
	ReasonBadAnswer         = "answer_invalid"     // the broker answered something unreadable
	ReasonLoginFailed       = "login_failed"       // the sign-in did not complete
	ReasonLoginTimeout      = "login_timeout"      // nobody completed the sign-in in time
	ReasonStateMismatch     = "state_mismatch"     // the loopback callback's state was not ours
	ReasonIDTokenInvalid    = "id_token_invalid"   // the ID token did not verify
	ReasonRoleInvalid       = "role_invalid"       // --role is not ACCOUNT/ROLE
	ReasonRoleUnknown       = "role_unknown"       // the role is not in the person's roles
	ReasonConfigUnparseable = "aws_config_invalid" // the AWS config file cannot be edited safely
	ReasonCommandFailed     = "command_failed"     // broker exec could not start the command
)

// apiError reads the broker's JSON error body (web/errors.go:
// {"error": code, "reason", "message", "request_id"}; a nested
// {"error": {...}} is read too) into a *broker.Error with the server's
// code, reason and message.
func apiError(res *http.Response, brokerURL string) error {
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var flat struct {
		Error     json.RawMessage `json:"error"`
		Reason    string          `json:"reason"`
		Message   string          `json:"message"`
		RequestID string          `json:"request_id"`
	}
	e := &broker.Error{Code: codeOfStatus(res.StatusCode)}
	if json.Unmarshal(raw, &flat) == nil {
		var code string
		var nested struct{ Code, Reason, Message string }
		if json.Unmarshal(flat.Error, &code) == nil {
			e.Reason, e.Message = flat.Reason, flat.Message
		} else if json.Unmarshal(flat.Error, &nested) == nil {
			code, e.Reason, e.Message = nested.Code, nested.Reason, nested.Message
		}
		if code != "" {
			e.Code = code
		}
		if flat.RequestID != "" && e.Message != "" {
			e.Message += " (request id " + flat.RequestID + ")"
		}
	}
	if e.Message == "" {
		e.Reason = "http_" + fmt.Sprint(res.StatusCode)
		e.Message = fmt.Sprintf("The broker at %s answered %s.", brokerURL, res.Status)
		if res.StatusCode == http.StatusNotFound {
			e.Message += " It may be older than this command: ask its administrator to upgrade it."
		}
	}
	e.Err = fmt.Errorf("cli: %s %s: %d", res.Request.Method, res.Request.URL.Path, res.StatusCode)
	return e
}

func codeOfStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return broker.EUNAUTHORIZED
	case status == http.StatusForbidden:
		return broker.EFORBIDDEN
	case status == http.StatusNotFound:
		return broker.ENOTFOUND
	case status == http.StatusTooManyRequests:
		return broker.ETOOMANY
	case status >= 500:
		return broker.EUNAVAILABLE
	default:
		return broker.EINVALID
	}
}

func errNotSignedIn(u string) error {
	return broker.Errorf(broker.EUNAUTHORIZED, ReasonNotSignedIn,
		"You are not signed in to the broker at %s: run `broker login --url %s`.", u, u)
}

func errSignInEnded(u string, cause error) error {
	return broker.Wrap(cause, broker.EUNAUTHORIZED, ReasonSignInEnded,
		"Your broker sign-in ended; run `broker login --url "+u+"` to sign in again.")
}

func errUnreachable(u string, cause error) error {
	return broker.Wrap(cause, broker.EUNAVAILABLE, ReasonUnreachable,
		"Cannot reach the broker at "+u+": check the URL and your network, then try again.")
}

// Describe is what a person reads for err: the message of a
// *broker.Error, or the error itself for a local failure (a file that
// cannot be written, …), which names the file and the cause.
func Describe(err error) string {
	if broker.ErrorCode(err) != broker.EINTERNAL {
		return broker.ErrorMessage(err)
	}
	return strings.TrimPrefix(err.Error(), "cli: ")
}
