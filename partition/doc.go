// Package partition is the broker's one home for what it knows about AWS
// partitions: which exist (aws, aws-us-gov, aws-cn), their sign-in and
// console hosts, the SAML sign-in endpoints AWS accepts as a Recipient, the
// console federation endpoint, the default STS region, the syntax of a
// region name and which partition a region belongs to, and which URLs are
// console pages the broker may send a browser to.
//
// It imports only the standard library and no other broker package, so
// the domain types (package broker), config, the rules engine and the
// protocol packages can all ask it.
//
//	ARN "arn:aws-us-gov:…" ──> Lookup("aws-us-gov") ──> Partition
//	   Partition.SAMLEndpoint()             https://signin.amazonaws-us-gov.com/saml
//	   Partition.FederationEndpoint(region) https://[REGION.]signin.…/federation
//	   Partition.ConsoleHome(region)        https://[REGION.]console.…/console/home
//	   Partition.ValidateConsoleURL(dest)   console host or a subdomain, https only
//	   Partition.STSRegion                  where sts calls AssumeRoleWith*
//	region "eu-west-1" ──> ValidRegion (syntax) ──> Partition.HasRegion (membership)
//	SAML Recipient ──> IsSAMLEndpoint (global or regional, any partition)
//
// The local AWS stand-in (localaws) reads only the host table: it keeps
// its own region, Recipient and destination checks, because it checks the
// broker and must not share the code it checks.
package partition
