package partition

import (
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		id                                           string
		ok                                           bool
		signin, console, suffix, stsRegion, samlEndp string
	}{
		{"aws", true, "signin.aws.amazon.com", "console.aws.amazon.com", "aws.amazon.com", "us-east-1", "https://signin.aws.amazon.com/saml"},
		{"aws-us-gov", true, "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com", "amazonaws-us-gov.com", "us-gov-west-1", "https://signin.amazonaws-us-gov.com/saml"},
		{"aws-cn", true, "signin.amazonaws.cn", "console.amazonaws.cn", "amazonaws.cn", "cn-north-1", "https://signin.amazonaws.cn/saml"},
		{"aws-iso", false, "", "", "", "", ""},
		{"AWS", false, "", "", "", "", ""},
		{"", false, "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			p, ok := Lookup(tt.id)
			if ok != tt.ok || Known(tt.id) != tt.ok {
				t.Fatalf("Lookup(%q) ok = %v, Known = %v, want %v", tt.id, ok, Known(tt.id), tt.ok)
			}
			if !ok {
				if p != (Partition{}) {
					t.Errorf("Lookup(%q) = %+v for an unknown id", tt.id, p)
				}
				return
			}
			if p.ID != tt.id || p.SigninHost != tt.signin || p.ConsoleHost != tt.console || p.DomainSuffix != tt.suffix || p.STSRegion != tt.stsRegion {
				t.Errorf("Lookup(%q) = %+v", tt.id, p)
			}
			if got := p.SAMLEndpoint(); got != tt.samlEndp {
				t.Errorf("SAMLEndpoint() = %q, want %q", got, tt.samlEndp)
			}
			if !strings.HasSuffix(p.SigninHost, "."+p.DomainSuffix) && p.SigninHost != "signin."+p.DomainSuffix {
				t.Errorf("sign-in host %q is not under %q", p.SigninHost, p.DomainSuffix)
			}
			if !p.HasRegion(p.STSRegion) {
				t.Errorf("STS region %q is not a region of %s", p.STSRegion, p.ID)
			}
		})
	}
}

func TestDefaultAllIDs(t *testing.T) {
	if d := Default(); d.ID != DefaultID || DefaultID != AWS {
		t.Errorf("Default() = %q, DefaultID = %q", d.ID, DefaultID)
	}
	want := []string{AWS, AWSUSGov, AWSCN}
	if got := IDs(); !slices.Equal(got, want) {
		t.Errorf("IDs() = %v, want %v", got, want)
	}
	all := All()
	if len(all) != len(want) {
		t.Fatalf("All() has %d partitions", len(all))
	}
	for i, p := range all {
		if p.ID != want[i] {
			t.Errorf("All()[%d] = %s, want %s", i, p.ID, want[i])
		}
	}
	all[0].SigninHost = "evil.example.com"
	if Default().SigninHost != "signin.aws.amazon.com" {
		t.Error("All() hands out the table itself")
	}
	wantSAML := []string{"https://signin.aws.amazon.com/saml", "https://signin.amazonaws-us-gov.com/saml", "https://signin.amazonaws.cn/saml"}
	if got := SAMLEndpoints(); !slices.Equal(got, wantSAML) {
		t.Errorf("SAMLEndpoints() = %v, want %v", got, wantSAML)
	}
}

