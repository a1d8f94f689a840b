package sts

import (
	"context"
	"fmt"
	"time"

	"github.com/broker-dev/broker"
)

const (
	minDuration = 15 * time.Minute
	maxDuration = 12 * time.Hour
	// oneHour is what every role allows (MaxSessionDuration is at least 1 h).
	oneHour = time.Hour
)

// clamp fits the requested duration to what the assertion allows. It
// returns 0 (meaning "let AWS default to 1 h") when nothing was requested
// and nothing limits it.
func clamp(requested, assertionMax time.Duration, notAfter, now time.Time) (time.Duration, []Notice, error) {
	var notices []Notice
	d := requested
	if d != 0 && d < minDuration {
		d = minDuration
	}
	if d > maxDuration {
		d = maxDuration
	}
	if assertionMax > 0 && (d == 0 && assertionMax < oneHour || d > assertionMax) {
		if d != 0 {
			notices = append(notices, Notice{Code: "duration_clamped_assertion", Message: fmt.Sprintf(
				"Your identity provider allows sessions of at most %s, so this session lasts %s instead of %s.", human(assertionMax), human(assertionMax), human(d))})
		}
		d = assertionMax
	}
	if !notAfter.IsZero() {
		left := notAfter.Sub(now).Truncate(time.Second)
		if left < minDuration {
			return 0, nil, broker.Errorf(broker.EEXPIRED, "session_ends_soon", "Your sign-in session ends in less than 15 minutes: sign in again.")
		}
		eff := d
		if eff == 0 {
			eff = oneHour
		}
		if eff > left {
			notices = append(notices, Notice{Code: "duration_clamped_assertion", Message: fmt.Sprintf(
				"Your sign-in session with your identity provider ends in %s, so this AWS session lasts %s.", human(left), human(left))})
			d = left
		}
	}
	if d != 0 && d < minDuration {
		d = minDuration
	}
	return d, notices, nil
}

func human(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case h > 0:
		return fmt.Sprintf("%d h", h)
	default:
		return fmt.Sprintf("%d min", m)
	}
}

func seconds(d time.Duration) *int32 {
	if d == 0 {
		return nil
	}
	v := int32(d / time.Second)
	return &v
}

// ReasonDurationRefused: AWS refused the requested duration (above the
// role's MaxSessionDuration) and the credential presented was the upstream
// IdP's, which the broker does not present twice. Code broker.EEXPIRED:
// sign in again; the next call for the role asks for 1 h.
const ReasonDurationRefused = "sts_duration_refused"

// roleDuration caps d at the maximum learned for role, with a notice.
func (c *Client) roleDuration(role string, d time.Duration, notices []Notice) (time.Duration, []Notice) {
	max, ok := c.roleMax.get(role, c.now())
	if !ok || d <= max {
		return d, notices
	}
	return max, append(notices, Notice{Code: "duration_clamped_role", Message: fmt.Sprintf(
		"This role allows sessions of at most %s, so this session lasts %s instead of %s.", human(max), human(max), human(d))})
}

// learnRoleMax records that role refused d: it allows 1 h (every role
// does), and that is what the broker asks for during roleMaxTTL.
func (c *Client) learnRoleMax(ctx context.Context, role string, d time.Duration) {
	c.log.InfoContext(ctx, "sts: role max session duration below request; asking for 1h", "role", role, "requested", d)
	c.roleMax.put(role, oneHour, c.now())
}

func roleClampNotice(asked time.Duration) Notice {
	return Notice{Code: "duration_clamped_role", Message: fmt.Sprintf(
		"This role allows sessions shorter than the %s asked for, so the session was shortened to 1 h.", human(asked))}
}

// durationRefused is the error for a refused duration that cannot be
// retried with the same upstream credential.
func durationRefused(err error, asked time.Duration) error {
	return broker.Wrap(err, broker.EEXPIRED, ReasonDurationRefused, fmt.Sprintf(
		"This role allows sessions shorter than the %s asked for. Sign in again: the broker will ask AWS for 1 h.", human(asked)))
}
