package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// ClaimAWSRoles lists the roles the rules grant (scope aws:roles).
const ClaimAWSRoles = "aws_roles"

// storage is zitadel's op.Storage over store.AppStore and the configured clients.
type storage struct{ p *Provider }

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

// subject is the sub claim of a person: PROVIDER:SUBJECT, as the broker's
// web-identity tokens (access.TokenSubject). checkSubject keeps it within
// what OpenID Connect allows before any token carries it.
func subject(provider, sub string) string { return provider + ":" + sub }

// maxSubject is OpenID Connect's limit on a sub (Core 1.0 §2: "MUST NOT
// exceed 255 ASCII characters in length"), taken in bytes of its UTF-8, so
// that a relying party that keeps it in a 255-byte column can.
const maxSubject = 255

// subjectTooLongAudit is the audit message of a refusal by checkSubject.
const subjectTooLongAudit = "the person's sub would be longer than OpenID Connect allows"

// checkSubject returns an EFORBIDDEN ReasonSubjectTooLong error when the
// person's sub would be longer than maxSubject. Such a person is refused
// rather than given a shortened or hashed sub: any shortening is a value
// another person's genuine subject can have, the web-identity tokens
// refuse the same identities (access.CheckTokenSubject), and
// RP-initiated logout must find the person's tokens from the sub alone
// (storage.TerminateSession).
func checkSubject(person *broker.Identity) error {
	if n := len(subject(person.Provider, person.Subject)); n > maxSubject {
		return broker.Errorf(broker.EFORBIDDEN, ReasonSubjectTooLong,
			"Your identity at %q is too long for apps: the broker identifies you to them as %q plus your subject there, %d bytes in all, and OpenID Connect allows at most %d. Contact your administrator.",
			person.Provider, person.Provider+":", n, maxSubject)
	}
	return nil
}

// authRequest is an op.AuthRequest.
type authRequest struct {
	r   *store.AppAuthRequest
	aud []string
}

func (a *authRequest) GetID() string          { return a.r.ID }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAMR() []string       { return a.r.AMR }
func (a *authRequest) GetAudience() []string  { return a.aud }
func (a *authRequest) GetAuthTime() time.Time { return a.r.AuthTime }
func (a *authRequest) GetClientID() string    { return a.r.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}
func (a *authRequest) GetNonce() string                   { return a.r.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.r.ResponseType) }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.r.ResponseMode) }
func (a *authRequest) GetScopes() []string                { return a.r.Scopes }
func (a *authRequest) GetState() string                   { return a.r.State }
func (a *authRequest) GetSubject() string {
	if !a.r.Done {
		return ""
	}
	return subject(a.r.Provider, a.r.Subject)
}
func (a *authRequest) Done() bool { return a.r.Done }

// refreshRequest is an op.RefreshTokenRequest: the refresh token presented.
type refreshRequest struct {
	t      *store.AppToken
	hash   string
	aud    []string
	scopes []string
}

func (r *refreshRequest) GetAMR() []string            { return r.t.AMR }
func (r *refreshRequest) GetAudience() []string       { return r.aud }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.t.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return subject(r.t.Provider, r.t.Subject) }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }
func (s *storage) audience(clientID string) []string  { return []string{clientID, s.p.cfg.Issuer} }
func (s *storage) Health(ctx context.Context) error   { return nil }
func (s *storage) now() time.Time                     { return s.p.now() }
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{s.key()}}, nil
}
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key(), nil }
func (s *storage) key() *signingKey                                  { return &signingKey{p: s.p} }

type signingKey struct{ p *Provider }

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k *signingKey) Use() string                                 { return "sig" }
func (k *signingKey) ID() string                                  { return k.p.cfg.KeyID }

// Key is the private key (op.SigningKey).
func (k *signingKey) Key() any { return k.p.cfg.Signing }

// publicKey is the verification key (op.Key): zitadel verifies its own
// access tokens and id_token_hint with it.
type publicKey struct{ *signingKey }

