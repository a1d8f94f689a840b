// Package sts assumes roles with AWS STS (aws-sdk-go-v2 service/sts):
// AssumeRoleWithSAML and AssumeRoleWithWebIdentity. Both are unsigned calls:
// the broker holds no AWS credentials.
//
//	SAMLInput ──validate──> clamp DurationSeconds (assertion SessionDuration,
//	          SessionNotOnOrAfter) and to a maximum this role was seen to allow
//	          (per role ARN, 1 h TTL, bounded) ──> SDK call (partition's region,
//	          keep-alive, SDK retries only what AWS calls retryable: throttling,
//	          5xx, IDPCommunicationError) ──> ValidationError on MaxSessionDuration?
//	          remember the role allows 1 h; with SAMLInput.Reissue, retry once at
//	          1 h with a FRESH assertion and say so; without (the upstream IdP's
//	          assertion, which may have been consumed) EEXPIRED
//	          ReasonDurationRefused: sign in again ──> Result{Credentials, Notices}
//
// AssumeRoleWithWebIdentity has the same duration handling (Reissue mints
// a fresh ID token).
//
// The partition's region is Config.Regions[partition], else the
// partition's STSRegion (package partition).
//
// Every failure becomes a *broker.Error whose Message tells the person what
// to do ("sign in again", "ask your administrator to check the trust
// policy") and whose Reason is "sts_" + the AWS error code.
package sts
