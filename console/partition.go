package console

import (
	"net/url"
	"regexp"

	"github.com/broker-dev/broker"
)

var regionRe = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)

// ValidateDestination allows only console URLs of the partition (https,
// the console host or one of its subdomains). It returns a *broker.Error
// with code EINVALID and reason destination_not_allowed otherwise.
func ValidateDestination(partition, destination string) error {
	if err := broker.ValidateConsoleURL(partition, destination); err != nil {
		return broker.Wrap(err, broker.EINVALID, "destination_not_allowed",
			"The requested destination is not an AWS console page, so the broker will not send you there.")
	}
	return nil
}

// SigninEndpoint returns the federation endpoint of the partition,
// regional when region is set (aws partition only: the regional sign-in
// hosts are REGION.signin.aws.amazon.com).
func SigninEndpoint(partition, region string) (string, error) {
	p, ok := broker.LookupPartition(partition)
	if !ok {
		return "", broker.Errorf(broker.EINVALID, "partition_unknown", "Unknown AWS partition %q.", partition)
	}
	host := p.SigninHost
	if region != "" && partition == "aws" && regionRe.MatchString(region) {
		host = region + "." + host
	}
	return "https://" + host + "/federation", nil
}

// DefaultDestination is the console home, in region when it is set.
func DefaultDestination(partition, region string) string {
	p, ok := broker.LookupPartition(partition)
	if !ok {
		return ""
	}
	if region != "" && regionRe.MatchString(region) {
		return "https://" + region + "." + p.ConsoleHost + "/console/home?region=" + url.QueryEscape(region)
	}
	return "https://" + p.ConsoleHost + "/console/home"
}