func (k *publicKey) Key() any { return &k.p.cfg.Signing.PublicKey }

// CreateAuthRequest stores a validated request. It adds what the broker
// requires beyond zitadel's checks: PKCE with S256 only, required for
// public clients; the code flow only.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, ok := s.p.client(ctx, req.ClientID)
	if !ok {
		return nil, oidc.ErrInvalidClient()
	}
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("only response_type=code is supported")
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.Public() && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for this client")
	}
	now := s.now()
	r := &store.AppAuthRequest{
		ID: newSecret(), ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State, Nonce: req.Nonce,
		Scopes: req.Scopes, ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt: req.Prompt, LoginHint: req.LoginHint, CreatedAt: now, ExpiresAt: now.Add(authRequestLifetime),
	}
	if req.MaxAge != nil {
		d := time.Duration(*req.MaxAge) * time.Second
		r.MaxAge = &d
	}
	if err := s.p.cfg.Store.CreateAppAuthRequest(ctx, r); err != nil {
		return nil, err
	}
	return &authRequest{r: r, aud: s.audience(r.ClientID)}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.p.cfg.Store.GetAppAuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return &authRequest{r: r, aud: s.audience(r.ClientID)}, nil
}

// AuthRequestByCode redeems the code: once. A replay is refused and
// revokes what the code issued (in the store), and is audited.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.p.cfg.Store.RedeemAppCode(ctx, hash(code))
	if err != nil {
		if broker.ErrorCode(err) == broker.EREPLAY {
			s.p.log.WarnContext(ctx, "authorization code replayed; its tokens are revoked")
			s.p.cfg.Audit.Audit(ctx, &store.AuditEvent{Event: "app_code_replayed", Result: store.ResultFailure, Reason: broker.ErrorReason(err),
				Message: "an authorization code was presented again; every token it issued is revoked"})
		}
		return nil, err
	}
	return &authRequest{r: r, aud: s.audience(r.ClientID)}, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.p.cfg.Store.SaveAppCode(ctx, id, hash(code))
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.p.cfg.Store.DeleteAppAuthRequest(ctx, id)
}

// grantOf returns what a token request carries: the person, the grant
// and the identity.
func (s *storage) grantOf(ctx context.Context, req op.TokenRequest) (*store.AppToken, error) {
	if d, ok := deviceGrantOf(ctx, req); ok {
		return &store.AppToken{Grant: d.ID, ClientID: d.ClientID, Provider: d.Provider, Subject: d.Subject,
			Scopes: d.Scopes, Identity: d.Identity, AuthTime: d.AuthTime, AMR: d.AMR}, nil
	}
	switch r := req.(type) {
	case *authRequest:
		return &store.AppToken{Grant: r.r.ID, ClientID: r.r.ClientID, Provider: r.r.Provider, Subject: r.r.Subject,
			Scopes: r.r.Scopes, Identity: r.r.Identity, AuthTime: r.r.AuthTime, AMR: r.r.AMR}, nil
	case *refreshRequest:
		t := *r.t
		t.Scopes = r.scopes
		return &t, nil
	}
	return nil, oidc.ErrUnsupportedGrantType()
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, err := s.grantOf(ctx, req)
	if err != nil {
		return "", time.Time{}, err
	}
	return s.newAccessToken(ctx, g)
}

