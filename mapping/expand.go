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
	mode := g.mode
	if mode == "" {
		mode = broker.ModeBrokerIssued
		if e.opts.ProviderMode != nil {
			if m := e.opts.ProviderMode(id.Provider); m != "" {
				mode = m
			}
		}
	}
	if mode == broker.ModePassThrough && g.downstream == broker.DownstreamSAML {
		return e.expandPassThrough(r, id, b, tr)
	}
	note := func(s string) []broker.Grant {
		tr.Notes = append(tr.Notes, s)
		return nil
	}
	expand := func(t template, field string) (string, bool) {
		v, missing, ok := t.expand(id, b)
		if !ok {
			note(field + ": " + missing + " has no value")
		}
		return v, ok
	}
	acct, ok := expand(g.account, "account")
	if !ok {
		return nil
	}
	role, ok := expand(g.role, "role")
	if !ok {
		return nil
	}
	var account Account
	var roleARN broker.ARN
	if strings.HasPrefix(role, "arn:") {
		a, err := broker.ParseARN(role)
		if err != nil || a.Kind() != broker.KindRole {
			return note("role " + quote(role) + " is not a role ARN")
		}
		roleARN = a
		if acct != "" {
			res, ok := e.resolveAccount(acct)
			if !ok || res.ID != a.AccountID {
				return note("role " + role + " is not in account " + quote(acct))
			}
		}
		account, _ = e.resolveAccount(a.AccountID)
	} else {
		res, ok := e.resolveAccount(acct)
		if !ok {
			return note("account " + quote(acct) + " is neither a 12-digit id nor a known alias")
		}
		account = res
		if !roleNameRe.MatchString(role) {
			return note("role " + quote(role) + " is not a valid role name")
		}
		a, err := broker.ParseARN("arn:" + g.partition + ":iam::" + account.ID + ":role/" + role)
		if err != nil {
			return note("role " + quote(role) + ": " + err.Error())
		}
		roleARN = a
	}
	out := e.baseGrant(r, id, b, tr, roleARN, account, mode)
	if out == nil {
		return nil
	}
	if g.downstream == broker.DownstreamSAML {
		if len(g.provider.parts) > 0 {
			p, ok := expand(g.provider, "provider")
			if !ok {
				return nil
			}
			pa, err := broker.ParseARN(p)
			if err != nil || pa.Kind() != broker.KindSAMLProvider || pa.AccountID != roleARN.AccountID {
				return note("provider " + quote(p) + " is not a SAML provider ARN in the role's account")
			}
			out.ProviderARN = pa.String()
		} else {
			out.ProviderARN = "arn:" + roleARN.Partition + ":iam::" + roleARN.AccountID + ":saml-provider/" + e.opts.BrokerSAMLProviderName
		}
	} else {
		out.Audience = e.opts.DefaultAudience
		if len(g.audience.parts) > 0 {
			if out.Audience, ok = expand(g.audience, "audience"); !ok {
				return nil
			}
		}
	}
	return []broker.Grant{*out}
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
	fail := func(s string) *broker.Grant {
		tr.Notes = append(tr.Notes, s)
		return nil
	}
	out := &broker.Grant{
		Rule: r.name, AccountID: role.AccountID, RoleARN: role.String(), Mode: mode, Downstream: g.downstream,
		CredentialDuration: g.duration, ConsoleDuration: g.consoleDuration,
		Destination: g.destination, Region: g.region,
		SessionPolicy: g.policy, PolicyARNs: g.policyARNs, TransitiveTagKeys: g.transitive,
	}
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
	if out.Destination == "" && d.Destination != "" && partition.ValidateConsoleURL(role.Partition, d.Destination) == nil {
		out.Destination = d.Destination
	}
	out.AccountLabel = account.ID
	if account.Label != "" {
		out.AccountLabel = account.Label
	} else if account.Alias != "" {
		out.AccountLabel = account.Alias
	}
	var ok bool
	var missing string
	if out.Label, missing, ok = g.label.expand(id, b); !ok {
		return fail("label: " + missing + " has no value")
	}
	if out.Label == "" {
		out.Label = role.Name()
	}
	if out.Description, missing, ok = g.description.expand(id, b); !ok {
		return fail("description: " + missing + " has no value")
	}
	if len(g.sessionName.parts) > 0 {
		n, missing, ok := g.sessionName.expand(id, b)
		if !ok {
			return fail("session_name: " + missing + " has no value")
		}
		out.SessionName = broker.SanitizeRoleSessionName(n)
	}
	if len(g.sourceIdentity.parts) > 0 {
		si, missing, ok := g.sourceIdentity.expand(id, b)
		if !ok {
			return fail("source_identity: " + missing + " has no value")
		}
		if !broker.RoleSessionNameRe.MatchString(si) {
			return fail("source_identity " + quote(si) + " is not 2..64 of A-Z a-z 0-9 _ + = , . @ -")
		}
		out.SourceIdentity = si
	}
	if len(g.tagKeys) > 0 {
		out.SessionTags = make(map[string]string, len(g.tagKeys))
		for _, k := range g.tagKeys {
			v, missing, ok := g.tags[k].expand(id, b)
			if !ok {
				return fail("session_tags." + k + ": " + missing + " has no value")
			}
			if err := broker.ValidateTagValue(k, v); err != nil {
				return fail("session_tags." + k + ": " + err.Error())
			}
			out.SessionTags[k] = v
		}
	}
	return out
}
