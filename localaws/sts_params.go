package localaws

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Parameter constraints of AssumeRoleWithSAML (STS API reference).
const (
	minARNChars       = 20
	maxARNChars       = 2048
	minAssertionChars = 4
	maxAssertionChars = 100000
	maxPolicyChars    = 2048
	maxPolicyARNs     = 10
	// packedPolicyLimit is the budget, in compressed bytes, for the session
	// policy, policy ARNs and session tags packed together.
	packedPolicyLimit = 4096
)

var (
	policyCharsRe = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)
	policyARNRe   = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn):iam::([0-9]{12}|aws):policy/[\x21-\x7e]+$`)
	memberRe      = regexp.MustCompile(`^PolicyArns\.member\.([1-9][0-9]{0,3})\.arn$`)
)

// samlParams are AssumeRoleWithSAML's request parameters, checked against
// the API's constraints.
type samlParams struct {
	roleARN      string
	principalARN string
	assertion    string
	duration     int // seconds; 0 when not given
	policy       string
	policyARNs   []string
	minTokenSize int
}

// violations collects constraint failures in AWS's ValidationError style.
type violations []string

func (v *violations) add(value, member, constraint string) {
	if value == "" {
		*v = append(*v, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", member, constraint))
		return
	}
	*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", clip(value), member, constraint))
}

func (v violations) err() *stsError {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return errValidation("parameter_constraint", "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}

// lengthIn checks a required string parameter's length; echo says whether
// the value may appear in the message (never for assertions or policies).
func (v *violations) lengthIn(p url.Values, name, member string, minLen, maxLen int, echo bool) string {
	vals, ok := p[name]
	if !ok {
		*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
		return ""
	}
	s, shown := vals[0], ""
	if echo {
		shown = s
	}
	switch {
	case len(s) < minLen:
		v.add(shown, member, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	case len(s) > maxLen:
		v.add(shown, member, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
	return s
}

// intIn checks an optional integer parameter's range.
func (v *violations) intIn(p url.Values, name, member string, minV, maxV int) int {
	vals, ok := p[name]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(vals[0])
	switch {
	case err != nil:
		v.add(vals[0], member, "Member must be an integer")
	case n < minV:
		v.add(vals[0], member, fmt.Sprintf("Member must have value greater than or equal to %d", minV))
	case n > maxV:
		v.add(vals[0], member, fmt.Sprintf("Member must have value less than or equal to %d", maxV))
	}
	return n
}

// parseSAMLParams checks every parameter constraint and returns all
// violations in one ValidationError, as AWS does.
func parseSAMLParams(p url.Values) (samlParams, *stsError) {
	var v violations
	var out samlParams
	out.roleARN = v.lengthIn(p, "RoleArn", "roleArn", minARNChars, maxARNChars, true)
	out.principalARN = v.lengthIn(p, "PrincipalArn", "principalArn", minARNChars, maxARNChars, true)
	out.assertion = v.lengthIn(p, "SAMLAssertion", "sAMLAssertion", minAssertionChars, maxAssertionChars, false)
	out.duration = v.intIn(p, "DurationSeconds", "durationSeconds", minDuration, maxDuration)
	if vals, ok := p["Policy"]; ok {
		out.policy = vals[0]
		switch {
		case len(out.policy) < 1:
			v.add("", "policy", "Member must have length greater than or equal to 1")
		case len(out.policy) > maxPolicyChars:
			v.add("", "policy", fmt.Sprintf("Member must have length less than or equal to %d", maxPolicyChars))
		case !policyCharsRe.MatchString(out.policy):
			v.add("", "policy", `Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`)
		}
	}
	out.policyARNs = policyARNParams(p, &v)
	out.minTokenSize = v.intIn(p, "MinimumSessionTokenSize", "minimumSessionTokenSize", 0, maxMinTokenSize)
	return out, v.err()
}

// policyARNParams reads PolicyArns.member.N.arn, N = 1..count without gaps.
func policyARNParams(p url.Values, v *violations) []string {
	byIndex := map[int]string{}
	for k, vals := range p {
		if !strings.HasPrefix(k, "PolicyArns.") {
			continue
		}
		m := memberRe.FindStringSubmatch(k)
		if m == nil {
			v.add(k, "policyArns", "Member must be sent as PolicyArns.member.N.arn")
			continue
		}
		n, _ := strconv.Atoi(m[1])
		byIndex[n] = vals[0]
	}
	if len(byIndex) > maxPolicyARNs {
		v.add("", "policyArns", fmt.Sprintf("Member must have length less than or equal to %d", maxPolicyARNs))
		return nil
	}
	out := make([]string, 0, len(byIndex))
	for i := 1; i <= len(byIndex); i++ {
		a, ok := byIndex[i]
		if !ok {
			v.add("", "policyArns", "Member indexes must run from 1 without gaps")
			return nil
		}
		switch {
		case len(a) < minARNChars:
			v.add(a, fmt.Sprintf("policyArns.%d.member.arn", i), fmt.Sprintf("Member must have length greater than or equal to %d", minARNChars))
		case len(a) > maxARNChars:
			v.add("", fmt.Sprintf("policyArns.%d.member.arn", i), fmt.Sprintf("Member must have length less than or equal to %d", maxARNChars))
		}
		out = append(out, a)
	}
	return out
}

// checkPolicyARNs requires IAM managed-policy ARNs in the role's partition.
func checkPolicyARNs(arns []string, partition string) *stsError {
	for _, a := range arns {
		m := policyARNRe.FindStringSubmatch(a)
		if m == nil || m[1] != partition {
			return errValidation("policy_arn_invalid", "The policy ARN %q is not an IAM managed policy ARN (arn:%s:iam::ACCOUNT:policy/NAME) of the role's partition.", clip(a), partition)
		}
	}
	return nil
}

// packedPolicyPercent models STS's packed size: the session policy
// (minified), the policy ARNs and the session tags, compressed, as a
// percentage of the allowed size. Above 100 the call fails.
func packedPolicyPercent(policyDoc string, arns []string, tags []sessionTag) int {
	var plain bytes.Buffer
	if policyDoc != "" {
		if err := json.Compact(&plain, []byte(policyDoc)); err != nil {
			plain.WriteString(policyDoc)
		}
	}
	for _, a := range arns {
		plain.WriteString("\x00" + a)
	}
	sorted := append([]sessionTag(nil), tags...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].key < sorted[j].key })
	for _, t := range sorted {
		plain.WriteString("\x00" + t.key + "=" + t.value)
	}
	if plain.Len() == 0 {
		return 0
	}
	var packed bytes.Buffer
	w, _ := flate.NewWriter(&packed, flate.BestCompression) // valid level: no error
	_, _ = w.Write(plain.Bytes())
	_ = w.Close()
	return (packed.Len()*100 + packedPolicyLimit - 1) / packedPolicyLimit
}
