package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/broker-dev/broker"
)

// Bindings a logout message travels by (LogoutMessage.Binding).
const (
	BindingRedirect = saml.HTTPRedirectBinding
	BindingPOST     = saml.HTTPPostBinding
)

// logoutLifetime is how long a LogoutRequest the broker sends is valid
// (its NotOnOrAfter).
const logoutLifetime = 5 * time.Minute

// Outbound is a logout message for the browser to carry to the IdP: a
// redirect to RedirectURL (HTTP-Redirect binding), or a form the caller
// renders and submits automatically, POSTing Fields (SAMLRequest or
// SAMLResponse, and RelayState when there is one) to PostURL (HTTP-POST
// binding). Exactly one of RedirectURL and PostURL is set.
type Outbound struct {
	RedirectURL string
	PostURL     string
	Fields      map[string]string
}

// SingleLogoutSupported reports whether single logout can be used with
// this IdP: the broker has an SLOURL and the IdP's metadata names a
// SingleLogoutService with the HTTP-Redirect or HTTP-POST binding.
func (sp *ServiceProvider) SingleLogoutSupported() bool {
	st := sp.state.Load()
	if st == nil || sp.cfg.SLOURL == "" {
		return false
	}
	_, _, ok := sloEndpoint(st.md)
	return ok
}

// sloEndpoint is the IdP's SingleLogoutService: HTTP-Redirect when it
// offers one, else HTTP-POST.
func sloEndpoint(md *saml.EntityDescriptor) (saml.Endpoint, string, bool) {
	for _, binding := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		for _, d := range md.IDPSSODescriptors {
			for _, e := range d.SingleLogoutServices {
				if e.Binding == binding && e.Location != "" {
					return e, binding, true
				}
			}
		}
	}
	return saml.Endpoint{}, "", false
}

// sloTemplate is the crewjam SP for one logout message: our clock, and
// logout messages signed (RSA-SHA256) when there is a key.
func (sp *ServiceProvider) sloTemplate(st *spState) (saml.ServiceProvider, saml.Endpoint, string, error) {
	if sp.cfg.SLOURL == "" {
		return saml.ServiceProvider{}, saml.Endpoint{}, "", broker.Errorf(broker.EUNAVAILABLE, "slo_not_configured",
			"Single sign-out is not set up for this identity provider. Sign out at your identity provider too.")
	}
	ep, binding, ok := sloEndpoint(st.md)
	if !ok {
		return saml.ServiceProvider{}, saml.Endpoint{}, "", broker.Errorf(broker.EUNAVAILABLE, "no_slo_endpoint",
			"This identity provider does not offer single sign-out (no SingleLogoutService in its metadata). Sign out at your identity provider too.")
	}
	tmpl := st.sp
	tmpl.Clock = dsig.NewFakeClockAt(sp.cfg.Now())
	// Messages are made unsigned and signed the binding's way (outbound).
	tmpl.LogoutSignatureMethod, tmpl.SignatureMethod = "", ""
	return tmpl, ep, binding, nil
}

