package localaws

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
)

// STS Query protocol constants.
const (
	stsVersion  = "2011-06-15"
	stsXMLNS    = "https://sts.amazonaws.com/doc/2011-06-15/"
	maxSTSBody  = 512 << 10 // SAMLAssertion is at most 100000 characters, URL-encoded
	maxEchoedID = 100       // longest Action/Version echoed in an error message
)

// stsAction handles one STS Action. It returns the XML response document or
// the error to answer with, plus log attributes describing the call.
type stsAction func(ctx context.Context, p url.Values) (any, *stsError, []slog.Attr)

// stsActions is the dispatch table; an Action not listed is InvalidAction.
// GetCallerIdentity is the one signed call (Signature Version 4 with
// credentials this server issued).
func (s *Server) stsActions() map[string]stsAction {
	return map[string]stsAction{
		"AssumeRoleWithSAML":        s.assumeRoleWithSAML,
		"AssumeRoleWithWebIdentity": s.assumeRoleWithWebIdentity,
		"GetCallerIdentity":         s.getCallerIdentity,
	}
}

// handleSTS serves the STS Query API: a form POST (or a GET with the same
// parameters in the query string) with Action and Version.
func (s *Server) handleSTS(w http.ResponseWriter, r *http.Request) {
	r = withSignedCall(w, r)
	ctx := r.Context()
	reqID := requestIDFrom(ctx)
	h := w.Header()
	h.Set("x-amzn-RequestId", reqID)
	h.Set("Cache-Control", "no-store")

	params, apiErr := readQuery(w, r)
	var (
		result any
		attrs  []slog.Attr
		action = params.Get("Action")
	)
	if apiErr == nil {
		result, apiErr, attrs = s.dispatch(ctx, params)
	}
	attrs = append(attrs, slog.String("request_id", reqID), slog.String("action", clip(action)))
	if apiErr != nil {
		level := slog.LevelInfo
		if apiErr.status >= 500 {
			level = slog.LevelError
		}
		attrs = append(attrs, slog.String("code", apiErr.code), slog.String("reason", apiErr.reason), slog.Int("status", apiErr.status))
		if apiErr.cause != nil {
			attrs = append(attrs, slog.String("cause", apiErr.cause.Error()))
		}
		s.log.LogAttrs(ctx, level, "localaws: sts request refused", attrs...)
		writeSTSError(w, reqID, apiErr)
		return
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "localaws: sts request", attrs...)
	writeXML(w, http.StatusOK, result)
}

func (s *Server) dispatch(ctx context.Context, p url.Values) (any, *stsError, []slog.Attr) {
	action, version := p.Get("Action"), p.Get("Version")
	if action == "" {
		return nil, newSTSError(codeMissingAction, "missing_action", nil, "The request must contain the parameter Action."), nil
	}
	if version == "" {
		version = "NO_VERSION_SPECIFIED"
	}
	handler, ok := s.actions[action]
	if version != stsVersion || !ok {
		return nil, newSTSError(codeInvalidAction, "invalid_action", nil,
			"Could not find operation %s for version %s", clip(action), clip(version)), nil
	}
	return handler(ctx, p)
}

// readQuery parses the request's parameters (query string and, for a
// POST, the form body), bounded in size. A parameter given twice is a
// ValidationError: AWS reads one value per name.
func readQuery(w http.ResponseWriter, r *http.Request) (url.Values, *stsError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSTSBody)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return url.Values{}, newSTSError(codeTooLarge, "request_too_large", err, "The request body is larger than %d bytes.", maxSTSBody)
		}
		return url.Values{}, errValidation("malformed_query", "The request parameters are not a valid URL-encoded form.")
	}
	for k, v := range r.Form {
		if len(v) > 1 {
			return url.Values{}, errValidation("duplicate_parameter", "The parameter %s is given more than once.", clip(k))
		}
	}
	return r.Form, nil
}

// clip shortens a caller-supplied string before it is echoed or logged.
func clip(s string) string {
	if len(s) <= maxEchoedID {
		return s
	}
	return s[:maxEchoedID] + "…"
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type xmlResponseMetadata struct {
	RequestID string `xml:"RequestId"`
}

func writeSTSError(w http.ResponseWriter, reqID string, e *stsError) {
	writeXML(w, e.status, xmlErrorResponse{
		Error:     xmlError{Type: e.faultType(), Code: e.code, Message: e.message},
		RequestID: reqID,
	})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil { // our own types always marshal; keep the contract anyway
		status = http.StatusInternalServerError
		body = []byte(`<ErrorResponse xmlns="` + stsXMLNS + `"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>The response could not be encoded.</Message></Error></ErrorResponse>`)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
