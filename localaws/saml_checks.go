package localaws

import (
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

var regionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// isSigninSAMLEndpoint reports whether u is the partition's global sign-in
// SAML endpoint (https://signin.aws.amazon.com/saml) or a regional one
// (https://REGION.signin.aws.amazon.com/saml).
func isSigninSAMLEndpoint(u string, part partition.Partition) bool {
	if u == "https://"+part.SigninHost+"/saml" {
		return true
	}
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		return false
	}
	host, path, _ := strings.Cut(rest, "/")
	region, ok := strings.CutSuffix(host, ".signin."+part.DomainSuffix)
	return ok && path == "saml" && regionRe.MatchString(region)
}

// isAWSAudience reports whether aud names AWS as the relying party.
func isAWSAudience(aud string, part partition.Partition) bool {
	switch aud {
	case broker.AWSSAMLAudienceURN:
		return true
	case "urn:amazon:webservices:govcloud":
		return part.ID == "aws-us-gov"
	case "urn:amazon:webservices:cn-north-1", "urn:amazon:webservices:cn-northwest-1":
		return part.ID == "aws-cn"
	}
	return isSigninSAMLEndpoint(aud, part)
}

// checkAssertion applies AWS's rules to a verified assertion: issuer,
// AuthnStatement, the single bearer SubjectConfirmation and its Recipient,
// validity times (with skew) and audience.
func checkAssertion(a *samlAssertion, resp *etree.Element, prov *samlProvider, now time.Time, skew time.Duration) *stsError {
	part, _ := partition.Lookup(prov.arn.Partition)
	if a.issuer != prov.entityID {
		return errInvalidToken("issuer_mismatch", nil, "Issuer not present in specified provider: the assertion's Issuer must be the entityID of the provider's metadata.")
	}
	if ri, err := oneChild(resp, nsSAML, "Issuer"); err != nil {
		return errInvalidToken("issuer_mismatch", err, "Invalid SAML response: it has more than one Issuer.")
	} else if ri != nil {
		if v, err := textOf(ri); err != nil || v != prov.entityID {
			return errInvalidToken("issuer_mismatch", err, "Issuer not present in specified provider: the Response's Issuer must be the entityID of the provider's metadata.")
		}
	}
	if a.authnStatements == 0 {
		return errInvalidToken("authn_statement_missing", nil, "Invalid SAML response: the assertion has no AuthnStatement.")
	}
	switch {
	case a.confirmations != 1:
		return errInvalidToken("subject_confirmation_count", nil, "Invalid SAML response: the Subject must have exactly one SubjectConfirmation, it has %d.", a.confirmations)
	case !a.bearer:
		return errInvalidToken("subject_confirmation_not_bearer", nil, "Invalid SAML response: the SubjectConfirmation Method must be %s.", cmBearer)
	case a.scNotOnOrAfter.IsZero() || a.recipient == "":
		return errInvalidToken("subject_confirmation_data_missing", nil, "Invalid SAML response: the SubjectConfirmationData must have NotOnOrAfter and Recipient.")
	}
	if !isSigninSAMLEndpoint(a.recipient, part) {
		return errInvalidToken("recipient_mismatch", nil, "Invalid SAML response: the SubjectConfirmationData Recipient must be the AWS sign-in SAML endpoint, such as https://%s/saml.", part.SigninHost)
	}
	if err := checkTimes(a, now, skew); err != nil {
		return err
	}
	if len(a.audiences) == 0 {
		return errInvalidToken("audience_missing", nil, "Response does not contain the required audience: add an AudienceRestriction with %s or https://%s/saml.", broker.AWSSAMLAudienceURN, part.SigninHost)
	}
	for _, list := range a.audiences {
		ok := false
		for _, aud := range list {
			ok = ok || isAWSAudience(aud, part)
		}
		if !ok {
			return errInvalidToken("audience_mismatch", nil, "Response does not contain the required audience: every AudienceRestriction must name %s or https://%s/saml.", broker.AWSSAMLAudienceURN, part.SigninHost)
		}
	}
	return nil
}

func checkTimes(a *samlAssertion, now time.Time, skew time.Duration) *stsError {
	if !now.Before(a.scNotOnOrAfter.Add(skew)) {
		return errExpired("assertion_expired", "The SAML assertion has expired: its SubjectConfirmationData NotOnOrAfter (%s) has passed. Sign in again.", a.scNotOnOrAfter.Format(time.RFC3339))
	}
	if !a.notOnOrAfter.IsZero() && !now.Before(a.notOnOrAfter.Add(skew)) {
		return errExpired("assertion_expired", "The SAML assertion has expired: its Conditions NotOnOrAfter (%s) has passed. Sign in again.", a.notOnOrAfter.Format(time.RFC3339))
	}
	if !a.notBefore.IsZero() && now.Add(skew).Before(a.notBefore) {
		return errInvalidToken("assertion_not_yet_valid", nil, "The SAML assertion is not yet valid: its Conditions NotBefore is %s. Check the IdP's clock.", a.notBefore.Format(time.RFC3339))
	}
	if !a.scNotBefore.IsZero() && now.Add(skew).Before(a.scNotBefore) {
		return errInvalidToken("assertion_not_yet_valid", nil, "The SAML assertion is not yet valid: its SubjectConfirmationData NotBefore is %s. Check the IdP's clock.", a.scNotBefore.Format(time.RFC3339))
	}
	if now.Add(skew).Before(a.issueInstant) {
		return errInvalidToken("issued_in_future", nil, "The SAML assertion's IssueInstant (%s) is in the future. Check the IdP's clock.", a.issueInstant.Format(time.RFC3339))
	}
	return nil
}

// subjectType is the SubjectType STS returns and saml:sub_type holds.
func subjectType(format string) string {
	switch format {
	case nameIDPersistent:
		return "persistent"
	case nameIDTransient:
		return "transient"
	}
	return format
}
