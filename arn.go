package broker

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/broker-dev/broker/partition"
)

// ARN is a parsed IAM ARN of one of the kinds the broker handles.
type ARN struct {
	Partition string // a known partition id (package partition): aws, aws-us-gov, aws-cn
	Service   string // always "iam" for the kinds below
	AccountID string // 12 digits
	Resource  string // e.g. "role/path/Name", "saml-provider/Name"
}

// ARN resource kinds.
const (
	KindRole         = "role"
	KindSAMLProvider = "saml-provider"
	KindOIDCProvider = "oidc-provider"
)

var (
	accountRe  = regexp.MustCompile(`^[0-9]{12}$`)
	roleRe     = regexp.MustCompile(`^role(/[\x21-\x7e]*)?/[\w+=,.@-]{1,64}$`)
	samlProvRe = regexp.MustCompile(`^saml-provider/[\w.-]{1,128}$`)
	oidcProvRe = regexp.MustCompile(`^oidc-provider/[\x21-\x7e]{1,255}$`)
)

// ParseARN parses an IAM role, SAML provider or OIDC provider ARN and
// rejects anything else: other services, unknown partitions, a malformed
// account id, empty or oversized names, embedded whitespace or commas.
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%q is not an ARN", s)
	}
	a := ARN{Partition: parts[1], Service: parts[2], AccountID: parts[4], Resource: parts[5]}
	if !partition.Known(a.Partition) {
		return ARN{}, fmt.Errorf("ARN %q: unknown partition %q", s, a.Partition)
	}
	if a.Service != "iam" {
		return ARN{}, fmt.Errorf("ARN %q: service must be iam", s)
	}
	if parts[3] != "" {
		return ARN{}, fmt.Errorf("ARN %q: IAM ARNs have no region", s)
	}
	if !accountRe.MatchString(a.AccountID) {
		return ARN{}, fmt.Errorf("ARN %q: account id must be 12 digits", s)
	}
	switch a.Kind() {
	case KindRole:
		if !roleRe.MatchString(a.Resource) || strings.Contains(a.Resource, "//") {
			return ARN{}, fmt.Errorf("ARN %q: malformed role name or path", s)
		}
	case KindSAMLProvider:
		if !samlProvRe.MatchString(a.Resource) {
			return ARN{}, fmt.Errorf("ARN %q: malformed SAML provider name", s)
		}
	case KindOIDCProvider:
		if !oidcProvRe.MatchString(a.Resource) {
			return ARN{}, fmt.Errorf("ARN %q: malformed OIDC provider", s)
		}
	default:
		return ARN{}, fmt.Errorf("ARN %q: resource must be a role, saml-provider or oidc-provider", s)
	}
	return a, nil
}

// Kind returns the resource type: KindRole, KindSAMLProvider, KindOIDCProvider or "".
func (a ARN) Kind() string {
	kind, _, ok := strings.Cut(a.Resource, "/")
	if !ok {
		return ""
	}
	return kind
}

// Name returns the last path element of the resource: the role name or
// the provider name.
func (a ARN) Name() string {
	if a.Kind() == KindOIDCProvider {
		return strings.TrimPrefix(a.Resource, KindOIDCProvider+"/")
	}
	return a.Resource[strings.LastIndex(a.Resource, "/")+1:]
}

// String formats the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + "::" + a.AccountID + ":" + a.Resource
}

// RolePair is one value of the SAML Role attribute: a role and the SAML
// provider (IdP) that may assume it.
type RolePair struct {
	RoleARN     string
	ProviderARN string
}

// ParseRolePair strictly parses one Role attribute value: exactly two
// comma-separated ARNs, one role and one saml-provider, in either order, in
// the same partition and account. Surrounding whitespace of each ARN is
// trimmed (PingFederate wraps values in newlines); anything else, such as a
// third element or a trailing comma, is an error.
func ParseRolePair(value string) (RolePair, error) {
	parts := strings.Split(value, ",")
	if len(parts) != 2 {
		return RolePair{}, fmt.Errorf("role value must be exactly two ARNs separated by one comma, got %d parts", len(parts))
	}
	var role, prov *ARN
	for _, p := range parts {
		a, err := ParseARN(strings.TrimSpace(p))
		if err != nil {
			return RolePair{}, err
		}
		switch a.Kind() {
		case KindRole:
			if role != nil {
				return RolePair{}, fmt.Errorf("role value has two role ARNs")
			}
			role = &a
		case KindSAMLProvider:
			if prov != nil {
				return RolePair{}, fmt.Errorf("role value has two saml-provider ARNs")
			}
			prov = &a
		default:
			return RolePair{}, fmt.Errorf("role value may only hold a role ARN and a saml-provider ARN, got %s", a.Kind())
		}
	}
	if role == nil || prov == nil {
		return RolePair{}, fmt.Errorf("role value needs one role ARN and one saml-provider ARN")
	}
	if role.Partition != prov.Partition || role.AccountID != prov.AccountID {
		return RolePair{}, fmt.Errorf("role %s and provider %s are in different accounts or partitions", role, prov)
	}
	return RolePair{RoleARN: role.String(), ProviderARN: prov.String()}, nil
}

// String formats the pair as AWS expects in the Role attribute: role first.
func (p RolePair) String() string { return p.RoleARN + "," + p.ProviderARN }
