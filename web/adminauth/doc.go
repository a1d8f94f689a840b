// Package adminauth decides who may use the admin pages and the API, on
// every request: an admin API token (Authorization: Bearer brk_…, API only,
// checked by admins.Service.Authenticate: known, not expired, its creator
// still an admin) or a browser session whose verified identity meets the
// admin condition now. State-changing requests from a session need its
// CSRF token (form field or X-CSRF-Token) and a same-origin request. The
// authenticated admin is available to handlers through Of; Scope guards a
// route with the token scope it needs (a session allows every scope).
package adminauth
