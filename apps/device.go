package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// The device authorization grant (RFC 8628), for a device without a
// browser (the broker CLI in an SSH session):
//
//	device ──> POST /oauth/device_authorization (client; confidential ones authenticate)
//	       <── device_code, user_code (8 letters, BCDF-GHJK), verification_uri /device, interval 5, expires_in 600
//	person ──> /device (web/apps, signed in to the portal) ──> LookupDevice(user code)
//	       ──> the app's name and scopes ──> DecideDevice: Allow (the client's `when`) or Deny (audited)
//	device ──> POST /oauth/token grant_type=…:device_code (every interval seconds)
//	       <── authorization_pending │ slow_down (too soon: the interval grows by 5 s)
//	           │ access_denied │ expired_token │ the tokens, once
//
// zitadel creates the codes and answers /oauth/device_authorization
// (Storage.StoreDeviceAuthorization keeps their hashes); the token
// endpoint's device grant is served here (Provider.deviceToken) because
// zitadel's takes no poll interval into account (no slow_down), uses the
// wall clock, and hands the storage no way to find the person's identity
// for the tokens.
//
// A user code has 20^8 (about 2.6e10) values. Guessing is bounded two
// ways: the verification page is rate limited per client address
// (web/apps), and every wrong code counts against every pending device
// authorization, which expires after MaxUserCodeFailures of them, so no
// device code can be guessed at more than that many times whatever the
// number of addresses (at worst, a flood of wrong codes makes devices
// start again).

// Device flow settings.
const (
	PathDeviceAuthorization = "/oauth/device_authorization"
	// DevicePath is the verification page (web/apps).
	DevicePath                = "/device"
	DefaultDeviceLifetime     = 10 * time.Minute
	DefaultDevicePollInterval = 5 * time.Second
	// MaxUserCodeFailures is how many wrong user codes a pending device
	// authorization outlives.
	MaxUserCodeFailures = 50
	userCodeLen         = 8
)

// Reasons of the device flow's errors.
const (
	ReasonDeviceCodeUnknown = "device_code_unknown"
	ReasonDeviceCodeInvalid = "device_code_invalid"
)

var errDeviceCodeUnknown = broker.Errorf(broker.ENOTFOUND, ReasonDeviceCodeUnknown,
	"This code is not valid: it may be mistyped, expired or already used. Check the code your device shows, or start again on the device.")

// NormalizeUserCode returns a user code as stored: upper case, without
// dashes or spaces; "" if it cannot be one (wrong length or letters).
func NormalizeUserCode(s string) string {
	if len(s) > 32 {
		return ""
	}
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
	if len(s) != userCodeLen || strings.Trim(s, op.CharSetBase20) != "" {
		return ""
	}
	return s
}

// FormatUserCode writes a normalised user code as people read it: BCDF-GHJK.
func FormatUserCode(s string) string {
	if len(s) != userCodeLen {
		return s
	}
	return s[:4] + "-" + s[4:]
}

func userCodeHash(normalized string) string { return hash("user code\x00" + normalized) }

// StoreDeviceAuthorization keeps a device authorization zitadel created:
// the codes' hashes, the scopes the client may have among those asked,
// the expiry by the provider's clock.
func (s *storage) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, _ time.Time, scopes []string) error {
	c, ok := s.p.client(ctx, clientID)
	if !ok || !c.Device {
		return oidc.ErrUnauthorizedClient().WithDescription("this client may not use the device flow")
	}
	var allowed []string
	for _, sc := range scopes {
		if slices.Contains(c.Scopes, sc) && !slices.Contains(allowed, sc) {
			allowed = append(allowed, sc)
		}
	}
	now := s.now()
	return s.p.cfg.Store.CreateDeviceAuthorization(ctx, &store.DeviceAuthorization{
		ID: newSecret(), DeviceCodeHash: hash(deviceCode), UserCodeHash: userCodeHash(NormalizeUserCode(userCode)),
		ClientID: clientID, Scopes: allowed, Interval: s.p.cfg.DevicePollInterval,
		CreatedAt: now, ExpiresAt: now.Add(s.p.cfg.DeviceLifetime),
	})
}

// GetDeviceAuthorizatonState is not used: Provider.Handler serves the
// device grant itself (deviceToken).
func (s *storage) GetDeviceAuthorizatonState(context.Context, string, string) (*op.DeviceAuthorizationState, error) {
	return nil, errors.New("apps: the device grant is served by Provider.Handler")
}

var _ op.DeviceAuthorizationStorage = (*storage)(nil)

// deviceGrant is the approved authorization behind a device token
// request, carried in the context to the storage (grantOf, identityOf).
type deviceGrant struct {
	state *op.DeviceAuthorizationState
	d     *store.DeviceAuthorization
}

type deviceGrantKey struct{}

func deviceGrantOf(ctx context.Context, req any) (*store.DeviceAuthorization, bool) {
	g, ok := ctx.Value(deviceGrantKey{}).(*deviceGrant)
	if !ok || g.state != req {
		return nil, false
	}
	return g.d, true
}

