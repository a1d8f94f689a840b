package admins

import (
	"slices"
	"strings"

	"github.com/broker-dev/broker"
)

// The scopes an admin API token may carry. A token does only what its
// scopes allow; a browser session of an admin allows everything.
const (
	ScopeRulesRead     = "rules:read"     // read rules and their history; simulate
	ScopeRulesWrite    = "rules:write"    // create, change, delete and replace rules
	ScopeAuditRead     = "audit:read"     // read the audit log
	ScopeAccountsRead  = "accounts:read"  // read the account aliases
	ScopeAccountsWrite = "accounts:write" // change the account aliases
	ScopeSessionsRead  = "sessions:read"  // list people's active sessions (the admin sessions API)
	ScopeSessionsWrite = "sessions:write" // end people's sessions (the admin sessions API)
	ScopeLinksRead     = "links:read"     // read the short links /go/NAME
	ScopeLinksWrite    = "links:write"    // create, change and delete the short links
	ScopeAppsRead      = "apps:read"      // list and export the apps registered with the OpenID Provider
	ScopeAppsWrite     = "apps:write"     // register, change, delete apps and rotate their secrets
)

// Scopes returns every scope, in the order pages list them.
func Scopes() []string {
	return []string{ScopeRulesRead, ScopeRulesWrite, ScopeAuditRead, ScopeAccountsRead, ScopeAccountsWrite,
		ScopeSessionsRead, ScopeSessionsWrite, ScopeLinksRead, ScopeLinksWrite, ScopeAppsRead, ScopeAppsWrite}
}

// ReadOnlyScopes returns the read scopes: the preset a new token starts
// with.
func ReadOnlyScopes() []string {
	var out []string
	for _, sc := range Scopes() {
		if strings.HasSuffix(sc, ":read") {
			out = append(out, sc)
		}
	}
	return out
}

// IsScope reports whether sc is a known scope.
func IsScope(sc string) bool { return slices.Contains(Scopes(), sc) }

// normalizeScopes checks asked (at least one, each known) and returns it
// without duplicates, in the order of Scopes.
func normalizeScopes(asked []string) ([]string, error) {
	want := map[string]bool{}
	for _, sc := range asked {
		sc = strings.TrimSpace(sc)
		if !IsScope(sc) {
			return nil, broker.Errorf(broker.EINVALID, "api_token_scope_unknown",
				"Unknown scope %.40q: a token's scopes are %s.", sc, strings.Join(Scopes(), ", "))
		}
		want[sc] = true
	}
	var out []string
	for _, sc := range Scopes() {
		if want[sc] {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, broker.Errorf(broker.EINVALID, "api_token_scope_none", "Give the token at least one scope (what it may do).")
	}
	return out, nil
}