// LogoutRequest builds the LogoutRequest that ends id's session at the
// IdP (SP-initiated single logout): the NameID (with its Format) and
// SessionIndex the IdP asserted, Destination, Issuer, IssueInstant and a
// NotOnOrAfter five minutes on. It goes by HTTP-Redirect when the IdP
// offers it (the query signed, RSA-SHA256, when the SP has a key), else
// by HTTP-POST (an enveloped signature when the SP has a key). The caller
// keeps requestID, to match the IdP's LogoutResponse (ParseLogout).
// relayState must be URL-safe and at most 80 bytes.
//
// Errors are *broker.Error: EUNAVAILABLE (no metadata, no SLOURL, no
// SingleLogoutService: reasons metadata_unavailable, slo_not_configured,
// no_slo_endpoint), EINVALID (an identity without a subject).
func (sp *ServiceProvider) LogoutRequest(id *broker.Identity, relayState string) (*Outbound, string, error) {
	st := sp.state.Load()
	if st == nil {
		return nil, "", broker.Wrap(sp.Ready(), broker.EUNAVAILABLE, "metadata_unavailable", "Single sign-out with this identity provider is not available right now. Sign out at your identity provider too.")
	}
	if id == nil || id.Subject == "" {
		return nil, "", broker.Errorf(broker.EINVALID, "logout_no_subject", "There is no identity provider session to sign out of.")
	}
	if relayState != url.QueryEscape(relayState) || len(relayState) > saml.MaxRelayStateLength {
		return nil, "", fmt.Errorf("saml: relay state must be URL-safe and at most %d bytes", saml.MaxRelayStateLength)
	}
	tmpl, ep, binding, err := sp.sloTemplate(st)
	if err != nil {
		return nil, "", err
	}
	req, err := tmpl.MakeLogoutRequest(ep.Location, id.Subject, saml.WithSessionIndex(id.SessionIndex))
	if err != nil {
		return nil, "", fmt.Errorf("saml: %s: logout request: %w", sp.cfg.ID, err)
	}
	// The NameID exactly as the IdP asserted it: its format, no
	// qualifiers the assertion may not have carried.
	req.NameID = &saml.NameID{Format: id.SubjectFormat, Value: id.Subject}
	until := req.IssueInstant.Add(logoutLifetime)
	req.NotOnOrAfter = &until
	out, err := sp.outbound(&tmpl, ep.Location, binding, "SAMLRequest", relayState, req.Element, func() (*etree.Element, error) {
		if err := tmpl.SignLogoutRequest(req); err != nil {
			return nil, err
		}
		return req.Element(), nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("saml: %s: logout request: %w", sp.cfg.ID, err)
	}
	return out, req.ID, nil
}

// LogoutResponse answers the IdP's LogoutRequest req (from ParseLogout):
// Success, or urn:oasis:names:tc:SAML:2.0:status:Responder when the
// broker could not end the session. A request that matched no session is
// answered Success (saml-core §3.7.3.2: the principal has no session
// left). It goes to the IdP's SingleLogoutService ResponseLocation (else
// Location), by HTTP-Redirect when offered, else HTTP-POST, signed when
// the SP has a key. relayState is the request's, echoed unchanged.
//
// Errors are *broker.Error: EUNAVAILABLE as for LogoutRequest.
func (sp *ServiceProvider) LogoutResponse(req *LogoutRequestInfo, success bool, relayState string) (*Outbound, error) {
	st := sp.state.Load()
	if st == nil {
		return nil, broker.Wrap(sp.Ready(), broker.EUNAVAILABLE, "metadata_unavailable", "Single sign-out with this identity provider is not available right now. Sign out at your identity provider too.")
	}
	if req == nil || req.ID == "" {
		return nil, errors.New("saml: LogoutResponse needs the LogoutRequest it answers")
	}
	tmpl, ep, binding, err := sp.sloTemplate(st)
	if err != nil {
		return nil, err
	}
	dest := ep.Location
	if ep.ResponseLocation != "" {
		dest = ep.ResponseLocation
	}
	status := saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}}
	if !success {
		status.StatusCode.Value = saml.StatusResponder
	}
	resp, err := tmpl.MakeLogoutResponseWithStatus(dest, req.ID, status)
	if err != nil {
		return nil, fmt.Errorf("saml: %s: logout response: %w", sp.cfg.ID, err)
	}
	out, err := sp.outbound(&tmpl, dest, binding, "SAMLResponse", relayState, resp.Element, func() (*etree.Element, error) {
		if err := tmpl.SignLogoutResponse(resp); err != nil {
			return nil, err
		}
		return resp.Element(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("saml: %s: logout response: %w", sp.cfg.ID, err)
	}
	return out, nil
}

// outbound encodes a message for its binding: for HTTP-Redirect the
// unsigned element deflated into the query, signed there (saml-bindings
// §3.4.4.1) when the SP has a key; for HTTP-POST the element, with an
// enveloped signature (signed) when the SP has a key.
func (sp *ServiceProvider) outbound(tmpl *saml.ServiceProvider, dest, binding, param, relayState string,
	unsigned func() *etree.Element, signed func() (*etree.Element, error)) (*Outbound, error) {
	sign := sp.cfg.Key != nil
	if sign {
		tmpl.LogoutSignatureMethod = dsig.RSASHA256SignatureMethod
		tmpl.SignatureMethod = dsig.RSASHA256SignatureMethod // GetSigningContext's
	}
	if binding == saml.HTTPRedirectBinding {
		u, err := redirectURL(tmpl, dest, param, unsigned(), relayState, sign)
		if err != nil {
			return nil, err
		}
		return &Outbound{RedirectURL: u}, nil
	}
	el := unsigned()
	if sign {
		var err error
		if el, err = signed(); err != nil {
			return nil, err
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	fields := map[string]string{param: base64.StdEncoding.EncodeToString(b)}
	if relayState != "" {
		fields["RelayState"] = relayState
	}
	return &Outbound{PostURL: dest, Fields: fields}, nil
}

// redirectURL is dest with the HTTP-Redirect binding's parameters: the
// message deflated and base64-encoded, RelayState, and when sign is set
// SigAlg (RSA-SHA256) and the Signature over exactly those octets.
func redirectURL(tmpl *saml.ServiceProvider, dest, param string, el *etree.Element, relayState string, sign bool) (string, error) {
	u, err := url.Parse(dest)
	if err != nil {
		return "", err
	}
	encoded, err := deflateBase64(el)
	if err != nil {
		return "", err
	}
	// Built by hand: the signature covers the parameters in this order.
	q := param + "=" + url.QueryEscape(encoded)
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if sign {
		q += "&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
		ctx, err := saml.GetSigningContext(tmpl)
		if err != nil {
			return "", err
		}
		sig, err := ctx.SignString(q)
		if err != nil {
			return "", err
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + q
	} else {
		u.RawQuery = q
	}
	return u.String(), nil
}

func deflateBase64(el *etree.Element) (string, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return "", err
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	if _, err := doc.WriteTo(w); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// sessionIndexes reads the SessionIndex values of a LogoutRequest.
func sessionIndexes(req *saml.LogoutRequest) []string {
	var out []string
	for _, si := range req.AllSessionIndexes() {
		if v := strings.TrimSpace(si.Value); v != "" {
			out = append(out, v)
		}
	}
	return out
}