func (s *storage) newAccessToken(ctx context.Context, g *store.AppToken) (string, time.Time, error) {
	c, ok := s.p.client(ctx, g.ClientID)
	if !ok {
		return "", time.Time{}, oidc.ErrInvalidClient()
	}
	now := s.now()
	t := *g
	t.ID, t.CreatedAt, t.ExpiresAt = newSecret(), now, now.Add(c.AccessTokenLifetime)
	if err := s.p.cfg.Store.CreateAppAccessToken(ctx, &t); err != nil {
		return "", time.Time{}, err
	}
	s.p.cfg.Audit.Audit(ctx, &store.AuditEvent{Event: "app_token_issued", Result: store.ResultSuccess, Provider: t.Provider, Subject: t.Subject,
		Details: map[string]string{"client": t.ClientID, "scopes": strings.Join(t.Scopes, " "), "grant": hash(t.Grant)[:12]}})
	return t.ID, t.ExpiresAt, nil
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token;
// with a current refresh token, it rotates it (a reuse revokes the grant).
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	g, err := s.grantOf(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	c, ok := s.p.client(ctx, g.ClientID)
	if !ok {
		return "", "", time.Time{}, oidc.ErrInvalidClient()
	}
	refresh := newSecret()
	now := s.now()
	next := *g
	next.ID, next.CreatedAt = hash(refresh), now
	// The refresh token lifetime is absolute: counted from the grant's
	// first refresh token, carried unchanged through every rotation, so a
	// client that keeps refreshing is still signed out when it ends (as a
	// portal session ends at server.session_lifetime, used or not).
	if current == "" || next.ExpiresAt.IsZero() {
		next.ExpiresAt = now.Add(c.RefreshTokenLifetime)
	}
	if current == "" {
		err = s.p.cfg.Store.CreateAppRefreshToken(ctx, &next)
	} else {
		err = s.p.cfg.Store.RotateAppRefreshToken(ctx, hash(current), &next)
	}
	if err != nil {
		s.refreshFailed(ctx, err, g)
		return "", "", time.Time{}, refreshError(err)
	}
	id, exp, err := s.newAccessToken(ctx, g)
	if err != nil {
		return "", "", time.Time{}, err
	}
	return id, refresh, exp, nil
}

func refreshError(err error) error {
	switch broker.ErrorCode(err) {
	case broker.ENOTFOUND, broker.EREPLAY:
		return oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid, expired or revoked")
	}
	return err
}

// refreshFailed audits a reused refresh token (the store revoked the grant).
func (s *storage) refreshFailed(ctx context.Context, err error, g *store.AppToken) {
	if broker.ErrorCode(err) != broker.EREPLAY {
		return
	}
	ev := &store.AuditEvent{Event: "app_refresh_reused", Result: store.ResultFailure, Reason: broker.ErrorReason(err),
		Message: "a rotated refresh token was presented again; every token of its grant is revoked"}
	if g != nil {
		ev.Provider, ev.Subject, ev.Details = g.Provider, g.Subject, map[string]string{"client": g.ClientID}
	}
	s.p.log.WarnContext(ctx, "refresh token reused; grant revoked")
	s.p.cfg.Audit.Audit(ctx, ev)
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.p.cfg.Store.GetAppRefreshToken(ctx, hash(token))
	if err != nil {
		s.refreshFailed(ctx, err, nil)
		return nil, refreshError(err)
	}
	return &refreshRequest{t: t, hash: hash(token), aud: s.audience(t.ClientID), scopes: t.Scopes}, nil
}

// TerminateSession (RP-initiated logout) revokes the client's tokens for
// the person. It does not end the person's broker portal session: an app
// signing its user out ends that app's tokens, not the person's sign-in to
// the broker or to other apps (the portal's own sign-out does that).
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	provider, sub, ok := strings.Cut(userID, ":")
	if !ok {
		return nil
	}
	_, err := s.p.cfg.Store.RevokeAppTokens(ctx, clientID, provider, sub)
	return err
}

const refreshIDPrefix = "rt:"

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, err := s.p.cfg.Store.GetAppRefreshToken(ctx, hash(token))
	if err != nil || t.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return subject(t.Provider, t.Subject), refreshIDPrefix + t.Grant, nil
}

// RevokeToken revokes an access token (by id), or a refresh token's whole
// grant (RFC 7009: its access tokens too). Unknown tokens are not an error.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if grant, ok := strings.CutPrefix(tokenOrID, refreshIDPrefix); ok {
		if _, err := s.p.cfg.Store.RevokeAppGrant(ctx, grant); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	t, err := s.p.cfg.Store.GetAppAccessToken(ctx, tokenOrID)
	if err != nil {
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			return nil
		}
		return oidc.ErrServerError().WithParent(err)
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
	}
	if err := s.p.cfg.Store.RevokeAppAccessToken(ctx, tokenOrID); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// clientAdapter is an op.Client.
