package saml

import (
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// TestClockSkewFollowsConfig: the configured clock_skew decides every time
// check, the IssueInstant's age included (crewjam alone refuses anything
// issued more than 90 s before its clock), in both modes and without
// touching crewjam's package globals.
func TestClockSkewFollowsConfig(t *testing.T) {
	delay, skew := saml.MaxIssueDelay, saml.MaxClockSkew
	cases := []struct {
		name   string
		idp    time.Duration // the IdP's clock minus ours
		skew   time.Duration
		code   string
		reason string
	}{
		{"IdP 150 s behind, skew 180 s", -150 * time.Second, 180 * time.Second, "", ""},
		{"IdP 150 s behind, skew 60 s", -150 * time.Second, 60 * time.Second, broker.EEXPIRED, "response_too_old"},
		{"IdP 179 s behind, skew 180 s", -179 * time.Second, 180 * time.Second, "", ""},
		{"IdP 181 s behind, skew 180 s", -181 * time.Second, 180 * time.Second, broker.EEXPIRED, "response_too_old"},
		{"IdP 91 s behind, default skew", -91 * time.Second, 0, broker.EEXPIRED, "response_too_old"},
		{"IdP 89 s behind, default skew", -89 * time.Second, 0, "", ""},
		{"IdP 150 s ahead, skew 180 s", 150 * time.Second, 180 * time.Second, "", ""},
		// Conditions NotBefore is a minute before IssueInstant in these
		// responses: 90 s ahead of our clock, beyond a 60 s skew.
		{"IdP 150 s ahead, skew 60 s", 150 * time.Second, 60 * time.Second, broker.EUNAUTHORIZED, "not_yet_valid"},
		{"IdP 100 s ahead, skew 60 s", 100 * time.Second, 60 * time.Second, broker.EUNAUTHORIZED, "clock_skew"},
	}
	p := newTestIdP(t, t0)
	for _, m := range modes {
		for _, tc := range cases {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				sp, _ := newSP(t, p, func(c *Config) {
					if m.cfg != nil {
						m.cfg(c)
					}
					c.ClockSkew = tc.skew
				})
				r := m.resp
				r.issued = t0.Add(tc.idp)
				res, err := parse(t, sp, p.build(t, r), "req-1")
				if tc.reason == "" {
					if err != nil || res.Identity.Subject != "alice@example.com" {
						t.Fatalf("refused: %v", err)
					}
				} else if res != nil || broker.ErrorCode(err) != tc.code || broker.ErrorReason(err) != tc.reason {
					t.Fatalf("accepted=%t, %v; want %s/%s", res != nil, err, tc.code, tc.reason)
				}
				if saml.MaxIssueDelay != delay || saml.MaxClockSkew != skew {
					t.Fatal("crewjam's package globals changed")
				}
			})
		}
	}
}

func TestLibraryNow(t *testing.T) {
	now := t0
	old, fresh := now.Add(-150*time.Second), now.Add(-10*time.Second)
	for _, tc := range []struct {
		skew   time.Duration
		issued []time.Time
		want   time.Time
	}{
		{90 * time.Second, []time.Time{old}, now},           // crewjam's window is ours
		{60 * time.Second, []time.Time{old}, now},           // ours is narrower: checkIssued refuses
		{180 * time.Second, []time.Time{fresh, fresh}, now}, // nothing old: crewjam's clock is ours
		{180 * time.Second, []time.Time{fresh, old}, now.Add(-90 * time.Second)},
		{180 * time.Second, []time.Time{{}, old}, now.Add(-90 * time.Second)},
	} {
		if got := libraryNow(now, tc.skew, tc.issued...); !got.Equal(tc.want) {
			t.Errorf("libraryNow(skew %s, %v) = %s, want %s", tc.skew, tc.issued, got, tc.want)
		}
	}
}