func TestValidRegion(t *testing.T) {
	tests := []struct {
		region string
		ok     bool
	}{
		{"us-east-1", true},
		{"us-east-2", true},
		{"eu-west-1", true},
		{"eu-central-1", true},
		{"ap-southeast-1", true},
		{"ap-northeast-2", true},
		{"sa-east-1", true},
		{"ca-central-1", true},
		{"me-south-1", true},
		{"af-south-1", true},
		{"il-central-1", true},
		{"mx-central-1", true},
		{"us-gov-west-1", true},
		{"us-gov-east-1", true},
		{"cn-north-1", true},
		{"cn-northwest-1", true},
		// ISO regions: the old console regexp refused these.
		{"us-iso-east-1", true},
		{"us-isob-east-1", true},
		{"eu-isoe-west-1", true},
		{"us-isof-south-1", true},
		{"", false},
		{"us-east", false},
		{"us-east-10", false},
		{"US-EAST-1", false},
		{"useast1", false},
		{"u-east-1", false},
		{"usa-east-1", false},
		{"us-east-1 ", false},
		{" us-east-1", false},
		{"us-east-1.evil.com", false},
		{"evil.com/x", false},
		{"us_east_1", false},
		{"us--east-1", false},
		{"us-gov-west-1a", false},
		{"us-east-1\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			if got := ValidRegion(tt.region); got != tt.ok {
				t.Errorf("ValidRegion(%q) = %v, want %v", tt.region, got, tt.ok)
			}
		})
	}
}

func TestHasRegion(t *testing.T) {
	tests := []struct {
		region string
		owner  string // "" = no partition the broker knows
	}{
		{"us-east-1", AWS},
		{"eu-west-1", AWS},
		{"ap-southeast-1", AWS},
		{"ca-central-1", AWS},
		{"us-gov-west-1", AWSUSGov},
		{"us-gov-east-1", AWSUSGov},
		{"cn-north-1", AWSCN},
		{"cn-northwest-1", AWSCN},
		{"us-iso-east-1", ""},
		{"us-isob-east-1", ""},
		{"eu-isoe-west-1", ""},
		{"", ""},
		{"evil.com/x", ""},
		{"us-east-1.evil", ""},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			for _, p := range All() {
				if got, want := p.HasRegion(tt.region), p.ID == tt.owner; got != want {
					t.Errorf("%s.HasRegion(%q) = %v, want %v", p.ID, tt.region, got, want)
				}
			}
		})
	}
}

