package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

// LogoutMessage is a verified logout message from the IdP: exactly one of
// Request (the IdP ends a session: IdP-initiated single logout) and
// Response (the IdP's answer to the broker's LogoutRequest) is set.
type LogoutMessage struct {
	Request    *LogoutRequestInfo
	Response   *LogoutResponseInfo
	RelayState string // as received; a LogoutResponse echoes it
	Binding    string // BindingRedirect or BindingPOST
}

// LogoutRequestInfo is what a verified LogoutRequest asks: end the
// sessions of NameID (in NameIDFormat), those of SessionIndexes only when
// there are any.
type LogoutRequestInfo struct {
	ID             string
	NameID         string
	NameIDFormat   string
	SessionIndexes []string
	NotOnOrAfter   time.Time // zero when the request has none
	// ReplayExpires is until when the caller must remember ID (see
	// RememberLogoutRequest): after it, the request is refused as too old
	// anyway (IssueInstant + ClockSkew + 5 min).
	ReplayExpires time.Time
}

// LogoutResponseInfo is the IdP's answer to a LogoutRequest of the broker.
type LogoutResponseInfo struct {
	InResponseTo string
	StatusCode   string // the top-level StatusCode
	Success      bool   // StatusCode is Success
}

// Limits on a logout message beyond MaxResponseBytes.
const (
	maxLogoutDepth    = 32 // elements nested; a signed LogoutRequest needs 7
	logoutReplayExtra = 5 * time.Minute
)

