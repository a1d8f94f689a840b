package sts

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/metrics"
)

// SAMLInput asks for AssumeRoleWithSAML.
type SAMLInput struct {
	RoleARN, PrincipalARN string
	Assertion             string        // base64 Response
	Duration              time.Duration // requested; 0 = AWS default (1 h)
	// What the assertion allows: its SessionDuration attribute and the
	// AuthnStatement's SessionNotOnOrAfter (zero = no limit).
	AssertionMaxDuration time.Duration
	SessionNotOnOrAfter  time.Time
	Policy               string
	PolicyARNs           []string
	// Reissue, when set, mints a fresh assertion for the retry after AWS
	// refused the duration (broker-issued mode), whose SessionDuration
	// covers d. AWS does not document whether a refused call consumed the
	// assertion, so it is never presented twice. When nil (the upstream
	// IdP's assertion) there is no retry: the error is EEXPIRED
	// ReasonDurationRefused, and the next call for the role asks for what
	// it allows.
	Reissue func(ctx context.Context, d time.Duration) (assertion string, err error)
}

// WebIdentityInput asks for AssumeRoleWithWebIdentity.
type WebIdentityInput struct {
	RoleARN, RoleSessionName, Token string
	Duration                        time.Duration
	Policy                          string
	PolicyARNs                      []string
	ProviderID                      string    // OAuth 2.0 providers only
	TokenExpires                    time.Time // the token's exp
	// Reissue, when set, mints a fresh token for the retry after AWS
	// refused the duration (broker-issued mode). When nil (the upstream
	// OP's token) there is no retry, as for SAMLInput.Reissue.
	Reissue func(ctx context.Context) (token string, expires time.Time, err error)
}

func invalid(reason, format string, args ...any) error {
	return broker.Errorf(broker.EINVALID, reason, format, args...)
}

func validateCommon(roleARN string, d time.Duration, policy string, arns []string) error {
	if d != 0 && (d < minDuration || d > maxDuration) {
		return invalid("duration_invalid", "The requested session length %s is outside 15 min..12 h. Contact your administrator.", d)
	}
	if len(policy) > 2048 {
		return invalid("policy_too_long", "The session policy for this role is longer than AWS allows (2048 characters). Contact your administrator.")
	}
	if len(arns) > 10 {
		return invalid("too_many_policy_arns", "The role asks for %d session policies; AWS allows 10. Contact your administrator.", len(arns))
	}
	return nil
}

