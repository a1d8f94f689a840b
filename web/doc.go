// Package web is the frame the broker's web surface runs in: what the
// portal, the admin pages, the JSON API and the protocol endpoints share.
// Each audience lives in its own sub-package with its own handler type and
// embeds a *Frame; web/site mounts them all on one echo instance.
//
//	web            the frame: external URL, the browser-session cookie and the
//	               server-side session it points to (Current), CSRF
//	               (RequireCSRF), templates and static files (embedded), the
//	               error page, middleware (recovery, request id, access log,
//	               security headers, body limit), upstream IdP list (Providers)
//	web/portal     people: sign-in page, portal, SAML and OIDC sign-in flows,
//	               role assumption and the console redirect
//	web/meta       machines: SP metadata, the broker's IdP metadata, OIDC
//	               discovery and JWKS, health and readiness
//	web/adminauth  who is an admin: API tokens or a session that meets the
//	               admin condition now; admin CSRF
//	web/admin      admins in a browser: /admin pages
//	web/api        admins and tools: /api/v1 (JSON)
//	web/apps       apps: the OpenID Provider's /oauth endpoints and the
//	               login bridge /apps/login
//	web/site       wiring: one frame, every audience mounted
//
// The browser holds only a signed, encrypted cookie with a random session
// id, the CSRF token, a one-time message and the role to open after
// sign-in. The identity and the upstream credential live server-side,
// encrypted at rest. Only web and its sub-packages import echo; only web
// imports gorilla/sessions.
package web