// ParseLogout reads the logout message of r, a LogoutRequest or a
// LogoutResponse, by either binding: HTTP-Redirect (GET; SAMLRequest or
// SAMLResponse, RelayState, SigAlg, Signature in the query, the signature
// verified over the query's exact octets) or HTTP-POST (the form; an
// enveloped XML signature). pendingRequestIDs are the IDs of the
// LogoutRequests this browser sent to this IdP and still waits for.
//
// The message is checked as the ACS checks a Response, before anything
// trusts it: size, base64, deflate (Redirect), no DTD, one
// namespace-well-formed tree at most 32 elements deep with no comment or
// processing instruction; the root is what the parameter says; at most
// one Signature, the root's, over the root's unique ID, algorithms on the
// allow-lists. Then: every signature present verifies with a signing
// certificate of the IdP's metadata valid now, and the message is read
// from what the signature covers; a LogoutRequest must be signed
// (logout_unsigned: anyone could sign people out otherwise), a
// LogoutResponse may be unsigned (it only ends a logout this browser
// started, named by InResponseTo). Version 2.0, an ID, the Issuer is the
// IdP, the Destination is SLOURL, IssueInstant within ClockSkew,
// NotOnOrAfter not past; a LogoutResponse answers one of
// pendingRequestIDs. A LogoutResponse whose status is not Success is
// returned (Success false), not refused.
//
// The caller must burn a LogoutRequest's ID (RememberLogoutRequest)
// before acting on it. Errors are *broker.Error: EINVALID (malformed:
// reasons malformed_logout, dtd_forbidden, xml_unsupported,
// binding_unsupported), ETOOLARGE (too_large), EUNAUTHORIZED
// (logout_unsigned, signature_invalid, signature_structure,
// algorithm_not_allowed, issuer_mismatch, destination_mismatch,
// in_response_to_mismatch, clock_skew), EEXPIRED (logout_too_old,
// logout_expired), EUNAVAILABLE (metadata_unavailable,
// slo_not_configured).
func (sp *ServiceProvider) ParseLogout(r *http.Request, pendingRequestIDs []string) (*LogoutMessage, error) {
	st := sp.state.Load()
	if st == nil {
		return nil, sp.logoutFail(broker.EUNAVAILABLE, "metadata_unavailable", sp.Ready())
	}
	if sp.cfg.SLOURL == "" {
		return nil, sp.logoutFail(broker.EUNAVAILABLE, "slo_not_configured", errors.New("no SLOURL configured"))
	}
	in, err := sp.readBinding(r)
	if err != nil {
		return nil, err
	}
	raw, err := sp.decodeLogout(in)
	if err != nil {
		return nil, err
	}
	el, err := sp.verifyLogout(st, in, raw)
	if err != nil {
		return nil, err
	}
	msg := &LogoutMessage{RelayState: in.relayState, Binding: in.binding}
	now := sp.cfg.Now()
	if in.param == "SAMLRequest" {
		msg.Request, err = sp.logoutRequestOf(st, el, now)
	} else {
		msg.Response, err = sp.logoutResponseOf(st, el, pendingRequestIDs, now)
	}
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// RememberLogoutRequest burns req's ID in the replay cache until
// req.ReplayExpires: a LogoutRequest acts once. Errors: *broker.Error
// EREPLAY (reason replay) when it was seen before, else the cache's.
func (sp *ServiceProvider) RememberLogoutRequest(ctx context.Context, req *LogoutRequestInfo) error {
	err := sp.cfg.Replay.Remember(ctx, "saml-logout:"+sp.cfg.ID, req.ID, req.ReplayExpires)
	if broker.ErrorCode(err) == broker.EREPLAY {
		return sp.logoutFail(broker.EREPLAY, "replay", fmt.Errorf("LogoutRequest %s already used", clip(req.ID)))
	}
	return err
}

// inbound is a logout message as the binding carried it.
type inbound struct {
	binding, param    string // param: SAMLRequest or SAMLResponse
	message           string // the parameter's value (base64)
	relayState        string
	sigAlg, signature string
	signedContent     []byte // HTTP-Redirect with a query signature: the octets it covers
}

// readBinding reads r's parameters: the query for GET (HTTP-Redirect),
// the form for POST (HTTP-POST). A parameter given twice, or both
// SAMLRequest and SAMLResponse, is refused.
func (sp *ServiceProvider) readBinding(r *http.Request) (*inbound, error) {
	switch r.Method {
	case http.MethodGet:
		in, err := readRedirectQuery(r.URL.RawQuery)
		if err != nil {
			return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", err)
		}
		return in, nil
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("form: %w", err))
		}
		in := &inbound{binding: BindingPOST}
		for _, k := range []string{"SAMLRequest", "SAMLResponse", "RelayState"} {
			if len(r.PostForm[k]) > 1 {
				return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("form field %s given %d times", k, len(r.PostForm[k])))
			}
		}
		req, resp := r.PostForm.Get("SAMLRequest"), r.PostForm.Get("SAMLResponse")
		if (req == "") == (resp == "") {
			return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", errors.New("the form must carry exactly one of SAMLRequest and SAMLResponse"))
		}
		in.param, in.message = "SAMLRequest", req
		if resp != "" {
			in.param, in.message = "SAMLResponse", resp
		}
		in.relayState = r.PostForm.Get("RelayState")
		return in, nil
	}
	return nil, sp.logoutFail(broker.EINVALID, "binding_unsupported", fmt.Errorf("method %s", r.Method))
}

// readRedirectQuery parses the raw query once: every value used (the
// message, and the octets the signature covers, as they appear in the
// URL: saml-bindings §3.4.4.1) comes from this one parse.
func readRedirectQuery(rawQuery string) (*inbound, error) {
	raw := map[string]string{}
	for _, pair := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("query parameter name: %w", err)
		}
		switch key {
		case "SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature":
		default:
			continue
		}
		if _, dup := raw[key]; dup {
			return nil, fmt.Errorf("query parameter %s given twice", key)
		}
		raw[key] = v
	}
	in := &inbound{binding: BindingRedirect}
	_, hasReq := raw["SAMLRequest"]
	_, hasResp := raw["SAMLResponse"]
	if hasReq == hasResp {
		return nil, errors.New("the query must carry exactly one of SAMLRequest and SAMLResponse")
	}
	in.param = "SAMLRequest"
	if hasResp {
		in.param = "SAMLResponse"
	}
	dec := map[string]string{}
	for k, v := range raw {
		d, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("query parameter %s: %w", k, err)
		}
		dec[k] = d
	}
	in.message, in.relayState, in.sigAlg, in.signature = dec[in.param], dec["RelayState"], dec["SigAlg"], dec["Signature"]
	_, hasAlg := raw["SigAlg"]
	_, hasSig := raw["Signature"]
	if hasAlg || hasSig {
		if in.sigAlg == "" || in.signature == "" {
			return nil, errors.New("the query must carry both SigAlg and Signature, or neither")
		}
		signed := in.param + "=" + raw[in.param]
		if rs, ok := raw["RelayState"]; ok {
			signed += "&RelayState=" + rs
		}
		in.signedContent = []byte(signed + "&SigAlg=" + raw["SigAlg"])
	}
	return in, nil
}