func policyARNs(arns []string) []types.PolicyDescriptorType {
	var out []types.PolicyDescriptorType
	for _, a := range arns {
		out = append(out, types.PolicyDescriptorType{Arn: aws.String(a)})
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// AssumeRoleWithSAML presents a SAML Response to STS. It shortens the
// duration to what the assertion allows and to what the role was seen to
// allow (a refusal in the last hour). If AWS says the role allows less
// than requested, it retries once at 1 h with a fresh assertion from
// in.Reissue, or, without one, fails with EEXPIRED ReasonDurationRefused.
// Shortenings are reported as Notices.
func (c *Client) AssumeRoleWithSAML(ctx context.Context, in SAMLInput) (*Result, error) {
	if pa, err := broker.ParseARN(in.PrincipalARN); err != nil || pa.Kind() != broker.KindSAMLProvider {
		return nil, invalid("principal_arn_invalid", "The SAML provider %q is not a valid IAM SAML provider ARN. Contact your administrator.", in.PrincipalARN)
	}
	if n := len(in.Assertion); n < 4 || n > 100000 {
		return nil, invalid("assertion_size", "The sign-in response is %d characters; AWS accepts 4 to 100,000.", n)
	}
	if err := validateCommon(in.RoleARN, in.Duration, in.Policy, in.PolicyARNs); err != nil {
		return nil, err
	}
	api, err := c.client(in.RoleARN)
	if err != nil {
		return nil, err
	}
	d, notices, err := clamp(in.Duration, in.AssertionMaxDuration, in.SessionNotOnOrAfter, c.now())
	if err != nil {
		return nil, err
	}
	d, notices = c.roleDuration(in.RoleARN, d, notices)
	call := func(d time.Duration, assertion string) (*awssts.AssumeRoleWithSAMLOutput, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		start := c.now()
		out, err := api.AssumeRoleWithSAML(ctx, &awssts.AssumeRoleWithSAMLInput{
			RoleArn: aws.String(in.RoleARN), PrincipalArn: aws.String(in.PrincipalARN), SAMLAssertion: aws.String(assertion),
			DurationSeconds: seconds(d), Policy: optional(in.Policy), PolicyArns: policyARNs(in.PolicyARNs),
		})
		c.cfg.Metrics.AWSCall(metrics.ServiceSTS, "AssumeRoleWithSAML", c.now().Sub(start), errorCode(err))
		return out, err
	}
	start := c.now()
	out, err := call(d, in.Assertion)
	if err != nil && isMaxSessionDuration(err) && d > oneHour {
		c.learnRoleMax(ctx, in.RoleARN, d)
		if in.Reissue == nil {
			return nil, durationRefused(err, d)
		}
		fresh, rerr := in.Reissue(ctx, oneHour)
		if rerr != nil {
			return nil, rerr
		}
		notices = append(notices, roleClampNotice(d))
		d = oneHour
		out, err = call(d, fresh)
	}
	if err != nil {
		c.log.WarnContext(ctx, "sts: AssumeRoleWithSAML failed", "role", in.RoleARN, "duration", d, "latency", c.now().Sub(start), "err", err)
		return nil, classify(err, in.RoleARN)
	}
	if out.Credentials == nil {
		return nil, broker.Wrap(errNoCredentials, broker.EUPSTREAM, "sts_no_credentials", "AWS STS answered without credentials; try again.")
	}
	res := &Result{
		Credentials: creds(out.Credentials, out.AssumedRoleUser, out.SourceIdentity), Duration: d, Notices: notices,
		Subject: aws.ToString(out.Subject), SubjectType: aws.ToString(out.SubjectType), Issuer: aws.ToString(out.Issuer),
		Audience: aws.ToString(out.Audience), NameQualifier: aws.ToString(out.NameQualifier),
		SourceIdentity: aws.ToString(out.SourceIdentity), PackedPolicySize: int(aws.ToInt32(out.PackedPolicySize)),
	}
	c.log.InfoContext(ctx, "sts: assumed role with SAML", "role", in.RoleARN, "assumed", res.Credentials.AssumedRoleARN,
		"expires", res.Credentials.Expiration, "latency", c.now().Sub(start))
	return res, nil
}

// AssumeRoleWithWebIdentity presents an ID token to STS. Durations are
// handled as in AssumeRoleWithSAML (the retry takes a token from
// in.Reissue).
func (c *Client) AssumeRoleWithWebIdentity(ctx context.Context, in WebIdentityInput) (*Result, error) {
	if !broker.RoleSessionNameRe.MatchString(in.RoleSessionName) {
		return nil, invalid("session_name_invalid", "The session name %q is not 2..64 of A-Z a-z 0-9 _ + = , . @ -.", in.RoleSessionName)
	}
	if n := len(in.Token); n < 4 || n > 20000 {
		return nil, invalid("token_size", "The identity token is %d characters; AWS accepts 4 to 20,000.", n)
	}
	if err := checkTokenAlgorithm(in.Token); err != nil {
		return nil, err
	}
	if err := validateCommon(in.RoleARN, in.Duration, in.Policy, in.PolicyARNs); err != nil {
		return nil, err
	}
	api, err := c.client(in.RoleARN)
	if err != nil {
		return nil, err
	}
	if !in.TokenExpires.IsZero() && !c.now().Before(in.TokenExpires) {
		return nil, broker.Errorf(broker.EEXPIRED, "token_expired", "Your identity provider's token has expired: sign in again.")
	}
	d, notices := c.roleDuration(in.RoleARN, in.Duration, nil)
	call := func(d time.Duration, token string) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		start := c.now()
		out, err := api.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(in.RoleARN), RoleSessionName: aws.String(in.RoleSessionName), WebIdentityToken: aws.String(token),
			DurationSeconds: seconds(d), Policy: optional(in.Policy), PolicyArns: policyARNs(in.PolicyARNs), ProviderId: optional(in.ProviderID),
		})
		c.cfg.Metrics.AWSCall(metrics.ServiceSTS, "AssumeRoleWithWebIdentity", c.now().Sub(start), errorCode(err))
		return out, err
	}
	start := c.now()
	out, err := call(d, in.Token)
	if err != nil && isMaxSessionDuration(err) && d > oneHour {
		c.learnRoleMax(ctx, in.RoleARN, d)
		if in.Reissue == nil {
			return nil, durationRefused(err, d)
		}
		fresh, _, rerr := in.Reissue(ctx)
		if rerr != nil {
			return nil, rerr
		}
		notices = append(notices, roleClampNotice(d))
		d = oneHour
		out, err = call(d, fresh)
	}
	if err != nil {
		c.log.WarnContext(ctx, "sts: AssumeRoleWithWebIdentity failed", "role", in.RoleARN, "latency", c.now().Sub(start), "err", err)
		return nil, classify(err, in.RoleARN)
	}
	if out.Credentials == nil {
		return nil, broker.Wrap(errNoCredentials, broker.EUPSTREAM, "sts_no_credentials", "AWS STS answered without credentials; try again.")
	}
	return &Result{
		Credentials: creds(out.Credentials, out.AssumedRoleUser, out.SourceIdentity), Duration: d, Notices: notices,
		Subject: aws.ToString(out.SubjectFromWebIdentityToken), Provider: aws.ToString(out.Provider), Audience: aws.ToString(out.Audience),
		SourceIdentity: aws.ToString(out.SourceIdentity), PackedPolicySize: int(aws.ToInt32(out.PackedPolicySize)),
	}, nil
}

func creds(c *types.Credentials, u *types.AssumedRoleUser, sourceIdentity *string) broker.Credentials {
	out := broker.Credentials{
		AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Expiration: aws.ToTime(c.Expiration),
		SourceIdentity: aws.ToString(sourceIdentity),
	}
	if u != nil {
		out.AssumedRoleARN, out.AssumedRoleID = aws.ToString(u.Arn), aws.ToString(u.AssumedRoleId)
	}
	return out
}
