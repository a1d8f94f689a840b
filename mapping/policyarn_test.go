package mapping

import "testing"

func TestIsPolicyARN(t *testing.T) {
	tests := []struct {
		arn string
		ok  bool
	}{
		{"arn:aws:iam::aws:policy/ReadOnlyAccess", true},
		{"arn:aws:iam::123456789012:policy/team/Boundary", true},
		{"arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess", true},
		{"arn:aws-cn:iam::123456789012:policy/P", true},
		{"arn:aws-iso:iam::aws:policy/ReadOnlyAccess", false},
		{"arn:aws-xx:iam::aws:policy/P", false},
		{"arn::iam::aws:policy/P", false},
		{"arn:aws:s3:::b", false},
		{"arn:aws:iam::12345:policy/P", false},
		{"arn:aws:iam::aws:role/P", false},
		{"arn:aws:iam::aws:policy/", false},
		{"arn:aws:iam::aws:policy/a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			if got := isPolicyARN(tt.arn); got != tt.ok {
				t.Errorf("isPolicyARN(%q) = %v, want %v", tt.arn, got, tt.ok)
			}
		})
	}
}