// decodeLogout turns the parameter into XML: base64, inflated for
// HTTP-Redirect, at most MaxResponseBytes, without a DTD.
func (sp *ServiceProvider) decodeLogout(in *inbound) ([]byte, error) {
	max := sp.cfg.MaxResponseBytes
	s := strings.NewReplacer("\r", "", "\n", "", " ", "", "\t", "").Replace(in.message)
	if base64.StdEncoding.DecodedLen(len(s)) > max+3 {
		return nil, sp.logoutFail(broker.ETOOLARGE, "too_large", fmt.Errorf("%s larger than %d bytes", in.param, max))
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("%s is not base64", in.param))
	}
	if in.binding == BindingRedirect {
		fr := flate.NewReader(bytes.NewReader(raw))
		defer fr.Close()
		if raw, err = io.ReadAll(io.LimitReader(fr, int64(max)+1)); err != nil {
			return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("%s is not deflated: %w", in.param, err))
		}
	}
	if len(raw) > max {
		return nil, sp.logoutFail(broker.ETOOLARGE, "too_large", fmt.Errorf("%s is more than %d bytes", in.param, max))
	}
	if err := rejectDTD(raw); err != nil {
		return nil, sp.logoutFail(broker.EINVALID, "dtd_forbidden", err)
	}
	return raw, nil
}

// verifyLogout inspects the document and verifies its signatures; it
// returns the element to read the message from: what the enveloped
// signature covers, or the root when the query signature covers it all.
func (sp *ServiceProvider) verifyLogout(st *spState, in *inbound, raw []byte) (*etree.Element, error) {
	t, err := scan(raw)
	if err != nil {
		return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", err)
	}
	if t.unsupported != nil {
		return nil, sp.logoutFail(broker.EINVALID, "xml_unsupported", t.unsupported)
	}
	if d := depth(t.root); d > maxLogoutDepth {
		return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("elements nested %d deep", d))
	}
	want := "LogoutRequest"
	if in.param == "SAMLResponse" {
		want = "LogoutResponse"
	}
	if !t.is(t.root, nsProtocol, want) {
		return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("%s holds %s, not a SAML 2.0 %s", in.param, describe(t.root), want))
	}
	sig, err := sp.logoutSignature(t)
	if err != nil {
		return nil, err
	}
	certs := idpSigningCerts(st.md)
	if in.signedContent != nil {
		if err := sp.checkQuerySignature(in, certs); err != nil {
			return nil, err
		}
	}
	if sig != nil {
		signed, err := sp.checkEnveloped(t.root, certs)
		if err != nil {
			return nil, err
		}
		return signed, nil
	}
	if in.signedContent == nil && want == "LogoutRequest" {
		return nil, sp.logoutFail(broker.EUNAUTHORIZED, "logout_unsigned", errors.New("the LogoutRequest is not signed"))
	}
	return t.root, nil
}

