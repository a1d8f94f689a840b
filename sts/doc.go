// Package sts assumes roles with AWS STS (aws-sdk-go-v2 service/sts):
// AssumeRoleWithSAML and AssumeRoleWithWebIdentity. Both are unsigned calls:
// the broker holds no AWS credentials.
//
//	SAMLInput ──validate──> clamp DurationSeconds (assertion SessionDuration,
//	          SessionNotOnOrAfter) ──> SDK call (partition's region, keep-alive,
//	          SDK retries only what AWS calls retryable: throttling, 5xx,
//	          IDPCommunicationError) ──> ValidationError on MaxSessionDuration?
//	          retry once at 1 h and say so ──> Result{Credentials, Notices}
//
// The partition's region is Config.Regions[partition], else the
// partition's STSRegion (package partition).
//
// Every failure becomes a *broker.Error whose Message tells the person what
// to do ("sign in again", "ask your administrator to check the trust
// policy") and whose Reason is "sts_" + the AWS error code.
package sts
