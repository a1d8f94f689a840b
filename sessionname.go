package broker

import (
	"regexp"
	"strings"
)

// RoleSessionNameRe is AWS's rule for RoleSessionName: 2..64 characters of
// [A-Za-z0-9_+=,.@-].
var RoleSessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// SanitizeRoleSessionName maps s to a valid RoleSessionName: characters AWS
// does not allow become '-', it is cut to 64 characters, and a result shorter
// than 2 characters is padded with '-'. It returns "" for an empty input.
func SanitizeRoleSessionName(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_+=,.@-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 64 {
			break
		}
	}
	out := b.String()
	if len(out) > 64 {
		out = out[:64]
	}
	for len(out) < 2 {
		out += "-"
	}
	return out
}
