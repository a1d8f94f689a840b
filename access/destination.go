package access

import (
	"net/url"
	"regexp"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

// Reasons ResolveDestination reports.
const (
	ReasonDestinationNotAllowed = "destination_not_allowed"
	ReasonRegionNotInPartition  = "region_not_in_partition"
)

// serviceNameRe is a console service's short name as people write it
// ("s3", "ec2", "cloudwatch", "billing"): its console path is /NAME/home.
var serviceNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// ResolveDestination is where a console sign-in to roleARN lands, as deep
// links (/go) and the console API name it:
//
//	dest a console URL ──> itself, when it is one of the role's partition
//	dest a short name  ──> that service's console page ("s3" ──>
//	                       https://REGION.console.aws.amazon.com/s3/home?region=REGION,
//	                       the global console host without a region)
//	no dest, a region  ──> the console home in that region
//	neither            ──> "" (the grant's own destination)
//
// region, when given, must be a region of the role's partition (EINVALID
// ReasonRegionNotInPartition); a destination that is neither a console URL
// of the partition nor a short name is EINVALID ReasonDestinationNotAllowed.
func ResolveDestination(roleARN, dest, region string) (string, error) {
	arn, _ := broker.ParseARN(roleARN)
	p, known := partition.Lookup(arn.Partition)
	if !known {
		return "", errDestination(nil)
	}
	if region != "" && !p.HasRegion(region) {
		return "", broker.Errorf(broker.EINVALID, ReasonRegionNotInPartition,
			"The region %s is not a region of this role's AWS partition (%s).", region, p.ID)
	}
	switch {
	case dest != "" && serviceNameRe.MatchString(dest):
		u, err := url.Parse(p.ConsoleHome(region))
		if err != nil {
			return "", errDestination(err)
		}
		u.Path = "/" + dest + "/home"
		return u.String(), nil
	case dest != "":
		if err := p.ValidateConsoleURL(dest); err != nil {
			return "", errDestination(err)
		}
		return dest, nil
	case region != "":
		return p.ConsoleHome(region), nil
	}
	return "", nil
}

func errDestination(err error) error {
	return broker.Wrap(err, broker.EINVALID, ReasonDestinationNotAllowed,
		"The requested destination is not an AWS console page, so the broker will not send you there.")
}