func TestFederationEndpointAndConsoleHome(t *testing.T) {
	tests := []struct {
		partition, region, endpoint, home string
	}{
		{"aws", "", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		{"aws", "eu-west-1", "https://eu-west-1.signin.aws.amazon.com/federation", "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"},
		{"aws", "evil.com/x", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		{"aws", "eu-west-1.evil.com", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		// Another partition's region stays on the global hosts (the old
		// regexp built https://us-gov-west-1.signin.aws.amazon.com).
		{"aws", "us-gov-west-1", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		{"aws", "cn-north-1", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		{"aws", "us-iso-east-1", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		{"aws-us-gov", "us-gov-west-1", "https://signin.amazonaws-us-gov.com/federation", "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"},
		{"aws-us-gov", "", "https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/console/home"},
		{"aws-us-gov", "eu-west-1", "https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/console/home"},
		{"aws-cn", "", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home"},
		{"aws-cn", "cn-northwest-1", "https://signin.amazonaws.cn/federation", "https://cn-northwest-1.console.amazonaws.cn/console/home?region=cn-northwest-1"},
		{"aws-cn", "us-east-1", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home"},
	}
	for _, tt := range tests {
		t.Run(tt.partition+"/"+tt.region, func(t *testing.T) {
			p, ok := Lookup(tt.partition)
			if !ok {
				t.Fatalf("unknown partition %q", tt.partition)
			}
			if got := p.FederationEndpoint(tt.region); got != tt.endpoint {
				t.Errorf("FederationEndpoint(%q) = %q, want %q", tt.region, got, tt.endpoint)
			}
			if got := p.ConsoleHome(tt.region); got != tt.home {
				t.Errorf("ConsoleHome(%q) = %q, want %q", tt.region, got, tt.home)
			}
			if err := p.ValidateConsoleURL(tt.home); err != nil {
				t.Errorf("console home %q is not a valid console URL: %v", tt.home, err)
			}
		})
	}
}

func TestIsSAMLEndpoint(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://signin.aws.amazon.com/saml", true},
		{"https://signin.amazonaws-us-gov.com/saml", true},
		{"https://signin.amazonaws.cn/saml", true},
		{"https://eu-west-1.signin.aws.amazon.com/saml", true},
		{"https://us-east-2.signin.aws.amazon.com/saml", true},
		{"https://us-gov-east-1.signin.amazonaws-us-gov.com/saml", true},
		{"https://cn-northwest-1.signin.amazonaws.cn/saml", true},
		{"https://evil.example.com/saml", false},
		{"https://signin.aws.amazon.com.evil.com/saml", false},
		{"https://evil.signin.aws.amazon.com/saml", false},
		{"https://a.b.signin.aws.amazon.com/saml", false},
		{"https://.signin.aws.amazon.com/saml", false},
		{"https://us-gov-west-1.signin.aws.amazon.com/saml", false},
		{"https://eu-west-1.signin.amazonaws.cn/saml", false},
		{"https://us-iso-east-1.signin.aws.amazon.com/saml", false},
		{"http://signin.aws.amazon.com/saml", false},
		{"https://signin.aws.amazon.com:443/saml", false},
		{"https://signin.aws.amazon.com/saml?x=1", false},
		{"https://signin.aws.amazon.com/saml/", false},
		{"https://signin.aws.amazon.com/", false},
		{"https://user@signin.aws.amazon.com/saml", false},
		{"urn:amazon:webservices", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := IsSAMLEndpoint(tt.url); got != tt.ok {
				t.Errorf("IsSAMLEndpoint(%q) = %v, want %v", tt.url, got, tt.ok)
			}
		})
	}
}

// Moved from the root package's TestValidateConsoleURL, every case kept.
func TestValidateConsoleURL(t *testing.T) {
	tests := []struct {
		partition, dest string
		ok              bool
	}{
		{"aws", "https://console.aws.amazon.com/", true},
		{"aws", "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1", true},
		{"aws", "https://s3.console.aws.amazon.com/s3/home", true},
		{"aws", "https://CONSOLE.AWS.AMAZON.COM/", true},
		{"aws", "https://console.aws.amazon.com:443/", true},
		{"aws-us-gov", "https://console.amazonaws-us-gov.com/", true},
		{"aws-cn", "https://console.amazonaws.cn/", true},
		{"aws", "http://console.aws.amazon.com/", false},
		{"aws", "https://console.aws.amazon.com.evil.com/", false},
		{"aws", "https://evilconsole.aws.amazon.com/", false},
		{"aws", "https://user@console.aws.amazon.com/", false},
		{"aws", "https://console.aws.amazon.com:8443/", false},
		{"aws", "https://console.amazonaws-us-gov.com/", false},
		{"aws-cn", "https://console.aws.amazon.com/", false},
		{"aws", "https://evil.example.com/", false},
		{"aws", "javascript:alert(1)", false},
		{"aws", "//console.aws.amazon.com/", false},
		{"aws", "https://xn--80ak6aa92e.console.aws.amazon.com/", true},
		{"aws", "https://ex_ample.console.aws.amazon.com/", false},
		{"nope", "https://console.aws.amazon.com/", false},
		// Added with the move.
		{"aws", "https://console.aws.amazon.com/%zz", false},
		{"aws-us-gov", "https://us-gov-west-1.console.amazonaws-us-gov.com/ec2/home", true},
		{"aws-cn", "https://cn-north-1.console.amazonaws.cn/", true},
		{"", "https://console.aws.amazon.com/", false},
	}
	for _, tt := range tests {
		t.Run(tt.partition+" "+tt.dest, func(t *testing.T) {
			err := ValidateConsoleURL(tt.partition, tt.dest)
			if (err == nil) != tt.ok {
				t.Errorf("ValidateConsoleURL(%q, %q) = %v, want ok=%v", tt.partition, tt.dest, err, tt.ok)
			}
			if p, known := Lookup(tt.partition); known {
				if err2 := p.ValidateConsoleURL(tt.dest); (err2 == nil) != (err == nil) {
					t.Errorf("%s.ValidateConsoleURL(%q) = %v, ValidateConsoleURL = %v", p.ID, tt.dest, err2, err)
				}
			}
		})
	}
}
