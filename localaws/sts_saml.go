package localaws

import (
	"context"
	"encoding/xml"
	"log/slog"
	"net/url"
	"time"

	"github.com/broker-dev/broker"
)

type assumeRoleWithSAMLResponse struct {
	XMLName  xml.Name                 `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithSAMLResponse"`
	Result   assumeRoleWithSAMLResult `xml:"AssumeRoleWithSAMLResult"`
	Metadata xmlResponseMetadata      `xml:"ResponseMetadata"`
}

type assumeRoleWithSAMLResult struct {
	Audience         string             `xml:"Audience"`
	AssumedRoleUser  xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	Credentials      xmlCredentials     `xml:"Credentials"`
	Issuer           string             `xml:"Issuer"`
	NameQualifier    string             `xml:"NameQualifier"`
	PackedPolicySize *int               `xml:"PackedPolicySize,omitempty"`
	SessionTokenSize *int               `xml:"SessionTokenSize,omitempty"`
	SourceIdentity   string             `xml:"SourceIdentity,omitempty"`
	Subject          string             `xml:"Subject"`
	SubjectType      string             `xml:"SubjectType"`
}

type xmlAssumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

// assumeRoleWithSAML is the AssumeRoleWithSAML action (see doc.go for the
// order of the checks and the error each one answers with).
func (s *Server) assumeRoleWithSAML(ctx context.Context, q url.Values) (any, *stsError, []slog.Attr) {
	attrs := []slog.Attr{slog.String("role_arn", clip(q.Get("RoleArn"))), slog.String("principal_arn", clip(q.Get("PrincipalArn")))}
	p, apiErr := parseSAMLParams(q)
	if apiErr != nil {
		return nil, apiErr, attrs
	}
	cs, res, apiErr := s.assumeSAML(p, s.now())
	if apiErr != nil {
		return nil, apiErr, attrs
	}
	res.Metadata.RequestID = requestIDFrom(ctx)
	attrs = append(attrs,
		slog.String("access_key_id", cs.accessKeyID[:8]+"…"),
		slog.String("session_name", cs.sessionName),
		slog.Time("expiration", cs.expires))
	return res, nil, attrs
}

func (s *Server) assumeSAML(p samlParams, now time.Time) (*issuedSession, *assumeRoleWithSAMLResponse, *stsError) {
	roleARN, err := parseARNKind(p.roleARN, broker.KindRole)
	if err != nil {
		return nil, nil, errValidation("invalid_arn", "Request ARN is invalid: RoleArn must be an IAM role ARN such as arn:aws:iam::123456789012:role/NAME.")
	}
	provARN, err := parseARNKind(p.principalARN, broker.KindSAMLProvider)
	if err != nil {
		return nil, nil, errValidation("invalid_arn", "Request ARN is invalid: PrincipalArn must be an IAM SAML provider ARN such as arn:aws:iam::123456789012:saml-provider/NAME.")
	}
	if p.policy != "" {
		if _, err := parsePolicy(p.policy, sessionPolicyKind); err != nil {
			return nil, nil, newSTSError(codeMalformedPolicy, "session_policy_malformed", err, "%s", err.Error())
		}
	}
	prov := s.iam.samlProviders[provARN.String()]
	if prov == nil {
		return nil, nil, errInvalidToken("provider_not_found", nil, "Specified provider doesn't exist: %s is not a registered SAML provider.", provARN)
	}
	if e := checkProviderExpiry(prov, now); e != nil {
		return nil, nil, e
	}
	rl, requested, e := s.roleRequest(roleARN, actionAssumeRoleWithSAML, p.policyARNs, p.duration)
	if e != nil && e.reason == reasonDurationExceedsRole {
		// AWS does not say whether a call refused for its duration consumes
		// the assertion; the stand-in is the strict one: a valid assertion
		// presented with a refused duration is spent.
		s.spendOnRefusal(p.assertion, prov, roleARN, provARN, now)
		return nil, nil, e
	}
	if e != nil {
		return nil, nil, e
	}
	a, claims, e := verifySAMLAssertion(p.assertion, prov, roleARN, provARN, now, s.skew)
	if e != nil {
		return nil, nil, e
	}
	packed := packedPolicyPercent(p.policy, p.policyARNs, claims.tags)
	if packed > 100 {
		return nil, nil, newSTSError(codePackedPolicyLarge, "packed_policy_too_large", nil,
			"Packed policy consumes %d%% of allotted space, please use smaller policy, fewer policy ARNs or fewer session tags.", packed)
	}
	dur, e := sessionDuration(requested, claims, a, now)
	if e != nil {
		return nil, nil, e
	}

	// Replay: reserve the assertion ID now, keep it only if the call succeeds.
	replayKey := prov.entityID + "\x00" + a.id
	if !s.replay.putIfAbsent(replayKey, struct{}{}, replayExpiry(a, s.skew), now) {
		return nil, nil, errInvalidToken("replay", nil, "This SAML assertion was already used: an assertion is accepted once. Sign in again to get a new one.")
	}
	committed := false
	defer func() {
		if !committed {
			s.replay.delete(replayKey)
		}
	}()
	if e := authorize(rl, prov.arn.String(), actionAssumeRoleWithSAML, samlRequestContext(a, prov, claims), claims); e != nil {
		return nil, nil, e
	}
	cs, err := s.issue(rl, claims, now.Add(dur), p.minTokenSize)
	if err != nil {
		return nil, nil, newSTSError(codeInternal, "random_failed", err, "The credentials could not be generated.")
	}
	committed = true

	res := &assumeRoleWithSAMLResponse{Result: assumeRoleWithSAMLResult{
		Audience:        a.recipient,
		AssumedRoleUser: xmlAssumedRoleUser{Arn: cs.assumedRoleARN, AssumedRoleID: cs.assumedRoleID},
		Credentials: xmlCredentials{AccessKeyID: cs.accessKeyID, SecretAccessKey: cs.secretAccessKey,
			SessionToken: cs.sessionToken, Expiration: cs.expires.UTC().Format(time.RFC3339)},
		Issuer:         a.issuer,
		NameQualifier:  nameQualifier(a.issuer, prov),
		SourceIdentity: claims.sourceIdentity,
		Subject:        a.nameID,
		SubjectType:    subjectType(a.nameIDFormat),
	}}
	if p.policy != "" || len(p.policyARNs) > 0 || len(claims.tags) > 0 {
		res.Result.PackedPolicySize = &packed
	}
	if p.minTokenSize > 0 {
		n := len(cs.sessionToken)
		res.Result.SessionTokenSize = &n
	}
	return cs, res, nil
}

