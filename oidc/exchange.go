package oidc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/broker-dev/broker"
)

// Result is a verified sign-in or refresh.
type Result struct {
	Identity     broker.Identity
	IDToken      string // raw, for pass-through AssumeRoleWithWebIdentity
	Expires      time.Time
	RefreshToken string // "" when the OP issued none
	// RefreshExpires is when the refresh token stops working, from the
	// token response's refresh_expires_in (Keycloak); zero when the OP
	// did not say. The portal session is capped there.
	RefreshExpires time.Time
}

// ExchangeOption adds a check to one Exchange.
type ExchangeOption func(*exchangeOptions)

type exchangeOptions struct {
	maxAge time.Duration
}

// WithMaxAge is the AuthRequest.MaxAge this sign-in sent: the ID token's
// auth_time must then be present (auth_time_missing) and within maxAge
// plus the clock skew of now (auth_time_too_old), OIDC Core 3.1.2.1 and
// 3.1.3.7. Zero or less checks nothing.
func WithMaxAge(maxAge time.Duration) ExchangeOption {
	return func(o *exchangeOptions) { o.maxAge = maxAge }
}

// Exchange redeems an authorization code and verifies the ID token.
// Errors are *broker.Error (EUNAUTHORIZED with a precise reason, EEXPIRED,
// EUPSTREAM when the OP cannot be reached, EUNAVAILABLE before discovery)
// with a message that says who must act; the cause of a refusal is a
// *RefusedError, naming the subject once the ID token's signature verified.
// opts add checks (WithMaxAge).
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string, opts ...ExchangeOption) (*Result, error) {
	var o exchangeOptions
	for _, opt := range opts {
		opt(&o)
	}
	oc, err := p.discover(ctx, false)
	if err != nil {
		return nil, err
	}
	if code == "" {
		return nil, p.fail(broker.EINVALID, "code_missing", errors.New("no code in the callback"))
	}
	tok, err := oc.Exchange(p.httpContext(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, p.tokenError(err)
	}
	return p.verify(ctx, tok, nonce, "", o)
}

// Refresh uses a refresh token to get a fresh ID token for the same
// subject. A refused refresh token is EEXPIRED: sign in again.
func (p *Provider) Refresh(ctx context.Context, refreshToken, subject string) (*Result, error) {
	oc, err := p.discover(ctx, false)
	if err != nil {
		return nil, err
	}
	tok, err := oc.TokenSource(p.httpContext(ctx), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, p.fail(broker.EEXPIRED, "refresh_refused", err)
		}
		return nil, p.fail(broker.EUPSTREAM, "token_endpoint_unreachable", err)
	}
	res, err := p.verify(ctx, tok, "", subject, exchangeOptions{})
	if err != nil {
		return nil, err
	}
	if res.RefreshToken == "" {
		res.RefreshToken = refreshToken
	}
	return res, nil
}

func (p *Provider) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode == "invalid_client" {
			return p.fail(broker.EUPSTREAM, "client_authentication_failed", err)
		}
		return p.fail(broker.EUNAUTHORIZED, "code_rejected", err)
	}
	return p.fail(broker.EUPSTREAM, "token_endpoint_unreachable", err)
}

// idClaims are the claims the checks below need.
type idClaims struct {
	IssuedAt *int64          `json:"iat"`
	Azp      string          `json:"azp"`
	AuthTime *int64          `json:"auth_time"`
	Aud      json.RawMessage `json:"aud"`
	SID      string          `json:"sid"`
}

