package mapping

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

// compiledGrant is a GrantSpec with its templates parsed and literals checked.
type compiledGrant struct {
	account, role, provider, label, description template
	sessionName, sourceIdentity, audience       template
	partition                                   string
	mode                                        broker.Mode // "" = the provider's default
	downstream                                  broker.Downstream
	duration, consoleDuration                   time.Duration
	destination, region                         string
	tagKeys                                     []string
	tags                                        map[string]template
	transitive                                  []string
	policy                                      string
	policyARNs                                  []string
	// patterns (deny rules and pass-through filters)
	accountPat, rolePat *regexp.Regexp
}

var (
	policyARNRe = regexp.MustCompile(`^arn:([a-z-]+):iam::([0-9]{12}|aws):policy/[\x21-\x7e]+$`)
	roleNameRe  = regexp.MustCompile(`^([\x21-\x7e]+/)?[\w+=,.@-]{1,64}$`)
)

// isPolicyARN reports whether s is an IAM managed policy ARN of a known
// partition (arn:aws:iam::aws:policy/ReadOnlyAccess, customer-managed too).
func isPolicyARN(s string) bool {
	m := policyARNRe.FindStringSubmatch(s)
	return m != nil && partition.Known(m[1])
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

func (c *compiler) tmpl(field, s string) template {
	t, err := parseTemplate(s)
	if err != nil {
		c.fail(field, "%v", err)
		return template{raw: s}
	}
	for _, p := range t.parts {
		if p.capture == "" {
			continue
		}
		if !c.captures[p.capture] {
			c.fail(field, "${%s} refers to no capture group of this rule's regex conditions", p.capture)
		} else if p.capture[0] >= '0' && p.capture[0] <= '9' && c.nRegexes > 1 {
			c.fail(field, "${%s} is ambiguous: the rule has several capturing regexes; use named groups (?P<name>...)", p.capture)
		}
	}
	return t
}

func (c *compiler) grant() compiledGrant {
	s := &c.rule.Grant
	g := compiledGrant{
		partition:  s.Partition,
		mode:       broker.Mode(s.Mode),
		downstream: broker.Downstream(s.Downstream),
		duration:   time.Duration(s.Duration), consoleDuration: time.Duration(s.ConsoleDuration),
		destination: s.Destination, region: s.Region,
		transitive: s.TransitiveTagKeys, policy: s.SessionPolicy, policyARNs: s.PolicyARNs,
	}
	if g.partition == "" {
		g.partition = c.e.opts.DefaultPartition
	}
	if !partition.Known(g.partition) {
		c.fail("grant.partition", "unknown partition %q (%s)", g.partition, strings.Join(partition.IDs(), ", "))
	}
	c.checkMode(&g, s)
	c.checkDownstream(&g, s)
	passThroughSAML := c.isPassThroughSAML(&g)
	c.grantTarget(&g, s, passThroughSAML)
	c.grantTexts(&g, s)
	c.checkDurations(&g)
	c.checkDestinationAndRegion(&g)
	c.checkTags(&g, s)
	c.checkSessionPolicy(&g)
	c.checkPolicyARNs(&g)
	if passThroughSAML && (len(s.SessionTags) > 0 || s.SourceIdentity != "" || s.SessionName != "") {
		c.fail("grant", "session_tags, source_identity and session_name need broker-issued credentials; pass-through sends the IdP's assertion unchanged")
	}
	return g
}

// checkMode accepts an empty mode (the provider's default), pass-through
// or broker-issued.
func (c *compiler) checkMode(g *compiledGrant, s *GrantSpec) {
	switch g.mode {
	case "", broker.ModePassThrough, broker.ModeBrokerIssued:
	default:
		c.fail("grant.mode", "must be pass-through or broker-issued, got %q", s.Mode)
	}
}

// checkDownstream accepts saml (the default when empty) or web-identity.
func (c *compiler) checkDownstream(g *compiledGrant, s *GrantSpec) {
	switch g.downstream {
	case "":
		g.downstream = broker.DownstreamSAML
	case broker.DownstreamSAML, broker.DownstreamWebIdentity:
	default:
		c.fail("grant.downstream", "must be saml or web-identity, got %q", s.Downstream)
	}
}

// isPassThroughSAML reports whether the grant forwards the IdP's own SAML
// assertion: its mode says pass-through, or it has no mode and every
// provider it is scoped to defaults to pass-through.
func (c *compiler) isPassThroughSAML(g *compiledGrant) bool {
	if g.mode == broker.ModePassThrough {
		return g.downstream == broker.DownstreamSAML
	}
	return g.mode == "" && c.allScopedPassThrough() && g.downstream == broker.DownstreamSAML
}

// grantTarget parses the account and role templates, then checks them as
// patterns (pass-through SAML) or as the role to mint a credential for.
func (c *compiler) grantTarget(g *compiledGrant, s *GrantSpec, passThroughSAML bool) {
	g.account = c.tmpl("grant.account", s.Account)
	g.role = c.tmpl("grant.role", s.Role)
	if passThroughSAML {
		c.passThroughPatterns(g, s)
	} else {
		c.issuedTarget(g, s)
	}
}

// passThroughPatterns compiles literal account and role globs that filter
// the roles the IdP asserted; the provider comes from the assertion.
func (c *compiler) passThroughPatterns(g *compiledGrant, s *GrantSpec) {
	if s.Provider != "" {
		c.fail("grant.provider", "pass-through uses the provider the identity provider asserted; leave provider empty")
	}
	if g.account.isLiteral() && s.Account != "" {
		g.accountPat = c.pattern("grant.account", c.resolveAccountPattern(s.Account))
	}
	if g.role.isLiteral() && s.Role != "" {
		g.rolePat = c.pattern("grant.role", s.Role)
	}
}

// issuedTarget checks the role, account and IAM SAML provider of every
// grant that is not pass-through SAML: the role must be named exactly.
func (c *compiler) issuedTarget(g *compiledGrant, s *GrantSpec) {
	if s.Role == "" {
		c.fail("grant.role", "role is required (a name such as Admin, a path/name, or a role ARN)")
	} else if g.role.isLiteral() {
		c.checkRole("grant.role", s.Role)
	}
	if s.Account == "" && !strings.HasPrefix(s.Role, "arn:") {
		c.fail("grant.account", "account is required unless role is a full ARN")
	} else if s.Account != "" && g.account.isLiteral() {
		if _, ok := c.e.resolveAccount(s.Account); !ok {
			c.fail("grant.account", "%q is neither a 12-digit account id nor a known alias", s.Account)
		}
	}
	g.provider = c.tmpl("grant.provider", s.Provider)
	if s.Provider != "" && g.provider.isLiteral() {
		if a, err := broker.ParseARN(s.Provider); err != nil || a.Kind() != broker.KindSAMLProvider {
			c.fail("grant.provider", "must be an IAM SAML provider ARN (arn:aws:iam::ACCOUNT:saml-provider/NAME)")
		}
	}
}

// grantTexts parses the free-text templates (label, description, session
// name, source identity, audience) and checks a literal source identity.
func (c *compiler) grantTexts(g *compiledGrant, s *GrantSpec) {
	g.label = c.tmpl("grant.label", s.Label)
	g.description = c.tmpl("grant.description", s.Description)
	g.sessionName = c.tmpl("grant.session_name", s.SessionName)
	g.sourceIdentity = c.tmpl("grant.source_identity", s.SourceIdentity)
	g.audience = c.tmpl("grant.audience", s.Audience)
	if s.SourceIdentity != "" && g.sourceIdentity.isLiteral() && !broker.RoleSessionNameRe.MatchString(s.SourceIdentity) {
		c.fail("grant.source_identity", "must be 2..64 of A-Z a-z 0-9 _ + = , . @ -")
	}
}

// checkDurations keeps credential and console durations within 15m..12h.
func (c *compiler) checkDurations(g *compiledGrant) {
	for _, f := range []struct {
		field string
		d     time.Duration
	}{{"grant.duration", g.duration}, {"grant.console_duration", g.consoleDuration}} { // in this order: the errors' order is stable
		if f.d != 0 && (f.d < 15*time.Minute || f.d > 12*time.Hour) {
			c.fail(f.field, "must be between 15m and 12h, got %s", f.d)
		}
	}
}

// checkDestinationAndRegion checks the console destination against the
// grant's partition and the region's shape.
func (c *compiler) checkDestinationAndRegion(g *compiledGrant) {
	if g.destination != "" {
		if err := partition.ValidateConsoleURL(g.partition, g.destination); err != nil {
			c.fail("grant.destination", "%v", err)
		}
	}
	if g.region != "" && !partition.ValidRegion(g.region) {
		c.fail("grant.region", "%q is not an AWS region name", g.region)
	}
}

// checkSessionPolicy checks an inline session policy: JSON, 2048 characters at most.
func (c *compiler) checkSessionPolicy(g *compiledGrant) {
	if g.policy != "" {
		if len(g.policy) > 2048 {
			c.fail("grant.session_policy", "session policy is %d characters; AWS allows 2048", len(g.policy))
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(g.policy), &obj); err != nil {
			c.fail("grant.session_policy", "not a JSON policy document: %v", err)
		}
	}
}

// checkPolicyARNs checks managed session policies: 10 IAM policy ARNs at most.
func (c *compiler) checkPolicyARNs(g *compiledGrant) {
	if len(g.policyARNs) > 10 {
		c.fail("grant.policy_arns", "%d policy ARNs; AWS allows 10", len(g.policyARNs))
	}
	for i, a := range g.policyARNs {
		if !isPolicyARN(a) {
			c.fail(fmt.Sprintf("grant.policy_arns[%d]", i), "%q is not an IAM policy ARN", a)
		}
	}
}

// allScopedPassThrough: the rule is scoped to providers that all default to pass-through.
func (c *compiler) allScopedPassThrough() bool {
	if len(c.rule.Providers) == 0 || c.e.opts.ProviderMode == nil {
		return false
	}
	for _, p := range c.rule.Providers {
		if c.e.opts.ProviderMode(p) != broker.ModePassThrough {
			return false
		}
	}
	return true
}

func (c *compiler) checkRole(field, role string) {
	if strings.HasPrefix(role, "arn:") {
		if a, err := broker.ParseARN(role); err != nil || a.Kind() != broker.KindRole {
			c.fail(field, "%q is not an IAM role ARN", role)
		}
		return
	}
	if isGlob(role) {
		c.fail(field, "globs are only allowed in pass-through and deny rules")
		return
	}
	if !roleNameRe.MatchString(role) {
		c.fail(field, "%q is not a role name (1..64 of A-Z a-z 0-9 _ + = , . @ -, optionally after a path)", role)
	}
}

func (c *compiler) checkTags(g *compiledGrant, s *GrantSpec) {
	if len(s.SessionTags) > 50 {
		c.fail("grant.session_tags", "%d tags; AWS allows 50", len(s.SessionTags))
	}
	g.tagKeys = sortedKeys(s.SessionTags)
	g.tags = map[string]template{}
	lower := map[string]bool{}
	for _, k := range g.tagKeys {
		f := "grant.session_tags." + k
		if err := broker.ValidateTagKey(k); err != nil {
			c.fail(f, "%v", err)
		}
		if lower[strings.ToLower(k)] {
			c.fail(f, "tag keys must be unique ignoring case")
		}
		lower[strings.ToLower(k)] = true
		t := c.tmpl(f, s.SessionTags[k])
		if t.isLiteral() {
			if err := broker.ValidateTagValue(k, s.SessionTags[k]); err != nil {
				c.fail(f, "%v", err)
			}
		}
		g.tags[k] = t
	}
	for i, k := range s.TransitiveTagKeys {
		if _, ok := s.SessionTags[k]; !ok {
			c.fail(fmt.Sprintf("grant.transitive_tag_keys[%d]", i), "%q is not one of session_tags", k)
		}
	}
}

// denyPattern compiles a deny rule's grant: only account and role patterns.
func (c *compiler) denyPattern() compiledGrant {
	s := c.rule.Grant
	var g compiledGrant
	if s.Account != "" {
		g.accountPat = c.pattern("grant.account", c.resolveAccountPattern(s.Account))
	}
	if s.Role != "" {
		g.rolePat = c.pattern("grant.role", s.Role)
	}
	rest := s
	rest.Account, rest.Role = "", ""
	if fmt.Sprint(rest) != fmt.Sprint(GrantSpec{}) {
		c.fail("grant", "deny rules only use grant.account and grant.role (as patterns)")
	}
	return g
}

// resolveAccountPattern turns an alias into its id; globs stay as they are.
func (c *compiler) resolveAccountPattern(s string) string {
	if a, ok := c.e.accounts[s]; ok {
		return a.ID
	}
	if !isGlob(s) && !accountRe.MatchString(s) {
		c.fail("grant.account", "%q is neither a 12-digit account id, a known alias, nor a glob", s)
	}
	return s
}

func (c *compiler) pattern(field, glob string) *regexp.Regexp {
	re, _, err := globToRegex(glob)
	if err != nil {
		c.fail(field, "%v", err)
		return nil
	}
	return re
}

func (e *Engine) resolveAccount(s string) (Account, bool) {
	if a, ok := e.accounts[s]; ok {
		return a, true
	}
	if accountRe.MatchString(s) {
		return Account{ID: s}, true
	}
	return Account{}, false
}
