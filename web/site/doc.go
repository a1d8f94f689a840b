// Package site puts the broker's web surface together: one web.Frame
// (cookies, CSRF, templates, error page, middleware) with every audience's
// handler mounted on it — the portal and sign-in flows, the protocol and
// health endpoints, the OpenID Provider for apps (web/apps) when apps are
// configured, and, when an admin condition is configured, the admin pages
// and the JSON API.
package site
