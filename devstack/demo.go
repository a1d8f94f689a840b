package devstack

import (
	"fmt"
	"strings"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/apps"
	"github.com/broker-dev/broker/localaws"
)

// Demo accounts.
const (
	SandboxAccount    = "111122223333"
	ProductionAccount = "444455556666"
	// DemoIdPProvider is the IAM SAML provider name of the demo IdP (pass-through).
	DemoIdPProvider = "DemoIdP"
	// BrokerProvider is the IAM SAML provider name of the broker (broker-issued).
	BrokerProvider = "broker"
)

func roleARN(account, name string) string { return "arn:aws:iam::" + account + ":role/" + name }

func providerARN(account, name string) string {
	return "arn:aws:iam::" + account + ":saml-provider/" + name
}

// demoRoles are the roles of the local AWS, with their MaxSessionDuration.
var demoRoles = []struct {
	Account, Name string
	Max           int
	WebIdentity   bool // trusts the OIDC providers instead of the SAML ones
}{
	{SandboxAccount, "Admin", 3600, false},
	{SandboxAccount, "Developer", 43200, false},
	{SandboxAccount, "ReadOnly", 43200, false},
	{ProductionAccount, "Admin", 3600, false},
	{ProductionAccount, "ReadOnly", 43200, false},
	{ProductionAccount, "Billing", 43200, false},
	{SandboxAccount, "WebDeveloper", 43200, true},
	{ProductionAccount, "WebReadOnly", 43200, true},
}

// OIDC client the broker is at the demo OP, and the audience of the
// broker's own ID tokens.
const (
	OIDCClientID   = "broker"
	BrokerAudience = "sts.amazonaws.com"
)

// Apps registered with the broker's OpenID Provider: the demo app (a
// confidential client, package devapp, served on its own port; its
// redirect URI is Stack.AppURL + "/callback"); the broker's command line
// uses the built-in client apps.CLIClientID.
const (
	DemoAppID   = "demo-app"
	CLIClientID = apps.CLIClientID
)

func oidcProviderARN(account, issuerURL string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + hostPath(issuerURL)
}

func hostPath(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	return strings.TrimSuffix(u, "/")
}

// webTrustPolicy trusts the demo OP (for its client "broker") and the
// broker's own issuer (audience sts.amazonaws.com) for web identity.
func webTrustPolicy(account, opURL, brokerURL string) string {
	return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": {"Federated": %q},
     "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity"],
     "Condition": {"StringEquals": {%q: %q}}},
    {"Effect": "Allow", "Principal": {"Federated": %q},
     "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity"],
     "Condition": {"StringEquals": {%q: %q}}}
  ]
}`, oidcProviderARN(account, opURL), hostPath(opURL)+":aud", OIDCClientID,
		oidcProviderARN(account, brokerURL), hostPath(brokerURL)+":aud", BrokerAudience)
}

// demoUser describes a demo person (passwords are generated per data dir).
type demoUser struct {
	Username, Email, DisplayName string
	Groups                       []string
	AWSRoles                     []broker.RolePair
	// SecondFactor: the person has a one-time code (keys/otp.json) and
	// may sign in with MFA.
	SecondFactor bool
}

func demoUsers() []demoUser {
	pass := func(account, role string) broker.RolePair {
		return broker.RolePair{RoleARN: roleARN(account, role), ProviderARN: providerARN(account, DemoIdPProvider)}
	}
	return []demoUser{
		{"alice", "alice@example.com", "Alice Admin", []string{"engineering", "aws-admins", "broker-admins"},
			[]broker.RolePair{pass(SandboxAccount, "Admin"), pass(ProductionAccount, "ReadOnly")}, true},
		{"bob", "bob@example.com", "Bob Builder", []string{"engineering"},
			[]broker.RolePair{pass(SandboxAccount, "Developer")}, false},
		{"carol", "carol@example.com", "Carol Counter", []string{"finance", "aws-" + ProductionAccount + "-Billing"},
			[]broker.RolePair{pass(ProductionAccount, "Billing")}, false},
	}
}

// trustPolicy trusts the demo IdP and the broker for SAML federation, with
// the audience condition AWS's own setup wizard writes.
func trustPolicy(account string) string {
	return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": [%q, %q]},
    "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
    "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
  }]
}`, providerARN(account, DemoIdPProvider), providerARN(account, BrokerProvider))
}

