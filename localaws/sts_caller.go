package localaws

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// STS error codes of signed calls.
const (
	codeMissingAuth     = "MissingAuthenticationToken"
	codeInvalidClientID = "InvalidClientTokenId"
	codeSignature       = "SignatureDoesNotMatch"
	codeExpiredCreds    = "ExpiredToken"
)

type getCallerIdentityResponse struct {
	XMLName  xml.Name                `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result   getCallerIdentityResult `xml:"GetCallerIdentityResult"`
	Metadata xmlResponseMetadata     `xml:"ResponseMetadata"`
}

type getCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

// signedCall is the raw request of an STS call, for actions that check
// its Signature Version 4 (the body is read once, before the form).
type signedCall struct {
	req  *http.Request
	body []byte
}

type signedCallKey struct{}

// withSignedCall reads r's body (bounded) so that a signed action can hash
// it, and gives it back to r for the form parser.
func withSignedCall(w http.ResponseWriter, r *http.Request) *http.Request {
	if r.Header.Get("Authorization") == "" {
		return r
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSTSBody))
	if err != nil {
		body = nil // readQuery answers for a body that is too large or broken
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r.WithContext(context.WithValue(r.Context(), signedCallKey{}, &signedCall{req: r, body: body}))
}

// getCallerIdentity is the GetCallerIdentity action: who the signed
// credentials belong to. It needs no permission, only credentials this
// server issued, live, with a valid Signature Version 4.
func (s *Server) getCallerIdentity(ctx context.Context, _ url.Values) (any, *stsError, []slog.Attr) {
	call, _ := ctx.Value(signedCallKey{}).(*signedCall)
	cs, apiErr := s.authenticate(call, s.now())
	if apiErr != nil {
		return nil, apiErr, nil
	}
	return getCallerIdentityResponse{
		Result:   getCallerIdentityResult{Arn: cs.assumedRoleARN, UserID: cs.assumedRoleID, Account: cs.accountID},
		Metadata: xmlResponseMetadata{RequestID: requestIDFrom(ctx)},
	}, nil, []slog.Attr{slog.String("access_key_id", cs.accessKeyID[:8]+"…"), slog.String("arn", cs.assumedRoleARN)}
}

// authenticate checks a signed call: the header's shape, the key id and
// session token of credentials issued here, the request time, and the
// signature computed with the credentials' secret.
func (s *Server) authenticate(call *signedCall, now time.Time) (*issuedSession, *stsError) {
	if call == nil {
		return nil, newSTSError(codeMissingAuth, "missing_authentication", nil, "Request is missing Authentication Token")
	}
	r := call.req
	a, err := parseSigV4(r.Header.Get("Authorization"))
	if err != nil || a.service != "sts" || !slices.Contains(a.signedHeaders, "host") || !slices.Contains(a.signedHeaders, "x-amz-date") {
		return nil, newSTSError(codeSignature, "signature_malformed", err,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse(sigV4TimeFmt, amzDate)
	if err != nil || a.date != amzDate[:8] {
		return nil, newSTSError(codeSignature, "signature_date_invalid", err, "The X-Amz-Date header or the credential scope's date is invalid.")
	}
	if at.Sub(now).Abs() > sigV4MaxSkew {
		return nil, newSTSError(codeSignature, "signature_expired", nil,
			"Signature expired: %s is now earlier or later than %s (15 minutes either way).", amzDate, now.UTC().Format(sigV4TimeFmt))
	}
	cs := s.credentialsOf(a.keyID, r.Header.Get("X-Amz-Security-Token"))
	if cs == nil {
		return nil, newSTSError(codeInvalidClientID, "credentials_unknown", nil, "The security token included in the request is invalid.")
	}
	want := sigV4Signature(r, call.body, a, amzDate, cs.secretAccessKey)
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.signature)) != 1 {
		return nil, newSTSError(codeSignature, "signature_mismatch", nil,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	if !now.Before(cs.expires) {
		return nil, newSTSError(codeExpiredCreds, "credentials_expired", nil, "The security token included in the request is expired")
	}
	return cs, nil
}
