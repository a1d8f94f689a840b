package broker

import "time"

// Mode says where the credential presented to STS comes from.
type Mode string

const (
	// ModePassThrough sends the upstream credential (the IdP's SAML Response
	// or ID token) to STS unchanged. Only roles the upstream asserted can be
	// assumed.
	ModePassThrough Mode = "pass-through"
	// ModeBrokerIssued makes the broker mint its own signed SAML Response or
	// ID token for exactly the granted role (package issuer).
	ModeBrokerIssued Mode = "broker-issued"
)

// Downstream is the STS call used to assume a role.
type Downstream string

const (
	DownstreamSAML        Downstream = "saml"         // AssumeRoleWithSAML
	DownstreamWebIdentity Downstream = "web-identity" // AssumeRoleWithWebIdentity
)

// Grant is one role the rules give an identity, with everything needed to
// assume it and open the console.
type Grant struct {
	Rule        string // name of the rule that granted it
	AccountID   string
	RoleARN     string
	ProviderARN string // IAM SAML provider ARN (DownstreamSAML); "" for web identity
	Mode        Mode
	Downstream  Downstream
	// Audience is the aud of a broker-issued ID token (DownstreamWebIdentity).
	Audience string

	CredentialDuration time.Duration // DurationSeconds requested from STS; 0 = STS default (1 h)
	ConsoleDuration    time.Duration // getSigninToken SessionDuration; 0 = AWS default
	Destination        string        // console URL to land on; "" = console home
	Region             string        // default region for the console and regional sign-in
	// MaxAuthAge: the role opens only for an IdP sign-in at most this old
	// (the rule's max_auth_age; 0: any).
	MaxAuthAge time.Duration

	Label        string // what the portal shows, e.g. "Admin"
	Description  string
	AccountLabel string // e.g. "prod (123456789012)"

	// Only honoured for broker-issued credentials: they ride inside the
	// assertion or token, never as STS parameters.
	SessionTags       map[string]string
	TransitiveTagKeys []string
	SourceIdentity    string
	SessionName       string // RoleSessionName override; "" = derived from the identity

	// Session policies, passed to STS as Policy / PolicyArns.
	SessionPolicy string
	PolicyARNs    []string
}

// Key identifies a grant within one decision: the role and how it is reached.
func (g Grant) Key() string {
	return g.RoleARN + "|" + g.ProviderARN + "|" + string(g.Downstream)
}