type clientAdapter struct {
	c *Client
	p *Provider
}

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, ok := s.p.client(ctx, id)
	if !ok {
		// invalid_client (RFC 6749 section 5.2), not a server error: an
		// app deleted by an admin keeps calling with its old tokens.
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return &clientAdapter{c: c, p: s.p}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, ok := s.p.client(ctx, id)
	if !ok || c.Public() || !c.checkSecret(secret) {
		return errors.New("client authentication failed")
	}
	return nil
}

func (a *clientAdapter) GetID() string                    { return a.c.ID }
func (a *clientAdapter) RedirectURIs() []string           { return a.c.RedirectURIs }
func (a *clientAdapter) PostLogoutRedirectURIs() []string { return a.c.PostLogoutRedirectURIs }
func (a *clientAdapter) ApplicationType() op.ApplicationType {
	if a.c.Public() {
		return op.ApplicationTypeNative // loopback redirects on any port (RFC 8252)
	}
	return op.ApplicationTypeWeb
}
func (a *clientAdapter) AuthMethod() oidc.AuthMethod {
	if a.c.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (a *clientAdapter) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (a *clientAdapter) GrantTypes() []oidc.GrantType {
	g := []oidc.GrantType{oidc.GrantTypeCode}
	if slices.Contains(a.c.Scopes, ScopeOfflineAccess) {
		g = append(g, oidc.GrantTypeRefreshToken)
	}
	if a.c.Device {
		g = append(g, oidc.GrantTypeDeviceCode)
	}
	return g
}
func (a *clientAdapter) LoginURL(id string) string {
	return a.p.cfg.LoginPath + "?id=" + id
}
func (a *clientAdapter) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (a *clientAdapter) IDTokenLifetime() time.Duration      { return a.c.IDTokenLifetime }
func (a *clientAdapter) DevMode() bool                       { return false }
func (a *clientAdapter) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (a *clientAdapter) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed: zitadel keeps openid, profile, email and offline_access
// by itself; ValidateScopes below drops what the client may not ask for.
func (a *clientAdapter) IsScopeAllowed(scope string) bool     { return slices.Contains(a.c.Scopes, scope) }
func (a *clientAdapter) IDTokenUserinfoClaimsAssertion() bool { return true }
func (a *clientAdapter) ClockSkew() time.Duration             { return 0 }

// identity decodes the person a token request carries.
func identityOf(ctx context.Context, req any) (*broker.Identity, []string, error) {
	var raw []byte
	var scopes []string
	if d, ok := deviceGrantOf(ctx, req); ok {
		req = &store.AppToken{Identity: d.Identity, Scopes: d.Scopes}
	}
	switch r := req.(type) {
	case *authRequest:
		raw, scopes = r.r.Identity, r.r.Scopes
	case *refreshRequest:
		raw, scopes = r.t.Identity, r.scopes
	case *store.AppToken:
		raw, scopes = r.Identity, r.Scopes
	default:
		return nil, nil, fmt.Errorf("apps: no identity in %T", req)
	}
	var id broker.Identity
	if err := json.Unmarshal(raw, &id); err != nil {
		return nil, nil, fmt.Errorf("apps: decode identity: %w", err)
	}
	return &id, scopes, nil
}

// setUserinfo fills the claims the scopes (and the client) allow.
func (s *storage) setUserinfo(ctx context.Context, ui *oidc.UserInfo, id *broker.Identity, clientID string, scopes []string) {
	c, _ := s.p.client(ctx, clientID)
	allowed := func(sc string) bool { return slices.Contains(scopes, sc) && c != nil && slices.Contains(c.Scopes, sc) }
	ui.Subject = subject(id.Provider, id.Subject)
	if allowed(ScopeEmail) {
		if e := first(id.Attributes, "email"); e != "" {
			ui.Email = e
			ui.EmailVerified = oidc.Bool(true)
		}
	}
	if allowed(ScopeProfile) {
		ui.Name = first(id.Attributes, "name")
		if ui.Name == "" {
			ui.Name = first(id.Attributes, "displayName") // SAML IdPs (AD FS, Entra, the demo IdP)
		}
		if ui.Name == "" {
			ui.Name = strings.TrimSpace(first(id.Attributes, "given_name") + " " + first(id.Attributes, "family_name"))
		}
		ui.PreferredUsername = first(id.Attributes, "preferred_username")
	}
	if allowed(ScopeGroups) {
		if g := id.Attributes["groups"]; len(g) > 0 {
			ui.AppendClaims("groups", g)
		}
	}
	if allowed(ScopeAWSRoles) {
		ui.AppendClaims(ClaimAWSRoles, s.roles(id))
	}
}

// Role is one entry of the aws_roles claim.
type Role struct {
	Account      string `json:"account"`
	AccountLabel string `json:"account_label,omitempty"`
	RoleARN      string `json:"role_arn"`
	Label        string `json:"label,omitempty"`
}

// roles lists the grants the rules give the person now.
func (s *storage) roles(id *broker.Identity) []Role {
	out := []Role{}
	for _, g := range s.p.cfg.Rules.Decide(id).Grants {
		out = append(out, Role{Account: g.AccountID, AccountLabel: g.AccountLabel, RoleARN: g.RoleARN, Label: g.Label})
	}
	return out
}

func first(attrs map[string][]string, k string) string {
	if v := attrs[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// SetUserinfoFromScopes is deprecated in zitadel: SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the person's claims in the ID token.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	id, _, err := identityOf(ctx, req)
	if err != nil {
		return err
	}
	s.setUserinfo(ctx, ui, id, req.GetClientID(), scopes)
	return nil
}

// GetPrivateClaimsFromRequest: the access token carries the client's
// scope and, with aws:roles, the roles.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, scopes []string) (map[string]any, error) {
	out := map[string]any{"scope": strings.Join(req.GetScopes(), " ")}
	return out, nil
}

// liveToken is the stored access token tokenID of subject sub (not
// revoked, not expired) and the person and scopes it carries.
func (s *storage) liveToken(ctx context.Context, tokenID, sub string) (*store.AppToken, *broker.Identity, []string, error) {
	t, err := s.p.cfg.Store.GetAppAccessToken(ctx, tokenID)
	if err != nil {
		return nil, nil, nil, errors.New("access token invalid, expired or revoked")
	}
	if subject(t.Provider, t.Subject) != sub {
		return nil, nil, nil, errors.New("access token subject mismatch")
	}
	id, scopes, err := identityOf(ctx, t)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, id, scopes, nil
}

// SetUserinfoFromToken answers /oauth/userinfo for a live access token.
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, sub, _ string) error {
	t, id, scopes, err := s.liveToken(ctx, tokenID, sub)
	if err != nil {
		return err
	}
	s.setUserinfo(ctx, ui, id, t.ClientID, scopes)
	return nil
}

// SetIntrospectionFromToken answers /oauth/introspect (for any
// authenticated client) for a live access token.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, sub, _ string) error {
	t, id, scopes, err := s.liveToken(ctx, tokenID, sub)
	if err != nil {
		return err
	}
	ui := new(oidc.UserInfo)
	s.setUserinfo(ctx, ui, id, t.ClientID, scopes)
	resp.SetUserInfo(ui)
	resp.Scope = scopes
	resp.ClientID = t.ClientID
	resp.Audience = s.audience(t.ClientID)
	resp.Expiration = oidc.FromTime(t.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(t.CreatedAt)
	resp.Issuer = s.p.cfg.Issuer
	resp.TokenType = oidc.BearerToken
	resp.JWTID = t.ID
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return map[string]any{}, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}