// verifySAMLAssertion runs every check on the assertion itself (see
// doc.go): decoding, signatures, status, issuer, audience, recipient,
// times, the Role pair and the AWS attributes.
func verifySAMLAssertion(b64 string, prov *samlProvider, roleARN, provARN broker.ARN, now time.Time, skew time.Duration) (*samlAssertion, awsClaims, *stsError) {
	doc, e := decodeSAMLResponse(b64)
	if e != nil {
		return nil, awsClaims{}, e
	}
	if e := checkTypeQNames(doc.Root()); e != nil {
		return nil, awsClaims{}, e
	}
	resp, el, e := verifySignatures(doc.Root(), prov.certs, now)
	if e != nil {
		return nil, awsClaims{}, e
	}
	if e := checkStatus(resp); e != nil {
		return nil, awsClaims{}, e
	}
	a, err := parseAssertion(el)
	if err != nil {
		return nil, awsClaims{}, errInvalidToken("assertion_malformed", err, "Invalid SAML response: %s.", err.Error())
	}
	if e := checkAssertion(a, resp, prov, now, skew); e != nil {
		return nil, awsClaims{}, e
	}
	if e := checkRolePair(a, broker.RolePair{RoleARN: roleARN.String(), ProviderARN: provARN.String()}); e != nil {
		return nil, awsClaims{}, e
	}
	claims, e := readAWSClaims(a)
	if e != nil {
		return nil, awsClaims{}, e
	}
	return a, claims, nil
}

// spendOnRefusal records a valid assertion's ID as used although the call
// is refused (an invalid one is not recorded: it can never succeed).
func (s *Server) spendOnRefusal(b64 string, prov *samlProvider, roleARN, provARN broker.ARN, now time.Time) {
	a, _, e := verifySAMLAssertion(b64, prov, roleARN, provARN, now, s.skew)
	if e != nil {
		return
	}
	s.replay.putIfAbsent(prov.entityID+"\x00"+a.id, struct{}{}, replayExpiry(a, s.skew), now)
}

// replayExpiry is when the assertion would be refused anyway: the earlier
// of its NotOnOrAfter times, plus the skew.
func replayExpiry(a *samlAssertion, skew time.Duration) time.Time {
	exp := a.scNotOnOrAfter
	if !a.notOnOrAfter.IsZero() && a.notOnOrAfter.Before(exp) {
		exp = a.notOnOrAfter
	}
	return exp.Add(skew)
}

// issue mints credentials for a role session.
func (s *Server) issue(rl *role, c awsClaims, expires time.Time, minTokenSize int) (*issuedSession, error) {
	keyID, secret, err := newKeyPair()
	if err != nil {
		return nil, err
	}
	a := rl.arn
	cs := &issuedSession{
		accessKeyID: keyID, secretAccessKey: secret,
		expires:   expires.UTC().Truncate(time.Second),
		partition: a.Partition, accountID: a.AccountID, roleARN: a.String(), roleName: a.Name(),
		assumedRoleARN: "arn:" + a.Partition + ":sts::" + a.AccountID + ":assumed-role/" + a.Name() + "/" + c.sessionName,
		assumedRoleID:  rl.id + ":" + c.sessionName,
		sessionName:    c.sessionName, sourceIdentity: c.sourceIdentity,
	}
	if err := s.sealSession(cs, minTokenSize); err != nil {
		return nil, err
	}
	return cs, nil
}

// reasonDurationExceedsRole: DurationSeconds above the role's
// MaxSessionDuration.
const reasonDurationExceedsRole = "duration_exceeds_role_max"

// roleRequest finds the role and checks what both STS calls check before
// the credential: the policy ARNs and the requested duration against the
// role's maximum (0 seconds: the 1 h default).
func (s *Server) roleRequest(roleARN broker.ARN, action string, policyARNs []string, durationSeconds int) (*role, time.Duration, *stsError) {
	rl := s.iam.roles[roleARN.String()]
	if rl == nil {
		return nil, 0, errAccessDenied("role_not_found", action)
	}
	if e := checkPolicyARNs(policyARNs, roleARN.Partition); e != nil {
		return nil, 0, e
	}
	requested := time.Duration(durationSeconds) * time.Second
	if durationSeconds == 0 {
		requested = defaultCredSeconds * time.Second
	}
	if requested > rl.maxSession {
		return nil, 0, errValidation(reasonDurationExceedsRole, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return rl, requested, nil
}
