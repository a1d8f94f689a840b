package localaws

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/broker-dev/broker"
)

// Session tag limits (STS).
const (
	maxSessionTags   = 50
	maxTagKeyChars   = 128
	maxTagValueChars = 256
	minDuration      = 900
	maxDuration      = 43200
)

var (
	tagKeyRe         = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRe       = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	sourceIdentityRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

type sessionTag struct{ key, value string }

// awsClaims are the AWS-specific values an assertion carries.
type awsClaims struct {
	sessionName     string
	sessionDuration time.Duration // 0 when the attribute is absent
	tags            []sessionTag
	transitive      []string
	sourceIdentity  string
}

// checkRolePair requires want among the Role attribute's values (each
// parsed strictly; either order).
func checkRolePair(a *samlAssertion, want broker.RolePair) *stsError {
	vals, ok := a.attrs[broker.SAMLAttrRole]
	if !ok || len(vals) == 0 {
		return errRejectedClaim("role_attribute_missing", "The assertion has no %s attribute: the IdP must assert the role and provider pair.", broker.SAMLAttrRole)
	}
	for _, v := range vals {
		if rp, err := broker.ParseRolePair(v); err == nil && rp == want {
			return nil
		}
	}
	return errRejectedClaim("role_not_asserted", "The assertion's Role attribute does not contain the pair %s: the IdP did not grant this role.", want)
}

// readAWSClaims reads RoleSessionName, SessionDuration, PrincipalTag:*,
// TransitiveTagKeys and SourceIdentity with AWS's rules.
func readAWSClaims(a *samlAssertion) (awsClaims, *stsError) {
	var c awsClaims
	names := a.attrs[broker.SAMLAttrRoleSessionName]
	switch {
	case len(names) == 0:
		return c, errInvalidToken("session_name_missing", nil, "RoleSessionName is required in AuthnResponse")
	case len(names) > 1:
		return c, errInvalidToken("session_name_invalid", nil, "RoleSessionName in AuthnResponse must have exactly one value, it has %d", len(names))
	case !broker.RoleSessionNameRe.MatchString(names[0]):
		return c, errInvalidToken("session_name_invalid", nil, "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
	}
	c.sessionName = names[0]

	if vals, ok := a.attrs[broker.SAMLAttrSessionDuration]; ok {
		n, err := 0, error(nil)
		if len(vals) == 1 {
			n, err = strconv.Atoi(vals[0])
		}
		if len(vals) != 1 || err != nil || n < minDuration || n > maxDuration {
			return c, errInvalidToken("session_duration_invalid", err, "SessionDuration in AuthnResponse must be one integer number of seconds between %d and %d", minDuration, maxDuration)
		}
		c.sessionDuration = time.Duration(n) * time.Second
	}
	if err := c.readTags(a); err != nil {
		return c, err
	}
	if vals, ok := a.attrs[broker.SAMLAttrSourceIdentity]; ok {
		if len(vals) != 1 || !sourceIdentityRe.MatchString(vals[0]) || strings.HasPrefix(strings.ToLower(vals[0]), "aws:") {
			return c, errInvalidToken("source_identity_invalid", nil, `Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"`)
		}
		c.sourceIdentity = vals[0]
	}
	return c, nil
}

func (c *awsClaims) readTags(a *samlAssertion) *stsError {
	seen := map[string]bool{}
	for _, name := range a.attrOrder {
		key, ok := strings.CutPrefix(name, broker.SAMLAttrPrincipalTag)
		if !ok {
			continue
		}
		vals := a.attrs[name]
		switch {
		case !tagKeyRe.MatchString(key) || strings.HasPrefix(strings.ToLower(key), "aws:"):
			return errInvalidToken("session_tag_invalid", nil, "Session tag key %q is invalid: 1..%d letters, digits, spaces or _.:/=+-@, not beginning with \"aws:\"", clip(key), maxTagKeyChars)
		case len(vals) != 1:
			return errInvalidToken("session_tag_invalid", nil, "Session tag %q must have exactly one value, it has %d", key, len(vals))
		case len([]rune(vals[0])) > maxTagValueChars || !tagValueRe.MatchString(vals[0]):
			return errInvalidToken("session_tag_invalid", nil, "Session tag %q has an invalid value: at most %d letters, digits, spaces or _.:/=+-@", key, maxTagValueChars)
		case seen[strings.ToLower(key)]:
			return errInvalidToken("session_tag_duplicate", nil, "Session tag keys must be unique regardless of case: %q appears twice", key)
		}
		seen[strings.ToLower(key)] = true
		c.tags = append(c.tags, sessionTag{key: key, value: vals[0]})
	}
	if len(c.tags) > maxSessionTags {
		return errInvalidToken("session_tag_count", nil, "At most %d session tags may be passed, the assertion has %d", maxSessionTags, len(c.tags))
	}
	for _, k := range a.attrs[broker.SAMLAttrTransitiveTagKeys] {
		if !seen[strings.ToLower(k)] {
			return errInvalidToken("transitive_tag_invalid", nil, "TransitiveTagKeys names %q, which is not one of the assertion's session tags", clip(k))
		}
		c.transitive = append(c.transitive, k)
	}
	return nil
}

// sessionDuration is the credentials' lifetime: the requested (or default)
// DurationSeconds, shortened by the SessionDuration attribute and by the
// AuthnStatement's SessionNotOnOrAfter. It is ExpiredTokenException when
// the IdP session has already ended.
func sessionDuration(requested time.Duration, c awsClaims, a *samlAssertion, now time.Time) (time.Duration, *stsError) {
	d := requested
	if c.sessionDuration > 0 && c.sessionDuration < d {
		d = c.sessionDuration
	}
	if !a.sessionNotOnOrAfter.IsZero() {
		left := a.sessionNotOnOrAfter.Sub(now).Truncate(time.Second)
		if left <= 0 {
			return 0, errExpired("session_ended", "The IdP session ended at %s (SessionNotOnOrAfter). Sign in again.", a.sessionNotOnOrAfter.Format(time.RFC3339))
		}
		if left < d {
			d = left
		}
	}
	return d, nil
}

// addToContext adds the request-context keys the session tags, transitive
// tag keys and source identity give a trust policy, as both STS calls do.
func (c awsClaims) addToContext(ctx map[string][]string) {
	if len(c.tags) > 0 {
		keys := make([]string, 0, len(c.tags))
		for _, t := range c.tags {
			ctx["aws:requesttag/"+strings.ToLower(t.key)] = []string{t.value}
			keys = append(keys, t.key)
		}
		ctx["aws:tagkeys"] = keys
	}
	if len(c.transitive) > 0 {
		ctx["sts:transitivetagkeys"] = c.transitive
	}
	if c.sourceIdentity != "" {
		ctx["sts:sourceidentity"] = []string{c.sourceIdentity}
	}
}