// logoutSignature returns the root's Signature, nil when there is none:
// at most one Signature in the whole document, an XML Signature child of
// the root with one Reference to the root's unique ID, algorithms on the
// allow-lists.
func (sp *ServiceProvider) logoutSignature(t *tree) (*etree.Element, error) {
	switch n := len(t.signatures); {
	case n == 0:
		return nil, nil
	case n > 1:
		return nil, sp.logoutFail(broker.EUNAUTHORIZED, "signature_structure", fmt.Errorf("%d Signature elements", n))
	}
	sig := t.signatures[0]
	if t.ns[sig] != nsDSig || sig.Parent() != t.root {
		return nil, sp.logoutFail(broker.EUNAUTHORIZED, "signature_structure", fmt.Errorf("%s: only the root may be signed", describe(sig)))
	}
	r := &response{tree: t}
	if err := r.checkReference(sig, t.root); err != nil {
		var se *structureError
		if errors.As(err, &se) {
			return nil, sp.logoutFail(broker.EUNAUTHORIZED, se.reason, se.err)
		}
		return nil, sp.logoutFail(broker.EUNAUTHORIZED, "signature_structure", err)
	}
	if err := checkAlgorithms(sig, sp.sigAlgs, sp.digAlgs); err != nil {
		return nil, sp.logoutFail(broker.EUNAUTHORIZED, "algorithm_not_allowed", err)
	}
	return sig, nil
}

// redirectAlgorithms maps the SigAlg URIs to x509's algorithms.
var redirectAlgorithms = map[string]x509.SignatureAlgorithm{
	dsig.RSASHA1SignatureMethod:     x509.SHA1WithRSA,
	dsig.RSASHA256SignatureMethod:   x509.SHA256WithRSA,
	dsig.RSASHA384SignatureMethod:   x509.SHA384WithRSA,
	dsig.RSASHA512SignatureMethod:   x509.SHA512WithRSA,
	dsig.ECDSASHA256SignatureMethod: x509.ECDSAWithSHA256,
	dsig.ECDSASHA384SignatureMethod: x509.ECDSAWithSHA384,
	dsig.ECDSASHA512SignatureMethod: x509.ECDSAWithSHA512,
}

// checkQuerySignature verifies the HTTP-Redirect query signature with the
// IdP's signing certificates valid now.
func (sp *ServiceProvider) checkQuerySignature(in *inbound, certs []*x509.Certificate) error {
	alg, ok := redirectAlgorithms[in.sigAlg]
	if !ok || !sp.sigAlgs[in.sigAlg] {
		return sp.logoutFail(broker.EUNAUTHORIZED, "algorithm_not_allowed", &algorithmError{"signature", in.sigAlg})
	}
	sig, err := base64.StdEncoding.DecodeString(in.signature)
	if err != nil {
		return sp.logoutFail(broker.EUNAUTHORIZED, "signature_invalid", errors.New("the Signature parameter is not base64"))
	}
	now := sp.certNow()
	lastErr := errors.New("no signing certificate in the IdP metadata")
	for _, c := range certs {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			lastErr = fmt.Errorf("certificate %q is not valid now", c.Subject.CommonName)
			continue
		}
		if lastErr = c.CheckSignature(alg, in.signedContent, sig); lastErr == nil {
			return nil
		}
	}
	return sp.logoutFail(broker.EUNAUTHORIZED, "signature_invalid", fmt.Errorf("query signature: %w", lastErr))
}

// checkEnveloped verifies the root's enveloped signature with each of the
// IdP's signing certificates in turn (at the broker's clock) and returns
// the element it covers.
func (sp *ServiceProvider) checkEnveloped(root *etree.Element, certs []*x509.Certificate) (*etree.Element, error) {
	lastErr := errors.New("no signing certificate in the IdP metadata")
	for _, c := range certs {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		vc.Clock = dsig.NewFakeClockAt(sp.certNow())
		signed, err := vc.Validate(root.Copy())
		if err == nil {
			return signed, nil
		}
		lastErr = err
	}
	return nil, sp.logoutFail(broker.EUNAUTHORIZED, "signature_invalid", fmt.Errorf("XML signature: %w", lastErr))
}

// idpSigningCerts are the certificates the IdP metadata offers for
// signing (KeyDescriptor use "signing" or unset).
func idpSigningCerts(md *saml.EntityDescriptor) []*x509.Certificate {
	certs, _ := metadataSigningCerts(md)
	return certs
}