// registry is the local AWS's IAM: the SAML providers (demo IdP, broker)
// and the OIDC providers (demo OP, broker) in both accounts.
func registry(idpMetadata, brokerMetadata []byte, opURL, brokerURL string) *localaws.Registry {
	r := &localaws.Registry{}
	for _, acct := range []string{SandboxAccount, ProductionAccount} {
		r.SAMLProviders = append(r.SAMLProviders,
			localaws.SAMLProvider{ARN: providerARN(acct, DemoIdPProvider), MetadataXML: string(idpMetadata)},
			localaws.SAMLProvider{ARN: providerARN(acct, BrokerProvider), MetadataXML: string(brokerMetadata)},
		)
		r.OIDCProviders = append(r.OIDCProviders,
			localaws.OIDCProvider{ARN: oidcProviderARN(acct, opURL), URL: opURL, ClientIDs: []string{OIDCClientID}},
			localaws.OIDCProvider{ARN: oidcProviderARN(acct, brokerURL), URL: brokerURL, ClientIDs: []string{BrokerAudience}},
		)
	}
	for _, dr := range demoRoles {
		policy := trustPolicy(dr.Account)
		if dr.WebIdentity {
			policy = webTrustPolicy(dr.Account, opURL, brokerURL)
		}
		r.Roles = append(r.Roles, localaws.Role{ARN: roleARN(dr.Account, dr.Name), MaxSessionDuration: dr.Max, TrustPolicy: policy})
	}
	return r
}

// rulesYAML are the demo role mappings, written into the generated config.
func rulesYAML() string {
	return strings.TrimLeft(`
# Who may use the admin UI (/admin) and API (/api/v1): checked on every request.
admin:
  when:
    all:
      - {attribute: groups, equals: broker-admins}

accounts:
  - {id: "`+SandboxAccount+`", alias: sandbox, label: Sandbox}
  - {id: "`+ProductionAccount+`", alias: production, label: Production}

defaults:
  duration: 1h
  console_duration: 1h
  region: eu-west-1

rules:
  # Everyone in engineering can develop in the sandbox (broker-issued:
  # the demo IdP knows nothing about this role).
  - name: engineers-sandbox
    description: Engineers develop in the sandbox account
    providers: [demo, demo-oidc]
    when:
      all:
        - {attribute: groups, equals: engineering}
    grant:
      account: sandbox
      role: Developer
      label: Developer
      console_duration: 8h
      session_tags: {team: engineering}

  # Administrators: sandbox Admin asks for 4 h, but the role allows 1 h,
  # so the broker shortens it and says so.
  - name: admins-sandbox
    providers: [demo]
    when:
      all:
        - {attribute: groups, equals: aws-admins}
    grant:
      account: sandbox
      role: Admin
      label: Administrator
      duration: 4h
      console_duration: 2h

  # Production administration needs a multi-factor sign-in: the role is
  # hidden until the IdP asserts MFA (alice's one-time code is in
  # keys/otp.json; the portal offers "Sign in with MFA").
  - name: admins-production-mfa
    providers: [demo, demo-oidc]
    require_mfa: true
    when:
      all:
        - {attribute: groups, equals: aws-admins}
    grant:
      account: production
      role: Admin
      label: Administrator (MFA)
      console_duration: 1h

  - name: admins-production-readonly
    providers: [demo]
    when:
      all:
        - {attribute: groups, equals: aws-admins}
    grant:
      account: production
      role: ReadOnly
      label: Read-only
      console_duration: 12h

  # Okta-style group names: aws-ACCOUNT-ROLE grants that role.
  - name: group-per-role
    providers: [demo]
    when:
      all:
        - attribute: groups
          regex: '^aws-(?P<account>\d{12})-(?P<role>[A-Za-z]+)$'
    grant:
      account: '${account}'
      role: '${role}'
      label: '${role}'
      console_duration: 4h

  # OIDC sign-in: the demo OP's own ID token goes to
  # AssumeRoleWithWebIdentity unchanged (pass-through web identity).
  - name: oidc-engineers-web
    providers: [demo-oidc]
    when:
      all:
        - {attribute: groups, equals: engineering}
    grant:
      account: sandbox
      role: WebDeveloper
      label: Developer (web identity)
      mode: pass-through
      downstream: web-identity
      console_duration: 2h

  # Any sign-in of an administrator, SAML or OIDC, reaches a web identity
  # role through an ID token the broker mints itself.
  - name: admins-production-web
    providers: [demo, demo-oidc]
    when:
      all:
        - {attribute: groups, equals: aws-admins}
    grant:
      account: production
      role: WebReadOnly
      label: Read-only (web identity)
      mode: broker-issued
      downstream: web-identity
      console_duration: 1h
      session_tags: {team: admins}

  # The demo IdP's AWS app asserts roles itself: pass them through.
  - name: aws-app-roles
    providers: [demo-aws]
    when:
      all:
        - {attribute: 'https://aws.amazon.com/SAML/Attributes/Role', exists: true}
    grant:
      mode: pass-through
      role: '*'
      console_duration: 3h
`, "\n")
}
