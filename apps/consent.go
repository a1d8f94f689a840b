package apps

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// Consent to third-party apps. A client that is not FirstParty asks the
// person once which scopes (beyond openid) it may have; the answer is
// remembered per person and client (store.ConsentStore). The screen comes
// back when the app asks for a scope not yet granted, or says
// prompt=consent. Every decision and revocation is audited
// (app_consent_granted, app_consent_denied, app_consent_revoked).

// Reasons of the consent errors.
const (
	ReasonConsentDenied   = "app_consent_denied"
	ReasonConsentNotFound = "app_consent_not_found"
)

// ConsentRequest is what the consent screen shows: the app and the
// scopes (beyond openid) its request asks for.
type ConsentRequest struct {
	ClientID, ClientName string
	Scopes               []string
	// RedirectURI is where the answer goes (matched exactly against the
	// client's when the app asked).
	RedirectURI string
}

// Consent is a person's remembered consent to an app.
type Consent struct {
	ClientID, ClientName string
	Scopes               []string
	GrantedAt            time.Time
}

// consentScopes are the scopes of a request that need consent: all but openid.
func consentScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if s != ScopeOpenID && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// NeedsConsent says whether the person must see the consent screen before
// auth request id completes: nil for a first-party client, for a person
// the client's When refuses (Complete answers access_denied), or when the
// person already granted every scope the request asks for and the request
// does not say prompt=consent.
func (p *Provider) NeedsConsent(ctx context.Context, id string, person *broker.Identity) (*ConsentRequest, error) {
	r, err := p.cfg.Store.GetAppAuthRequest(ctx, id)
	if err != nil {
		return nil, notFoundRequest(err)
	}
	c, ok := p.client(ctx, r.ClientID)
	if !ok || c.FirstParty {
		return nil, nil // an unknown client: Complete refuses it
	}
	if c.When != nil {
		if ok, _ := c.When.Match(person); !ok {
			return nil, nil // Complete refuses the person: nothing to ask
		}
	}
	asked := consentScopes(r.Scopes)
	out := &ConsentRequest{ClientID: c.ID, ClientName: clientLabel(c), Scopes: asked, RedirectURI: r.RedirectURI}
	if slices.Contains(r.Prompt, oidc.PromptConsent) {
		return out, nil
	}
	have, err := p.cfg.Store.GetAppConsent(ctx, person.Provider, person.Subject, c.ID)
	if broker.ErrorCode(err) == broker.ENOTFOUND {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, s := range asked {
		if !slices.Contains(have.Scopes, s) {
			return out, nil
		}
	}
	return nil, nil
}

// GrantConsent records that the person allows the app of auth request id
// the scopes it asks for (added to those granted before), audited as
// app_consent_granted. Complete the request next.
func (p *Provider) GrantConsent(ctx context.Context, id string, person *broker.Identity, m Meta) error {
	r, err := p.cfg.Store.GetAppAuthRequest(ctx, id)
	if err != nil {
		return notFoundRequest(err)
	}
	c, ok := p.client(ctx, r.ClientID)
	if !ok {
		return broker.Errorf(broker.ENOTFOUND, "app_client_unknown", "This app is no longer registered with the broker.")
	}
	scopes := consentScopes(r.Scopes)
	if have, err := p.cfg.Store.GetAppConsent(ctx, person.Provider, person.Subject, c.ID); err == nil {
		for _, s := range have.Scopes {
			if !slices.Contains(scopes, s) && slices.Contains(c.Scopes, s) {
				scopes = append(scopes, s)
			}
		}
	} else if broker.ErrorCode(err) != broker.ENOTFOUND {
		return err
	}
	if err := p.cfg.Store.SaveAppConsent(ctx, &store.AppConsent{Provider: person.Provider, Subject: person.Subject,
		ClientID: c.ID, Scopes: scopes}); err != nil {
		return err
	}
	p.cfg.Audit.Audit(ctx, &store.AuditEvent{RequestID: m.RequestID, Event: "app_consent_granted", Result: store.ResultSuccess,
		Provider: person.Provider, Subject: person.Subject, RemoteAddr: m.RemoteAddr, UserAgent: m.UserAgent,
		Details: map[string]string{"client": c.ID, "scopes": strings.Join(consentScopes(r.Scopes), " ")}})
	return nil
}

// RefuseConsent audits that the person denied the app of auth request id
// (app_consent_denied); answer the app with Deny next. A consent given
// before stays: denying a new scope does not take back the old ones.
func (p *Provider) RefuseConsent(ctx context.Context, id string, person *broker.Identity, m Meta) {
	details := map[string]string{}
	if r, err := p.cfg.Store.GetAppAuthRequest(ctx, id); err == nil {
		details["client"], details["scopes"] = r.ClientID, strings.Join(consentScopes(r.Scopes), " ")
	}
	p.cfg.Audit.Audit(ctx, &store.AuditEvent{RequestID: m.RequestID, Event: "app_consent_denied", Result: store.ResultFailure,
		Reason: ReasonConsentDenied, Message: "the person denied the app's request",
		Provider: person.Provider, Subject: person.Subject, RemoteAddr: m.RemoteAddr, UserAgent: m.UserAgent, Details: details})
}

// Consents lists the person's remembered consents, the most recent first.
func (p *Provider) Consents(ctx context.Context, person *broker.Identity) ([]Consent, error) {
	list, err := p.cfg.Store.ListAppConsents(ctx, person.Provider, person.Subject)
	if err != nil {
		return nil, err
	}
	out := make([]Consent, 0, len(list))
	for _, c := range list {
		name := c.ClientID
		if cl, ok := p.client(ctx, c.ClientID); ok {
			name = clientLabel(cl)
		}
		out = append(out, Consent{ClientID: c.ClientID, ClientName: name, Scopes: c.Scopes, GrantedAt: c.GrantedAt})
	}
	return out, nil
}

// RevokeConsent deletes the person's consent to clientID and revokes
// every token that app holds for the person, audited as
// app_consent_revoked; ENOTFOUND (ReasonConsentNotFound) if there was no
// such consent. The app's next sign-in asks again.
func (p *Provider) RevokeConsent(ctx context.Context, clientID string, person *broker.Identity, m Meta) error {
	ok, err := p.cfg.Store.DeleteAppConsent(ctx, person.Provider, person.Subject, clientID)
	if err != nil {
		return err
	}
	if !ok {
		return broker.Errorf(broker.ENOTFOUND, ReasonConsentNotFound, "You have not allowed this app anything (or already took it back).")
	}
	n, err := p.cfg.Store.RevokeAppTokens(ctx, clientID, person.Provider, person.Subject)
	if err != nil {
		return err
	}
	p.cfg.Audit.Audit(ctx, &store.AuditEvent{RequestID: m.RequestID, Event: "app_consent_revoked", Result: store.ResultSuccess,
		Provider: person.Provider, Subject: person.Subject, RemoteAddr: m.RemoteAddr, UserAgent: m.UserAgent,
		Details: map[string]string{"client": clientID, "tokens_revoked": itoa(n)}})
	return nil
}

// ConsentRequired answers the app of auth request id with the OAuth error
// consent_required (prompt=none, and the person has not consented) and
// ends the request (OpenID Connect Core 3.1.2.6; zitadel names no
// constant for it).
func (p *Provider) ConsentRequired(w http.ResponseWriter, r *http.Request, id string) {
	p.answerError(w, r, id, (&oidc.Error{ErrorType: "consent_required"}).WithDescription("the person has not allowed this app yet"))
}

func notFoundRequest(err error) error {
	if broker.ErrorCode(err) == broker.ENOTFOUND {
		return broker.Errorf(broker.ENOTFOUND, ReasonRequestNotFound, "This sign-in request has expired or was already used. Go back to the app and sign in again.")
	}
	return err
}