// metadataSigningCerts parses the certificates of the IdP metadata's
// signing KeyDescriptors (use "signing" or unset); bad counts those that
// do not decode or parse.
func metadataSigningCerts(md *saml.EntityDescriptor) (certs []*x509.Certificate, bad int) {
	for _, d := range md.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					bad++
					continue
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					bad++
					continue
				}
				certs = append(certs, cert)
			}
		}
	}
	return certs, bad
}

// depth is how deeply elements nest under el, el counting 1.
func depth(el *etree.Element) int {
	d := 0
	for _, c := range el.ChildElements() {
		d = max(d, depth(c))
	}
	return d + 1
}

// unmarshalLogout decodes the verified element into v (a crewjam type).
func unmarshalLogout(el *etree.Element, v any) error {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	return xml.Unmarshal(b, v)
}

// logoutRequestOf reads and checks a verified LogoutRequest.
func (sp *ServiceProvider) logoutRequestOf(st *spState, el *etree.Element, now time.Time) (*LogoutRequestInfo, error) {
	var req saml.LogoutRequest
	if err := unmarshalLogout(el, &req); err != nil {
		return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", err)
	}
	if err := sp.checkLogoutHeader(st, "LogoutRequest", req.ID, req.Version, req.Issuer, req.Destination, req.IssueInstant, now); err != nil {
		return nil, err
	}
	if req.NotOnOrAfter != nil && !now.Before(req.NotOnOrAfter.Add(sp.cfg.ClockSkew)) {
		return nil, sp.logoutFail(broker.EEXPIRED, "logout_expired", fmt.Errorf("the LogoutRequest expired at %s", req.NotOnOrAfter.UTC().Format(time.RFC3339)))
	}
	if req.NameID == nil || strings.TrimSpace(req.NameID.Value) == "" {
		what := "no NameID"
		if req.EncryptedID != nil {
			what = "an EncryptedID, which the broker does not read"
		} else if req.BaseID != nil {
			what = "a BaseID, which the broker does not read"
		}
		return nil, sp.logoutFail(broker.EINVALID, "logout_no_name_id", fmt.Errorf("the LogoutRequest has %s", what))
	}
	info := &LogoutRequestInfo{ID: req.ID, NameID: strings.TrimSpace(req.NameID.Value), NameIDFormat: req.NameID.Format,
		SessionIndexes: sessionIndexes(&req), ReplayExpires: req.IssueInstant.Add(sp.cfg.ClockSkew + logoutReplayExtra)}
	if req.NotOnOrAfter != nil {
		info.NotOnOrAfter = *req.NotOnOrAfter
	}
	return info, nil
}

// logoutResponseOf reads and checks a LogoutResponse.
func (sp *ServiceProvider) logoutResponseOf(st *spState, el *etree.Element, pending []string, now time.Time) (*LogoutResponseInfo, error) {
	var resp saml.LogoutResponse
	if err := unmarshalLogout(el, &resp); err != nil {
		return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", err)
	}
	if err := sp.checkLogoutHeader(st, "LogoutResponse", resp.ID, resp.Version, resp.Issuer, resp.Destination, resp.IssueInstant, now); err != nil {
		return nil, err
	}
	answers := false
	for _, id := range pending {
		answers = answers || (id != "" && id == resp.InResponseTo)
	}
	if !answers {
		return nil, sp.logoutFail(broker.EUNAUTHORIZED, "in_response_to_mismatch", fmt.Errorf("InResponseTo %q is not a pending LogoutRequest", clip(resp.InResponseTo)))
	}
	code := strings.TrimSpace(resp.Status.StatusCode.Value)
	if code == "" {
		return nil, sp.logoutFail(broker.EINVALID, "malformed_logout", errors.New("the LogoutResponse has no StatusCode"))
	}
	return &LogoutResponseInfo{InResponseTo: resp.InResponseTo, StatusCode: printable(code, 200), Success: code == saml.StatusSuccess}, nil
}

