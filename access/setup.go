package access

import (
	"errors"
	"strings"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
	"github.com/broker-dev/broker/sts"
)

// Setup problems: AWS refused a role because of how its account is set
// up, which no sign-in can change (SetupRefusal.Problem).
const (
	// SetupProviderMissing: the account has no IAM identity provider for
	// this sign-in (the SAML provider of the grant, or an OIDC provider
	// for the token's issuer). The error's code is broker.EUPSTREAM.
	SetupProviderMissing = "provider_missing"
	// SetupRoleRefused: the role does not exist in the account, or its
	// trust policy does not allow this sign-in (AWS does not say which).
	// The error's code is broker.EFORBIDDEN.
	SetupRoleRefused = "role_refused"
)

// SetupRefusal is the cause of an Assume error when AWS refused the role
// because of the account's setup. Find it with errors.As; its Advice says
// what an administrator must create. The *broker.Error around it keeps
// the STS reason (sts.ReasonInvalidIdentityToken, sts.ReasonAccessDenied)
// for the audit log, and says in words who must act.
type SetupRefusal struct {
	Problem      string // SetupProviderMissing or SetupRoleRefused
	AccountID    string
	AccountLabel string // the account as the portal names it
	RoleARN      string
	RoleName     string
	Mode         broker.Mode
	Downstream   broker.Downstream
	ProviderARN  string // the IAM SAML provider of the grant ("" for web identity)
	Issuer       string // web identity, pass-through: the upstream token's issuer ("" when broker-issued)
	Audience     string // web identity: the token's aud
	Err          error  // AWS's refusal
}

func (r *SetupRefusal) Error() string {
	return "access: setup refused " + r.RoleARN + ": " + r.Err.Error()
}

// Unwrap returns AWS's refusal.
func (r *SetupRefusal) Unwrap() error { return r.Err }

// setupRefusal turns AWS's refusal of g for a reason of setup into an
// error that says so (see SetupRefusal); any other error is returned as
// it is.
func setupRefusal(g broker.Grant, id *broker.Identity, err error) error {
	var problem string
	switch {
	case sts.ProviderMissing(err):
		problem = SetupProviderMissing
	case broker.ErrorReason(err) == sts.ReasonAccessDenied:
		problem = SetupRoleRefused
	default:
		return err
	}
	arn, perr := broker.ParseARN(g.RoleARN)
	if perr != nil {
		return err
	}
	r := &SetupRefusal{Problem: problem, AccountID: arn.AccountID, AccountLabel: g.AccountLabel, RoleARN: g.RoleARN, RoleName: arn.Name(),
		Mode: g.Mode, Downstream: g.Downstream, ProviderARN: g.ProviderARN, Audience: g.Audience, Err: err}
	if r.AccountLabel == "" {
		r.AccountLabel = arn.AccountID
	}
	account := r.AccountLabel
	if !strings.Contains(account, arn.AccountID) {
		account += " (" + arn.AccountID + ")"
	}
	if g.Downstream == broker.DownstreamWebIdentity && g.Mode == broker.ModePassThrough && id != nil {
		r.Issuer, r.Audience = id.Issuer, id.First("aud")
	}
	where := "the role " + r.RoleName + " in the AWS account " + account
	if problem == SetupProviderMissing {
		return broker.Wrap(r, broker.EUPSTREAM, broker.ErrorReason(err),
			"AWS refused "+where+": that account has no identity provider for this sign-in, so nobody can open the role yet. "+
				"Signing in again will not help: ask your administrator to set it up (the details are below).")
	}
	return broker.Wrap(r, broker.EFORBIDDEN, broker.ErrorReason(err),
		"AWS refused "+where+": the role does not exist there, or its trust policy does not allow sign-in through the broker. "+
			"Signing in again will not help: ask your administrator to check the role (the details are below).")
}

// SetupRefusalOf returns the setup refusal in err's chain.
func SetupRefusalOf(err error) (*SetupRefusal, bool) {
	var r *SetupRefusal
	ok := errors.As(err, &r)
	return r, ok
}

// SetupAdvice is what an administrator must create in the role's account
// for a SetupRefusal: the IAM identity provider and the role's trust
// policy statement.
type SetupAdvice struct {
	Problem   string
	AccountID string
	RoleARN   string
	RoleName  string
	// ProviderKind is "SAML" or "OpenID Connect".
	ProviderKind string
	// ProviderName is the IAM provider's name (SAML) or the issuer's
	// host/path (OIDC: IAM names it so); ProviderARN its ARN.
	ProviderName, ProviderARN string
	// MetadataURL (SAML, broker-issued): the broker's IdP metadata to
	// upload to the IAM SAML provider. Empty for pass-through: the
	// metadata is the upstream identity provider's.
	MetadataURL string
	// IssuerURL and Audience (OIDC): the provider URL and the client id
	// (audience) to register.
	IssuerURL, Audience string
	// TrustStatement is the statement the role's trust policy needs
	// (indented JSON).
	TrustStatement string
}

// Advice says what to create, for the broker at brokerURL (its external
// URL: /idp/saml/metadata is its SAML IdP metadata, brokerURL itself its
// OIDC issuer).
func (r *SetupRefusal) Advice(brokerURL string) SetupAdvice {
	a := SetupAdvice{Problem: r.Problem, AccountID: r.AccountID, RoleARN: r.RoleARN, RoleName: r.RoleName}
	arn, _ := broker.ParseARN(r.RoleARN)
	if r.Downstream == broker.DownstreamWebIdentity {
		a.ProviderKind, a.IssuerURL, a.Audience = "OpenID Connect", r.Issuer, r.Audience
		if a.IssuerURL == "" {
			a.IssuerURL = brokerURL
		}
		a.ProviderName = broker.IssuerHostPath(a.IssuerURL)
		a.ProviderARN = broker.OIDCProviderARN(arn.Partition, arn.AccountID, a.IssuerURL)
		a.TrustStatement = broker.WebIdentityTrustStatement(a.ProviderARN, a.IssuerURL, a.Audience)
		return a
	}
	a.ProviderKind, a.ProviderARN = "SAML", r.ProviderARN
	if p, err := broker.ParseARN(r.ProviderARN); err == nil {
		a.ProviderName = p.Name()
	}
	if r.Mode != broker.ModePassThrough {
		a.MetadataURL = brokerURL + "/idp/saml/metadata"
	}
	part, _ := partition.Lookup(arn.Partition)
	a.TrustStatement = broker.SAMLTrustStatement(part.SAMLEndpoint(), r.ProviderARN)
	return a
}