func (p *Provider) verify(ctx context.Context, tok *oauth2.Token, nonce, wantSub string, o exchangeOptions) (*Result, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, p.fail(broker.EUNAUTHORIZED, "id_token_missing", errors.New("the token response has no id_token"))
	}
	p.mu.Lock()
	v, op := p.verifier, p.op
	p.mu.Unlock()
	idt, err := v.Verify(p.httpContext(ctx), raw)
	if err != nil {
		return nil, p.verifyError(ctx, op, raw, err)
	}
	// The signature verified: every refusal from here on names the subject.
	sub := idt.Subject
	refuse := func(code, reason string, cause error) error { return p.refusedFor(sub, code, reason, cause) }
	now, skew := p.cfg.Now(), p.cfg.ClockSkew
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return nil, refuse(broker.EUNAUTHORIZED, "id_token_invalid", err)
	}
	switch {
	case idt.Subject == "":
		return nil, refuse(broker.EUNAUTHORIZED, "sub_missing", errors.New("the ID token has no sub"))
	case c.IssuedAt == nil:
		return nil, refuse(broker.EUNAUTHORIZED, "iat_missing", errors.New("the ID token has no iat"))
	case idt.IssuedAt.After(now.Add(skew)):
		return nil, p.early(sub, fmt.Errorf("iat %s is in the future", idt.IssuedAt), idt.IssuedAt.Sub(now))
	case !now.Before(idt.Expiry.Add(skew)):
		return nil, p.expired(sub, fmt.Errorf("the ID token expired at %s", idt.Expiry), now.Sub(idt.IssuedAt))
	case len(idt.Audience) > 1 && c.Azp != p.cfg.ClientID:
		return nil, refuse(broker.EUNAUTHORIZED, "azp_mismatch", fmt.Errorf("several audiences %v and azp %q is not our client id", idt.Audience, c.Azp))
	case c.Azp != "" && c.Azp != p.cfg.ClientID:
		return nil, refuse(broker.EUNAUTHORIZED, "azp_mismatch", fmt.Errorf("azp %q is not our client id", c.Azp))
	case nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1:
		return nil, refuse(broker.EUNAUTHORIZED, "nonce_mismatch", errors.New("the ID token's nonce is not the one this browser sent"))
	case nonce == "" && wantSub == "":
		return nil, refuse(broker.EUNAUTHORIZED, "nonce_missing", errors.New("no nonce to check"))
	case wantSub != "" && idt.Subject != wantSub:
		return nil, refuse(broker.EUNAUTHORIZED, "sub_changed", fmt.Errorf("refreshed token is for %q, not %q", idt.Subject, wantSub))
	}
	if err := checkAuthTime(c.AuthTime, o.maxAge, now, skew); err != nil {
		return nil, refuse(broker.EUNAUTHORIZED, err.reason, err)
	}
	claims, err := claimsOf(idt.Claims)
	if err != nil {
		return nil, refuse(broker.EUNAUTHORIZED, "id_token_invalid", err)
	}
	if p.cfg.UseUserinfo {
		ui, err := op.UserInfo(p.httpContext(ctx), oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, refuse(broker.EUPSTREAM, "userinfo_failed", err)
		}
		if ui.Subject != idt.Subject {
			return nil, refuse(broker.EUNAUTHORIZED, "userinfo_sub_mismatch", fmt.Errorf("userinfo sub %q is not the ID token's %q", ui.Subject, idt.Subject))
		}
		if extra, err := claimsOf(ui.Claims); err == nil {
			for k, v := range extra {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	id := broker.Identity{
		Provider: p.cfg.ID, Protocol: broker.ProtocolOIDC, Issuer: idt.Issuer, Subject: idt.Subject,
		SessionIndex: c.SID, Expires: idt.Expiry, AuthnInstant: idt.IssuedAt, Attributes: Flatten(claims),
	}
	if c.AuthTime != nil {
		id.AuthnInstant = time.Unix(*c.AuthTime, 0)
	}
	id.Attributes[broker.AttrProvider] = []string{p.cfg.ID}
	broker.SetMFA(&id, p.cfg.MFAValues)
	for _, name := range p.cfg.SessionNameClaims {
		if n := broker.SanitizeRoleSessionName(id.First(name)); n != "" {
			id.RoleSessionName = n
			break
		}
	}
	return &Result{Identity: id, IDToken: raw, Expires: idt.Expiry, RefreshToken: tok.RefreshToken,
		RefreshExpires: refreshExpires(tok, now)}, nil
}

// authTimeError is a refusal of auth_time under max_age.
type authTimeError struct {
	reason string
	error
}

// checkAuthTime: with a max age sent, auth_time must be present and no
// older than the max age (in the whole seconds sent) plus skew.
func checkAuthTime(authTime *int64, maxAge time.Duration, now time.Time, skew time.Duration) *authTimeError {
	if maxAge <= 0 {
		return nil
	}
	if authTime == nil {
		return &authTimeError{ReasonAuthTimeMissing, errors.New("max_age was sent and the ID token has no auth_time")}
	}
	at := time.Unix(*authTime, 0)
	if limit := time.Duration(maxAgeSeconds(maxAge))*time.Second + skew; now.Sub(at) > limit {
		return &authTimeError{ReasonAuthTimeTooOld, fmt.Errorf("auth_time %s is %s ago, max_age %s", at.UTC().Format(time.RFC3339), now.Sub(at).Round(time.Second), maxAge)}
	}
	return nil
}

// refreshExpires reads refresh_expires_in (seconds, Keycloak) from the
// token response: zero when absent, not a positive number, or the
// refresh token is absent.
func refreshExpires(tok *oauth2.Token, now time.Time) time.Time {
	if tok.RefreshToken == "" {
		return time.Time{}
	}
	var secs float64
	switch v := tok.Extra("refresh_expires_in").(type) {
	case float64:
		secs = v
	case json.Number:
		secs, _ = v.Float64()
	case string:
		secs, _ = strconv.ParseFloat(v, 64)
	}
	if !(secs > 0) || secs > 10*365*24*3600 {
		return time.Time{}
	}
	return now.Add(time.Duration(secs) * time.Second)
}

// claimsOf decodes claims keeping numbers as their JSON text (json.Number),
// so that Flatten gives a real sign-in the same attribute values as the
// admin simulator's pasted claims (1.0 stays "1.0", big integers exact).
func claimsOf(get func(any) error) (map[string]any, error) {
	var raw json.RawMessage
	if err := get(&raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	claims := map[string]any{}
	if err := dec.Decode(&claims); err != nil {
		return nil, err
	}
	return claims, nil
}