// checkLogoutHeader checks what both messages carry: Version, ID, Issuer,
// Destination, IssueInstant.
func (sp *ServiceProvider) checkLogoutHeader(st *spState, what, id, version string, iss *saml.Issuer, dest string, issued, now time.Time) error {
	switch {
	case version != "2.0":
		return sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("%s Version %q", what, clip(version)))
	case id == "":
		return sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("%s without an ID", what))
	case issued.IsZero():
		return sp.logoutFail(broker.EINVALID, "malformed_logout", fmt.Errorf("%s without an IssueInstant", what))
	case iss == nil || strings.TrimSpace(iss.Value) != st.md.EntityID:
		got := ""
		if iss != nil {
			got = iss.Value
		}
		return sp.logoutFail(broker.EUNAUTHORIZED, "issuer_mismatch", fmt.Errorf("%s Issuer %q is not %q", what, clip(got), st.md.EntityID))
	case dest != sp.cfg.SLOURL:
		return sp.logoutFail(broker.EUNAUTHORIZED, "destination_mismatch", fmt.Errorf("%s Destination %q is not %q", what, clip(dest), sp.cfg.SLOURL))
	case now.Sub(issued) > sp.cfg.ClockSkew:
		return sp.logoutFail(broker.EEXPIRED, "logout_too_old", fmt.Errorf("%s issued %s ago", what, now.Sub(issued).Round(time.Second)))
	case issued.Sub(now) > sp.cfg.ClockSkew:
		return sp.logoutFail(broker.EUNAUTHORIZED, "clock_skew", fmt.Errorf("%s issued %s in the future", what, issued.Sub(now).Round(time.Second)))
	}
	return nil
}

// What the person reads when a logout message is refused.
const (
	msgLogoutUnreadable = "Sign-out did not complete: what arrived from your identity provider is not a sign-out message the broker can read. Close your browser to end your sessions; if it keeps happening, an administrator must check the identity provider's single sign-out settings for the broker."
	msgLogoutUnverified = "Sign-out did not complete: the sign-out message could not be verified as coming from your identity provider, so the broker ignored it. If it keeps happening, an administrator must check the identity provider's single sign-out settings and signing certificate in the broker."
	msgLogoutTime       = "Sign-out did not complete: the sign-out message from your identity provider was too old or dated in the future when it reached the broker. Sign out again; if it keeps happening, the broker's clock or your identity provider's is off, and an administrator must set it right."
)

var logoutMessages = map[string]string{
	"metadata_unavailable":    "Single sign-out with this identity provider is not available right now: the broker could not load the provider's metadata. Sign out at your identity provider too.",
	"slo_not_configured":      "Single sign-out is not set up for this identity provider.",
	"too_large":               msgLogoutUnreadable,
	"logout_unsigned":         "Sign-out did not complete: the sign-out request from your identity provider is not signed, and the broker only acts on signed ones. An administrator must have the identity provider sign its logout requests.",
	"in_response_to_mismatch": "This sign-out answer does not match a sign-out started in this browser, or that one timed out. You are signed out of the broker; sign out at your identity provider too if you need to.",
	"logout_no_name_id":       "Sign-out did not complete: the sign-out request from your identity provider does not name the person in a way the broker reads. An administrator must have the identity provider send a plain NameID in logout requests.",
	"replay":                  "This sign-out request was already used. You are signed out of the broker.",
}

// logoutFail is the error of a refused logout message.
func (sp *ServiceProvider) logoutFail(code, reason string, cause error) error {
	msg, ok := logoutMessages[reason]
	if !ok {
		switch code {
		case broker.EINVALID, broker.ETOOLARGE:
			msg = msgLogoutUnreadable
		case broker.EEXPIRED:
			msg = msgLogoutTime
		default:
			msg = msgLogoutUnverified
			if reason == "clock_skew" {
				msg = msgLogoutTime
			}
		}
	}
	if cause == nil {
		cause = errors.New(reason)
	}
	return &broker.Error{Code: code, Reason: reason, Message: msg, Err: fmt.Errorf("saml: %s: logout: %w", sp.cfg.ID, cause)}
}
