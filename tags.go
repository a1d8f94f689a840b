package broker

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// AWS session tag limits (IAM User Guide, "Passing session tags in AWS STS").
const (
	MaxSessionTags    = 50
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
	tagCharsDescribed = "letters, digits, spaces and _ . : / = + - @"
)

var tagCharsRe = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// ValidateTagKey checks a session tag key: 1..128 characters AWS allows,
// not starting with the reserved "aws:".
func ValidateTagKey(k string) error {
	switch {
	case k == "" || utf8.RuneCountInString(k) > MaxTagKeyLength:
		return fmt.Errorf("tag key must be 1..%d characters", MaxTagKeyLength)
	case !tagCharsRe.MatchString(k):
		return fmt.Errorf("tag key %q may only hold %s", k, tagCharsDescribed)
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return fmt.Errorf("tag keys starting with aws: are reserved")
	}
	return nil
}

// ValidateTagValue checks a session tag value: 0..256 characters AWS allows.
func ValidateTagValue(k, v string) error {
	switch {
	case utf8.RuneCountInString(v) > MaxTagValueLength:
		return fmt.Errorf("tag value for %q must be at most %d characters", k, MaxTagValueLength)
	case !tagCharsRe.MatchString(v):
		return fmt.Errorf("tag value for %q may only hold %s", k, tagCharsDescribed)
	}
	return nil
}

// ValidateSessionTags checks a whole tag set: at most 50 tags, keys unique
// ignoring case, and every transitive key one of the tags.
func ValidateSessionTags(tags map[string]string, transitive []string) error {
	if len(tags) > MaxSessionTags {
		return fmt.Errorf("%d session tags; AWS allows %d", len(tags), MaxSessionTags)
	}
	lower := make(map[string]bool, len(tags))
	for k, v := range tags {
		if err := ValidateTagKey(k); err != nil {
			return err
		}
		if err := ValidateTagValue(k, v); err != nil {
			return err
		}
		if lower[strings.ToLower(k)] {
			return fmt.Errorf("tag keys must be unique ignoring case (%q)", k)
		}
		lower[strings.ToLower(k)] = true
	}
	for _, k := range transitive {
		if _, ok := tags[k]; !ok {
			return fmt.Errorf("transitive tag key %q is not one of the session tags", k)
		}
	}
	return nil
}
