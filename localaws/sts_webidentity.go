package localaws

import (
	"context"
	"encoding/xml"
	"log/slog"
	"net/url"
	"time"

	"github.com/broker-dev/broker"
)

const actionAssumeRoleWithWebIdentity = "sts:AssumeRoleWithWebIdentity"

// Parameter constraints of AssumeRoleWithWebIdentity (STS API reference).
const (
	minWebTokenChars = 4
	maxWebTokenChars = 20000
)

type assumeRoleWithWebIdentityResponse struct {
	XMLName  xml.Name                        `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result   assumeRoleWithWebIdentityResult `xml:"AssumeRoleWithWebIdentityResult"`
	Metadata xmlResponseMetadata             `xml:"ResponseMetadata"`
}

type assumeRoleWithWebIdentityResult struct {
	Audience                    string             `xml:"Audience"`
	AssumedRoleUser             xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	Credentials                 xmlCredentials     `xml:"Credentials"`
	PackedPolicySize            *int               `xml:"PackedPolicySize,omitempty"`
	Provider                    string             `xml:"Provider"`
	SourceIdentity              string             `xml:"SourceIdentity,omitempty"`
	SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
}

// webParams are AssumeRoleWithWebIdentity's request parameters.
type webParams struct {
	roleARN     string
	sessionName string
	token       string
	providerID  string
	duration    int
	policy      string
	policyARNs  []string
}

func parseWebParams(p url.Values) (webParams, *stsError) {
	var v violations
	var out webParams
	out.roleARN = v.lengthIn(p, "RoleArn", "roleArn", minARNChars, maxARNChars, true)
	out.sessionName = v.lengthIn(p, "RoleSessionName", "roleSessionName", 2, 64, true)
	if out.sessionName != "" && !sourceIdentityRe.MatchString(out.sessionName) {
		v.add(out.sessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	out.token = v.lengthIn(p, "WebIdentityToken", "webIdentityToken", minWebTokenChars, maxWebTokenChars, false)
	if vals, ok := p["ProviderId"]; ok {
		out.providerID = vals[0]
		if len(out.providerID) < 4 || len(out.providerID) > 2048 {
			v.add(out.providerID, "providerId", "Member must have length between 4 and 2048")
		}
	}
	out.duration = v.intIn(p, "DurationSeconds", "durationSeconds", minDuration, maxDuration)
	if vals, ok := p["Policy"]; ok {
		out.policy = vals[0]
		if len(out.policy) < 1 || len(out.policy) > maxPolicyChars || !policyCharsRe.MatchString(out.policy) {
			v.add("", "policy", "Member must have length between 1 and 2048 of printable characters")
		}
	}
	out.policyARNs = policyARNParams(p, &v)
	return out, v.err()
}

// assumeRoleWithWebIdentity is the AssumeRoleWithWebIdentity action: the
// token's issuer must be a registered OIDC provider, its signature must
// verify against the issuer's JWKS, its audience must be one of the
// provider's client ids, it must be unexpired, and the role's trust policy
// must allow the call. Unlike SAML assertions, a token may be used again
// until it expires.
func (s *Server) assumeRoleWithWebIdentity(ctx context.Context, q url.Values) (any, *stsError, []slog.Attr) {
	attrs := []slog.Attr{slog.String("role_arn", clip(q.Get("RoleArn")))}
	p, apiErr := parseWebParams(q)
	if apiErr != nil {
		return nil, apiErr, attrs
	}
	now := s.now()
	roleARN, err := parseARNKind(p.roleARN, broker.KindRole)
	if err != nil {
		return nil, errValidation("invalid_arn", "Request ARN is invalid: RoleArn must be an IAM role ARN such as arn:aws:iam::123456789012:role/NAME."), attrs
	}
	if p.providerID != "" {
		return nil, errValidation("provider_id_not_oauth", "ProviderId is only for OAuth 2.0 providers (www.amazon.com, graph.facebook.com); leave it out for an OpenID Connect ID token."), attrs
	}
	if p.policy != "" {
		if _, err := parsePolicy(p.policy, sessionPolicyKind); err != nil {
			return nil, newSTSError(codeMalformedPolicy, "session_policy_malformed", err, "%s", err.Error()), attrs
		}
	}
	rl, requested, e := s.roleRequest(roleARN, actionAssumeRoleWithWebIdentity, p.policyARNs, p.duration)
	if e != nil {
		return nil, e, attrs
	}
	tok, prov, e := s.verifyWebToken(ctx, p.token, roleARN.AccountID, now)
	if e != nil {
		return nil, e, attrs
	}
	claims := awsClaims{sessionName: p.sessionName, tags: tok.tags, transitive: tok.transitive, sourceIdentity: tok.sourceIdentity}
	packed := packedPolicyPercent(p.policy, p.policyARNs, claims.tags)
	if packed > 100 {
		return nil, newSTSError(codePackedPolicyLarge, "packed_policy_too_large", nil,
			"Packed policy consumes %d%% of allotted space, please use smaller policy, fewer policy ARNs or fewer session tags.", packed), attrs
	}
	if e := authorize(rl, prov.arn.String(), actionAssumeRoleWithWebIdentity, webRequestContext(tok, prov, claims), claims); e != nil {
		return nil, e, attrs
	}
	exp := now.Add(requested)
	cs, err := s.issue(rl, claims, exp, 0)
	if err != nil {
		return nil, newSTSError(codeInternal, "random_failed", err, "The credentials could not be generated."), attrs
	}
	res := &assumeRoleWithWebIdentityResponse{Result: assumeRoleWithWebIdentityResult{
		Audience:        tok.audience,
		AssumedRoleUser: xmlAssumedRoleUser{Arn: cs.assumedRoleARN, AssumedRoleID: cs.assumedRoleID},
		Credentials: xmlCredentials{AccessKeyID: cs.accessKeyID, SecretAccessKey: cs.secretAccessKey,
			SessionToken: cs.sessionToken, Expiration: cs.expires.UTC().Format(time.RFC3339)},
		Provider:                    prov.hostPath,
		SourceIdentity:              claims.sourceIdentity,
		SubjectFromWebIdentityToken: tok.subject,
	}}
	if p.policy != "" || len(p.policyARNs) > 0 || len(claims.tags) > 0 {
		res.Result.PackedPolicySize = &packed
	}
	res.Metadata.RequestID = requestIDFrom(ctx)
	attrs = append(attrs, slog.String("provider", prov.hostPath), slog.String("access_key_id", cs.accessKeyID[:8]+"…"),
		slog.String("session_name", cs.sessionName), slog.Time("expiration", cs.expires))
	return res, nil, attrs
}
