// Package access is the broker's use case, free of HTTP: it turns a
// verified identity into the roles the rules grant and, when the person picks
// one, into an AWS console session. It owns the signed-in person's Session
// and the lifecycle of the upstream credential in it.
//
//	broker.Identity ──> mapping.Engine.Evaluate ──> []broker.Grant      (Decide)
//
//	sign-in ──> NewSAMLSession / NewOIDCSession ──> Session
//	            (identity + upstream SAML Response, used flag,
//	             ID token + expiry, refresh token, verifiedAt,
//	             notAfter: SAML SessionNotOnOrAfter, or CapAt for an OP's limit)
//	        ──> Sessions.Start: new session id (the browser's previous session
//	            ended), stored encrypted, expires at min(now+Lifetime, notAfter)
//	            (a notAfter already past: EEXPIRED session_not_on_or_after),
//	            with the IdP's session (SessionIndex / sid), address and user
//	            agent; sign-in recorded for the simulator, audit "signin":
//	            all one transaction (store CompleteSignIn) with the one-time
//	            value (WithOneTime: the SAML assertion ID), so a replay or a
//	            store that cannot write leaves nothing behind (EREPLAY, audited
//	            as a failed sign-in; EUNAVAILABLE 503). The upstream SAML
//	            Response is kept only when the rules give a pass-through role,
//	            and dropped once spent or past the assertion's expiry
//	            ──> the browser gets only the id
//	Sessions.Load ──> unused for Idle? deleted, audit "logout" reason idle,
//	                  ENOTFOUND ReasonSessionIdle
//	              ──> else last use recorded (at most once a minute)
//	Sessions.Stale(session): verified ReauthAfter ago or at an unknown time
//	              ──> the caller asks the IdP again before a role or admin access
//	Sessions.List(person) ──> []SessionInfo (Handle, never the id)
//	Sessions.EndHandle (one, audit "session_ended") / EndAll ("sign out
//	              everywhere", audit "sessions_ended"; first revokes the
//	              person's app tokens, SessionsConfig.AppTokens) / EndUpstream (single
//	              logout by subject or IdP session, audit "logout" per session)
//	              ──> deleted: the next request with that id fails in Load
//	Sessions.Save (keeps the expiry, or the cap) / End (audit "logout") / Failed
//	(audit a failed sign-in: the subject once the credential's signature
//	verified, the IdP's status or error in Details, both read from the
//	error chain) / UseOnce (OIDC states, across instances)
//
//	Failed ──> window per (client address, provider, reason), 1 min:
//	           first failure ──> audited as it is
//	           the rest       ──> counted ──> one audit event {count, window, since}
//	                              (subject and details kept while all agree)
//	                              when the window has closed (next failure or
//	                              FlushFailures; FlushAllFailures at shutdown)
//	           all windows taken (DefaultFailureKeys) ──> one "other" count
//
//	pick grant ──> credential for STS:
//	                 pass-through:  the Session's SAML Response (unused) or ID token (unexpired)
//	                 broker-issued: issuer mints a Response or ID token for exactly this role
//	           ──> sts.AssumeRoleWith{SAML,WebIdentity} ──> broker.Credentials
//	           ──> audit records written first ("role_assumed", "console_url_issued",
//	               "credentials_issued"); one that cannot be written withholds the
//	               credentials and URL: EUNAVAILABLE ReasonAuditUnavailable (503)
//	           ──> console.LoginURL (getSigninToken + login URL)
//	           ──> audit record (success or the precise failure reason)  (Assume)
//	           ──> Response presented to STS? Session marked used (Outcome.SessionChanged)
//
//	Assume failed ──> NextStep(session, err, provider) ──> StepNone:        show the error
//	                                                   ──> StepRefresh:     caller refreshes at the OP,
//	                                                       Session.Refreshed / RefreshFailed, retry once,
//	                                                       NextStep again
//	                                                   ──> StepSignInAgain: fresh upstream credential
//	                                                       (Silent: OIDC prompt=none), then retry
//
// For apps (the API of web/apps, the command line): Roles lists the
// grants in the portal's order (ListRoles, shared with the portal);
// Credentials and Console take a role named in words (SelectGrant), refuse
// pass-through roles, and go the same grant path (assumeGrant; Console
// then consoleURL with ResolveDestination's destination), audited with
// the app's client id.
//
// NextStep branches on reasons as exported constants (ours, and
// sts.ReasonExpiredToken), never on literals.
//
// Every outcome, good or bad, is written to the audit log with who, what,
// when and from where. Secrets (assertions, tokens, credentials, the login
// URL) never reach the audit log or the logger; a Session logs as its
// provider and subject.
package access
