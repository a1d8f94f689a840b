package partition

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Partition IDs: the second field of an ARN (arn:PARTITION:iam::…).
const (
	AWS      = "aws"        // commercial AWS
	AWSUSGov = "aws-us-gov" // AWS GovCloud (US)
	AWSCN    = "aws-cn"     // AWS China
	// DefaultID is the partition a rule or a config means when it names none.
	DefaultID = AWS
)

// DefaultWebIdentityAudience is the audience (IAM OIDC provider client id)
// conventionally registered for tokens sent to AssumeRoleWithWebIdentity.
const DefaultWebIdentityAudience = "sts.amazonaws.com"

// Partition is one AWS partition: its own accounts, IAM, STS and sign-in
// hosts. Values come from Lookup, Default or All; the zero value is not a
// partition.
type Partition struct {
	ID           string // AWS, AWSUSGov or AWSCN
	SigninHost   string // global sign-in host, e.g. signin.aws.amazon.com
	ConsoleHost  string // global console host, e.g. console.aws.amazon.com
	DomainSuffix string // e.g. aws.amazon.com (regional hosts are REGION.signin.<suffix>)
	// STSRegion is the region whose STS endpoint the broker calls for the
	// partition's roles unless configured otherwise.
	STSRegion string

	// regionPrefix starts every region name of the partition; "" (aws)
	// means every region that no other partition claims.
	regionPrefix string
	// regionalFederation: the federation endpoint is also served on
	// REGION.SigninHost and the broker uses it for a region of the partition.
	regionalFederation bool
}

// table is the partitions the broker knows, the default first. It is
// never modified: Lookup, Default and All hand out copies.
var table = [...]Partition{
	{ID: AWS, SigninHost: "signin.aws.amazon.com", ConsoleHost: "console.aws.amazon.com", DomainSuffix: "aws.amazon.com",
		STSRegion: "us-east-1", regionalFederation: true},
	{ID: AWSUSGov, SigninHost: "signin.amazonaws-us-gov.com", ConsoleHost: "console.amazonaws-us-gov.com", DomainSuffix: "amazonaws-us-gov.com",
		STSRegion: "us-gov-west-1", regionPrefix: "us-gov-"},
	{ID: AWSCN, SigninHost: "signin.amazonaws.cn", ConsoleHost: "console.amazonaws.cn", DomainSuffix: "amazonaws.cn",
		STSRegion: "cn-north-1", regionPrefix: "cn-"},
}

// Lookup returns the partition with the given id.
func Lookup(id string) (Partition, bool) {
	for _, p := range table {
		if p.ID == id {
			return p, true
		}
	}
	return Partition{}, false
}

// Known reports whether id names a partition the broker knows.
func Known(id string) bool {
	_, ok := Lookup(id)
	return ok
}

// Default returns the commercial partition (DefaultID).
func Default() Partition { return table[0] }

// All returns every known partition: aws, aws-us-gov, aws-cn.
func All() []Partition { return append([]Partition(nil), table[:]...) }

// IDs returns the ids of every known partition, in the order of All.
func IDs() []string {
	ids := make([]string, len(table))
	for i, p := range table {
		ids[i] = p.ID
	}
	return ids
}

// regionRe is the syntax of a region name: two letters, an optional
// -gov/-iso/-isob/-isoe/-isof qualifier, a direction, a digit.
var regionRe = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)

// ValidRegion reports whether region is spelt like an AWS region name
// (us-east-1, us-gov-west-1, cn-northwest-1, us-iso-east-1). It says nothing
// about the partition: see HasRegion.
func ValidRegion(region string) bool { return regionRe.MatchString(region) }

// regionOwner returns the partition region belongs to: the one with the
// longest matching region prefix. ISO regions (us-iso-east-1) belong to
// the air-gapped ISO partitions, which the broker does not serve.
func regionOwner(region string) (Partition, bool) {
	m := regionRe.FindStringSubmatch(region)
	if m == nil || strings.HasPrefix(m[1], "-iso") {
		return Partition{}, false
	}
	owner := -1
	for i, p := range table {
		if strings.HasPrefix(region, p.regionPrefix) && (owner < 0 || len(p.regionPrefix) > len(table[owner].regionPrefix)) {
			owner = i
		}
	}
	return table[owner], true
}

