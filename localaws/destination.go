package localaws

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/broker-dev/broker/partition"
)

const maxURLChars = 4096

var dnsLabelRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// validDestination reports whether raw is an https URL on a console host of
// the partition: the console host itself (console.aws.amazon.com) or one
// label in front of it (eu-west-1.console.aws.amazon.com). Anything else,
// including look-alikes such as console.aws.amazon.com.evil.com, http, a
// port other than 443 or user info, is refused: it would be an open redirect.
func validDestination(raw, partitionID string) bool {
	p, ok := partition.Lookup(partitionID)
	if !ok || raw == "" || len(raw) > maxURLChars {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" {
		return false
	}
	if port := u.Port(); port != "" && port != "443" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == p.ConsoleHost {
		return true
	}
	label, ok := strings.CutSuffix(host, "."+p.ConsoleHost)
	return ok && dnsLabelRe.MatchString(label)
}

// validIssuer reports whether raw is an absolute http(s) URL without user
// info: the portal's address, shown as a link on the console page.
func validIssuer(raw string) bool {
	if len(raw) > maxURLChars {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && u.Opaque == ""
}

// regionOf returns the region a console URL points at: its host's first
// label (eu-west-1.console…) or its region query parameter, else "".
func regionOf(dest string) string {
	u, err := url.Parse(dest)
	if err != nil {
		return ""
	}
	if label, _, ok := strings.Cut(strings.ToLower(u.Hostname()), ".console."); ok && regionRe.MatchString(label) {
		return label
	}
	if r := u.Query().Get("region"); regionRe.MatchString(r) {
		return r
	}
	return ""
}