// precheckDeviceAuthorization refuses a device authorization request of
// a client not allowed the grant, or of a confidential client that did
// not authenticate (RFC 8628 section 3.1), which zitadel would let through.
func (p *Provider) precheckDeviceAuthorization(r *http.Request) error {
	_, err := p.deviceClient(r)
	return err
}

// deviceClient authenticates the client of a device flow request
// (client_secret_basic or client_secret_post for a confidential client, a
// client_id alone for a public one) and checks it may use the grant.
func (p *Provider) deviceClient(r *http.Request) (*Client, error) {
	if err := r.ParseForm(); err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("cannot parse form")
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
		}
	} else {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	c, ok := p.client(r.Context(), id)
	switch {
	case !ok:
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	case c.Public() && secret != "":
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed: a public client has no secret")
	case !c.Public() && !c.checkSecret(secret):
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	case !c.Device:
		return nil, oidc.ErrUnauthorizedClient().WithDescription("this client may not use the device flow")
	}
	return c, nil
}

// deviceToken answers a device access token request (RFC 8628 section 3.4).
func (p *Provider) deviceToken(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.cfg.Issuer)
	r = r.WithContext(ctx)
	resp, err := p.deviceTokenResponse(ctx, r)
	if err != nil {
		op.RequestError(w, r, err, p.log)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	httphelper.MarshalJSON(w, resp)
}

func (p *Provider) deviceTokenResponse(ctx context.Context, r *http.Request) (*oidc.AccessTokenResponse, error) {
	c, err := p.deviceClient(r)
	if err != nil {
		return nil, err
	}
	clientID := c.ID
	code := r.PostFormValue("device_code")
	if code == "" || len(code) > 128 {
		return nil, oidc.ErrInvalidRequest().WithDescription("device_code is required")
	}
	d, err := p.cfg.Store.PollDeviceAuthorization(ctx, hash(code))
	if broker.ErrorCode(err) == broker.ENOTFOUND || (err == nil && d.ClientID != clientID) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the device code is unknown")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case d.Status == store.DeviceConsumed:
		return nil, p.deviceReplayed(ctx, code, d)
	case !p.now().Before(d.ExpiresAt):
		return nil, oidc.ErrExpiredDeviceCode()
	case d.Status == store.DeviceDenied:
		return nil, oidc.ErrAccessDenied().WithDescription("the person denied the request")
	case d.Status == store.DevicePending && d.SlowDown:
		return nil, oidc.ErrSlowDown()
	case d.Status == store.DevicePending:
		return nil, oidc.ErrAuthorizationPending()
	}
	d, err = p.cfg.Store.ConsumeDeviceAuthorization(ctx, hash(code))
	if err != nil {
		if broker.ErrorCode(err) == broker.EREPLAY {
			return nil, p.deviceReplayed(ctx, code, d)
		}
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			return nil, oidc.ErrExpiredDeviceCode()
		}
		return nil, err
	}
	state := &op.DeviceAuthorizationState{ClientID: d.ClientID, Audience: p.st.audience(d.ClientID), Scopes: d.Scopes,
		Expires: d.ExpiresAt, Done: true, Subject: subject(d.Provider, d.Subject), AMR: d.AMR, AuthTime: d.AuthTime}
	ctx = context.WithValue(ctx, deviceGrantKey{}, &deviceGrant{state: state, d: d})
	return op.CreateDeviceTokenResponse(ctx, state, p.op, &clientAdapter{c: c, p: p})
}

// deviceReplayed: a device code that already gave its tokens. The store
// revoked them (as for a replayed authorization code); audited.
func (p *Provider) deviceReplayed(ctx context.Context, code string, d *store.DeviceAuthorization) error {
	if d != nil && d.Status == store.DeviceConsumed {
		_, _ = p.cfg.Store.ConsumeDeviceAuthorization(ctx, hash(code)) // EREPLAY: revokes the grant
	}
	p.log.WarnContext(ctx, "device code replayed; its tokens are revoked")
	p.cfg.Audit.Audit(ctx, &store.AuditEvent{Event: "app_code_replayed", Result: store.ResultFailure, Reason: "device_code_replayed",
		Message: "a device code was presented again after it gave its tokens; every token it issued is revoked"})
	return oidc.ErrInvalidGrant().WithDescription("the device code was already used")
}

// DeviceRequest is a pending device authorization, as the verification
// page shows it.
type DeviceRequest struct {
	// UserCode is the code as people read it (BCDF-GHJK).
	UserCode   string
	ClientID   string
	ClientName string
	Scopes     []string
	ExpiresAt  time.Time
}

