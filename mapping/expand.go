package mapping

import (
	"regexp"
	"strings"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

// expand builds the grants of allow rule r for one capture binding. Grants
// that cannot be built (a missing attribute, an invalid expanded value) are
// left out with a note on the trace.
func (e *Engine) expand(r *compiledRule, id *broker.Identity, b binding, tr *RuleTrace) []broker.Grant {
	g := &r.grant
	mode := e.grantMode(g, id.Provider)
	if mode == broker.ModePassThrough && g.downstream == broker.DownstreamSAML {
		return e.expandPassThrough(r, id, b, tr)
	}
	x := expansion{id: id, b: b, tr: tr}
	acct, ok := x.field(g.account, "account")
	if !ok {
		return nil
	}
	role, ok := x.field(g.role, "role")
	if !ok {
		return nil
	}
	roleARN, account, ok := e.roleAndAccount(g.partition, acct, role, x)
	if !ok {
		return nil
	}
	out := e.baseGrant(r, id, b, tr, roleARN, account, mode)
	if out == nil {
		return nil
	}
	if g.downstream == broker.DownstreamSAML {
		ok = e.setSAMLProvider(g, out, roleARN, x)
	} else {
		ok = e.setAudience(g, out, x)
	}
	if !ok {
		return nil
	}
	return []broker.Grant{*out}
}

// expansion is what one grant is built from: the identity, one capture
// binding, and the trace that notes why a grant was left out.
type expansion struct {
	id *broker.Identity
	b  binding
	tr *RuleTrace
}

// field expands t; false, with a note naming field, when a value is missing.
func (x expansion) field(t template, field string) (string, bool) {
	v, missing, ok := t.expand(x.id, x.b)
	if !ok {
		x.drop(field + ": " + missing + " has no value")
	}
	return v, ok
}

// drop notes why a grant was left out and returns false.
func (x expansion) drop(reason string) bool {
	x.tr.Notes = append(x.tr.Notes, reason)
	return false
}

// grantMode is the rule's mode, else the provider's default, else
// broker-issued.
func (e *Engine) grantMode(g *compiledGrant, provider string) broker.Mode {
	if g.mode != "" {
		return g.mode
	}
	if e.opts.ProviderMode != nil {
		if m := e.opts.ProviderMode(provider); m != "" {
			return m
		}
	}
	return broker.ModeBrokerIssued
}

// roleAndAccount turns an expanded role (ARN or name) and account (id,
// alias, or empty beside an ARN) into the role's ARN and its account.
func (e *Engine) roleAndAccount(partition, acct, role string, x expansion) (broker.ARN, Account, bool) {
	if strings.HasPrefix(role, "arn:") {
		return e.roleByARN(acct, role, x)
	}
	return e.roleByName(partition, acct, role, x)
}

// roleByARN parses a role ARN; an account given beside it must be the ARN's.
func (e *Engine) roleByARN(acct, role string, x expansion) (broker.ARN, Account, bool) {
	a, err := broker.ParseARN(role)
	if err != nil || a.Kind() != broker.KindRole {
		return broker.ARN{}, Account{}, x.drop("role " + quote(role) + " is not a role ARN")
	}
	if acct != "" {
		res, ok := e.resolveAccount(acct)
		if !ok || res.ID != a.AccountID {
			return broker.ARN{}, Account{}, x.drop("role " + role + " is not in account " + quote(acct))
		}
	}
	account, _ := e.resolveAccount(a.AccountID)
	return a, account, true
}

// roleByName builds the ARN of a role name (or path/name) in an account.
func (e *Engine) roleByName(partition, acct, role string, x expansion) (broker.ARN, Account, bool) {
	account, ok := e.resolveAccount(acct)
	if !ok {
		return broker.ARN{}, Account{}, x.drop("account " + quote(acct) + " is neither a 12-digit id nor a known alias")
	}
	if !roleNameRe.MatchString(role) {
		return broker.ARN{}, Account{}, x.drop("role " + quote(role) + " is not a valid role name")
	}
	a, err := broker.ParseARN("arn:" + partition + ":iam::" + account.ID + ":role/" + role)
	if err != nil {
		return broker.ARN{}, Account{}, x.drop("role " + quote(role) + ": " + err.Error())
	}
	return a, account, true
}

// setSAMLProvider names the IAM SAML provider of a SAML grant: the rule's,
// which must be in the role's account, or the broker's own there.
func (e *Engine) setSAMLProvider(g *compiledGrant, out *broker.Grant, role broker.ARN, x expansion) bool {
	if len(g.provider.parts) == 0 {
		out.ProviderARN = "arn:" + role.Partition + ":iam::" + role.AccountID + ":saml-provider/" + e.opts.BrokerSAMLProviderName
		return true
	}
	p, ok := x.field(g.provider, "provider")
	if !ok {
		return false
	}
	pa, err := broker.ParseARN(p)
	if err != nil || pa.Kind() != broker.KindSAMLProvider || pa.AccountID != role.AccountID {
		return x.drop("provider " + quote(p) + " is not a SAML provider ARN in the role's account")
	}
	out.ProviderARN = pa.String()
	return true
}

// setAudience sets a web-identity grant's token audience: the rule's, or
// the default.
func (e *Engine) setAudience(g *compiledGrant, out *broker.Grant, x expansion) bool {
	out.Audience = e.opts.DefaultAudience
	if len(g.audience.parts) == 0 {
		return true
	}
	var ok bool
	out.Audience, ok = x.field(g.audience, "audience")
	return ok
}

// expandPassThrough offers the roles the upstream IdP asserted that match
// the rule's role and account patterns.
func (e *Engine) expandPassThrough(r *compiledRule, id *broker.Identity, b binding, tr *RuleTrace) []broker.Grant {
	g := &r.grant
	rolePat, acctPat := g.rolePat, g.accountPat
	if !g.role.isLiteral() {
		v, missing, ok := g.role.expand(id, b)
		if !ok {
			tr.Notes = append(tr.Notes, "role: "+missing+" has no value")
			return nil
		}
		rolePat = regexp.MustCompile(`\A` + regexp.QuoteMeta(v) + `\z`)
	}
	if !g.account.isLiteral() {
		v, missing, ok := g.account.expand(id, b)
		if !ok {
			tr.Notes = append(tr.Notes, "account: "+missing+" has no value")
			return nil
		}
		if a, ok := e.resolveAccount(v); ok {
			v = a.ID
		}
		acctPat = regexp.MustCompile(`\A` + regexp.QuoteMeta(v) + `\z`)
	}
	var out []broker.Grant
	for _, pair := range id.Roles {
		ra, err := broker.ParseARN(pair.RoleARN)
		if err != nil {
			continue
		}
		if acctPat != nil && !acctPat.MatchString(ra.AccountID) {
			continue
		}
		if rolePat != nil && !matchRole(rolePat, pair.RoleARN) {
			continue
		}
		account, _ := e.resolveAccount(ra.AccountID)
		gr := e.baseGrant(r, id, b, tr, ra, account, broker.ModePassThrough)
		if gr == nil {
			continue
		}
		gr.ProviderARN = pair.ProviderARN
		out = append(out, *gr)
	}
	if len(out) == 0 {
		tr.Notes = append(tr.Notes, "role not asserted by the identity provider (pass-through can only assume asserted roles)")
	}
	return out
}

// matchRole matches a role pattern against the ARN, the role name and the
// path/name, so "Admin", "team/*" and "arn:aws:iam::*:role/Dev*" all work.
func matchRole(pat *regexp.Regexp, roleARN string) bool {
	if pat.MatchString(roleARN) {
		return true
	}
	a, err := broker.ParseARN(roleARN)
	if err != nil {
		return false
	}
	return pat.MatchString(a.Name()) || pat.MatchString(strings.TrimPrefix(a.Resource, "role/"))
}

// baseGrant fills the fields every grant has; nil when a value is invalid.
func (e *Engine) baseGrant(r *compiledRule, id *broker.Identity, b binding, tr *RuleTrace, role broker.ARN, account Account, mode broker.Mode) *broker.Grant {
	g := &r.grant
	x := expansion{id: id, b: b, tr: tr}
	out := &broker.Grant{
		Rule: r.name, AccountID: role.AccountID, RoleARN: role.String(), Mode: mode, Downstream: g.downstream,
		CredentialDuration: g.duration, ConsoleDuration: g.consoleDuration,
		Destination: g.destination, Region: g.region, MaxAuthAge: r.maxAuthAge,
		SessionPolicy: g.policy, PolicyARNs: g.policyARNs, TransitiveTagKeys: g.transitive,
	}
	e.applyDefaults(out, role.Partition)
	out.AccountLabel = accountLabel(account)
	if !g.expandLabels(out, role, x) || !g.expandSessionName(out, x) || !g.expandSourceIdentity(out, x) || !g.expandTags(out, x) {
		return nil
	}
	return out
}

// applyDefaults fills what the rule left empty from Options.Defaults; the
// default destination only when it is a console URL of the role's partition.
func (e *Engine) applyDefaults(out *broker.Grant, partitionID string) {
	d := e.opts.Defaults
	if out.CredentialDuration == 0 {
		out.CredentialDuration = d.CredentialDuration
	}
	if out.ConsoleDuration == 0 {
		out.ConsoleDuration = d.ConsoleDuration
	}
	if out.Region == "" {
		out.Region = d.Region
	}
	if out.Destination == "" && d.Destination != "" && partition.ValidateConsoleURL(partitionID, d.Destination) == nil {
		out.Destination = d.Destination
	}
}

// accountLabel is what the portal shows for an account: label, alias or id.
func accountLabel(a Account) string {
	if a.Label != "" {
		return a.Label
	}
	if a.Alias != "" {
		return a.Alias
	}
	return a.ID
}

// expandLabels expands the label (default: the role's name) and description.
func (g *compiledGrant) expandLabels(out *broker.Grant, role broker.ARN, x expansion) bool {
	var ok bool
	if out.Label, ok = x.field(g.label, "label"); !ok {
		return false
	}
	if out.Label == "" {
		out.Label = role.Name()
	}
	out.Description, ok = x.field(g.description, "description")
	return ok
}

// expandSessionName expands the session name, made fit for RoleSessionName.
func (g *compiledGrant) expandSessionName(out *broker.Grant, x expansion) bool {
	if len(g.sessionName.parts) == 0 {
		return true
	}
	n, ok := x.field(g.sessionName, "session_name")
	if !ok {
		return false
	}
	out.SessionName = broker.SanitizeRoleSessionName(n)
	return true
}

// expandSourceIdentity expands the source identity, which must already fit
// AWS's syntax (it is not sanitised: it identifies the person).
func (g *compiledGrant) expandSourceIdentity(out *broker.Grant, x expansion) bool {
	if len(g.sourceIdentity.parts) == 0 {
		return true
	}
	si, ok := x.field(g.sourceIdentity, "source_identity")
	if !ok {
		return false
	}
	if !broker.RoleSessionNameRe.MatchString(si) {
		return x.drop("source_identity " + quote(si) + " is not 2..64 of A-Z a-z 0-9 _ + = , . @ -")
	}
	out.SourceIdentity = si
	return true
}

// expandTags expands the session tags and checks each value.
func (g *compiledGrant) expandTags(out *broker.Grant, x expansion) bool {
	if len(g.tagKeys) == 0 {
		return true
	}
	out.SessionTags = make(map[string]string, len(g.tagKeys))
	for _, k := range g.tagKeys {
		v, ok := x.field(g.tags[k], "session_tags."+k)
		if !ok {
			return false
		}
		if err := broker.ValidateTagValue(k, v); err != nil {
			return x.drop("session_tags." + k + ": " + err.Error())
		}
		out.SessionTags[k] = v
	}
	return true
}
