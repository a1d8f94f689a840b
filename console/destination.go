package console

import (
	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
)

// ValidateDestination allows only console URLs of the partition (https,
// the console host or one of its subdomains: partition.ValidateConsoleURL).
// It returns a *broker.Error with code EINVALID and reason
// destination_not_allowed otherwise.
func ValidateDestination(partitionID, destination string) error {
	if err := partition.ValidateConsoleURL(partitionID, destination); err != nil {
		return broker.Wrap(err, broker.EINVALID, "destination_not_allowed",
			"The requested destination is not an AWS console page, so the broker will not send you there.")
	}
	return nil
}

// SigninEndpoint returns the federation endpoint of the partition,
// regional when region is one of the partition's and the partition has
// regional sign-in hosts (partition.Partition.FederationEndpoint).
func SigninEndpoint(partitionID, region string) (string, error) {
	p, ok := partition.Lookup(partitionID)
	if !ok {
		return "", broker.Errorf(broker.EINVALID, "partition_unknown", "Unknown AWS partition %q.", partitionID)
	}
	return p.FederationEndpoint(region), nil
}

// DefaultDestination is the console home, in region when it is one of the
// partition's ("" for an unknown partition).
func DefaultDestination(partitionID, region string) string {
	p, ok := partition.Lookup(partitionID)
	if !ok {
		return ""
	}
	return p.ConsoleHome(region)
}