// HasRegion reports whether region is a region name of the partition:
// us-gov-* for aws-us-gov, cn-* for aws-cn, any other non-ISO region for aws.
func (p Partition) HasRegion(region string) bool {
	owner, ok := regionOwner(region)
	return ok && owner.ID == p.ID
}

// SAMLEndpoint is the partition's global sign-in SAML endpoint, the
// Recipient (and audience) of assertions for AssumeRoleWithSAML, e.g.
// https://signin.aws.amazon.com/saml.
func (p Partition) SAMLEndpoint() string { return "https://" + p.SigninHost + "/saml" }

// SAMLEndpoints returns the global sign-in SAML endpoints of every partition.
func SAMLEndpoints() []string {
	out := make([]string, len(table))
	for i, p := range table {
		out[i] = p.SAMLEndpoint()
	}
	return out
}

// IsSAMLEndpoint reports whether raw is an AWS sign-in SAML endpoint of
// any partition: the global one (https://signin.aws.amazon.com/saml) or a
// regional one for a region of that partition
// (https://eu-west-1.signin.aws.amazon.com/saml). No port, query or user info.
func IsSAMLEndpoint(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Path != "/saml" || u.RawQuery != "" || u.User != nil || u.Port() != "" {
		return false
	}
	for _, p := range table {
		if u.Host == p.SigninHost {
			return true
		}
		if region, ok := strings.CutSuffix(u.Host, "."+p.SigninHost); ok && p.HasRegion(region) {
			return true
		}
	}
	return false
}

// FederationEndpoint is the console federation endpoint
// (getSigninToken, login) of the partition: regional
// (https://eu-west-1.signin.aws.amazon.com/federation) when region is one
// of the partition's and the partition serves regional sign-in, else global.
func (p Partition) FederationEndpoint(region string) string {
	host := p.SigninHost
	if p.regionalFederation && p.HasRegion(region) {
		host = region + "." + host
	}
	return "https://" + host + "/federation"
}

// ConsoleHome is the console home page, in region when region is one of
// the partition's (https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1).
func (p Partition) ConsoleHome(region string) string {
	if p.HasRegion(region) {
		return "https://" + region + "." + p.ConsoleHost + "/console/home?region=" + url.QueryEscape(region)
	}
	return "https://" + p.ConsoleHost + "/console/home"
}

// ValidateConsoleURL reports whether dest is an AWS Management Console URL
// of the partition: https, no user info, and a host that is the console host
// (console.aws.amazon.com) or a subdomain of it (eu-west-1.console.aws.amazon.com,
// s3.console.aws.amazon.com). Anything else would make the broker, through
// the federation endpoint, an open redirect.
func (p Partition) ValidateConsoleURL(dest string) error {
	u, err := url.Parse(dest)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	if u.Scheme != "https" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("must be an https URL without user info")
	}
	if u.Port() != "" && u.Port() != "443" {
		return fmt.Errorf("must not name a port")
	}
	host := strings.ToLower(u.Hostname())
	if host != p.ConsoleHost && !strings.HasSuffix(host, "."+p.ConsoleHost) {
		return fmt.Errorf("host %q is not an AWS console host of partition %s (%s)", u.Hostname(), p.ID, p.ConsoleHost)
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, p.ConsoleHost), ".") {
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("host %q is not an AWS console host", u.Hostname())
			}
		}
	}
	return nil
}

// ValidateConsoleURL is Partition.ValidateConsoleURL for the partition
// with the given id; an unknown id is an error.
func ValidateConsoleURL(id, dest string) error {
	p, ok := Lookup(id)
	if !ok {
		return fmt.Errorf("unknown partition %q", id)
	}
	return p.ValidateConsoleURL(dest)
}