// LookupDevice finds the pending device authorization of a user code
// typed by person. A code that is malformed gets EINVALID
// (ReasonDeviceCodeInvalid); one that matches no live pending
// authorization gets ENOTFOUND (ReasonDeviceCodeUnknown), and counts
// against every pending one (MaxUserCodeFailures), audited.
func (p *Provider) LookupDevice(ctx context.Context, userCode string, person *broker.Identity, m Meta) (*DeviceRequest, error) {
	norm := NormalizeUserCode(userCode)
	if norm == "" {
		return nil, broker.Errorf(broker.EINVALID, ReasonDeviceCodeInvalid,
			"Type the %d-letter code your device shows, like BCDF-GHJK.", userCodeLen)
	}
	d, err := p.cfg.Store.GetDeviceAuthorization(ctx, userCodeHash(norm))
	if broker.ErrorCode(err) == broker.ENOTFOUND {
		expired, ferr := p.cfg.Store.FailDeviceUserCode(ctx, MaxUserCodeFailures)
		if ferr != nil {
			p.log.ErrorContext(ctx, "count a wrong user code", "err", ferr)
		}
		p.cfg.Audit.Audit(ctx, &store.AuditEvent{RequestID: m.RequestID, Event: "app_device_code_wrong", Result: store.ResultFailure,
			Reason: ReasonDeviceCodeUnknown, Message: "a user code that matches no pending device authorization",
			Provider: person.Provider, Subject: person.Subject, RemoteAddr: m.RemoteAddr, UserAgent: m.UserAgent,
			Details: map[string]string{"expired_by_bound": itoa(expired)}})
		return nil, errDeviceCodeUnknown
	}
	if err != nil {
		return nil, err
	}
	out := &DeviceRequest{UserCode: FormatUserCode(norm), ClientID: d.ClientID, ClientName: d.ClientID, Scopes: d.Scopes, ExpiresAt: d.ExpiresAt}
	if c, ok := p.client(ctx, d.ClientID); ok {
		out.ClientName = clientLabel(c)
	}
	return out, nil
}

// DecideDevice records person's answer to the device authorization of
// userCode: approve gives the device tokens for the person at its next
// poll, otherwise it gets access_denied. Approving is refused with
// EFORBIDDEN (ReasonNotAllowed) when the client's `when` refuses the
// person, or (ReasonSubjectTooLong) when the person's sub would be too
// long (and the device gets access_denied). A code no longer pending
// gets ENOTFOUND (ReasonDeviceCodeUnknown). Audited as
// app_device_approved or app_device_denied.
func (p *Provider) DecideDevice(ctx context.Context, userCode string, approve bool, person *broker.Identity, authTime time.Time, m Meta) error {
	req, err := p.LookupDevice(ctx, userCode, person, m)
	if err != nil {
		return err
	}
	c, ok := p.client(ctx, req.ClientID)
	if !ok {
		return broker.Errorf(broker.ENOTFOUND, "app_client_unknown", "This app is no longer registered with the broker.")
	}
	ev := &store.AuditEvent{RequestID: m.RequestID, Event: "app_device_approved", Result: store.ResultSuccess,
		Provider: person.Provider, Subject: person.Subject, RemoteAddr: m.RemoteAddr, UserAgent: m.UserAgent,
		Details: map[string]string{"client": c.ID, "scopes": strings.Join(req.Scopes, " ")}}
	var refused error
	if approve && c.When != nil {
		if ok, why := c.When.Match(person); !ok {
			approve = false
			ev.Result, ev.Reason, ev.Message = store.ResultFailure, ReasonNotAllowed, "the app's condition refused the person: "+why
			refused = broker.Errorf(broker.EFORBIDDEN, ReasonNotAllowed, "You may not use %s.", clientLabel(c))
		}
	}
	if approve {
		if err := checkSubject(person); err != nil {
			approve = false
			ev.Result, ev.Reason, ev.Message = store.ResultFailure, ReasonSubjectTooLong, subjectTooLongAudit
			refused = err
		}
	}
	d := &store.DeviceAuthorization{UserCodeHash: userCodeHash(NormalizeUserCode(userCode)), Status: store.DeviceDenied,
		Provider: person.Provider, Subject: person.Subject}
	if approve {
		raw, err := jsonIdentity(person)
		if err != nil {
			return err
		}
		d.Status, d.Identity, d.AuthTime, d.AMR = store.DeviceApproved, raw, authTime, amrOf(person)
	} else if refused == nil {
		ev.Event = "app_device_denied"
	}
	if err := p.cfg.Store.DecideDeviceAuthorization(ctx, d); err != nil {
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			return errDeviceCodeUnknown
		}
		return err
	}
	p.cfg.Audit.Audit(ctx, ev)
	return refused
}

func jsonIdentity(person *broker.Identity) ([]byte, error) {
	raw, err := json.Marshal(person)
	if err != nil {
		return nil, fmt.Errorf("apps: encode identity: %w", err)
	}
	return raw, nil
}

// amrOf is the amr claim of a sign-in.
func amrOf(person *broker.Identity) []string {
	if person.MFA {
		return []string{"pwd", "mfa"}
	}
	return []string{"pwd"}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
