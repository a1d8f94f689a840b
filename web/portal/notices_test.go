package portal

import (
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/sts"
)

// Each notice names the role it is about; a role's clamp says what the
// person got and what the rule asked.
func TestNoticesNameTheRole(t *testing.T) {
	g := broker.Grant{RoleARN: "arn:aws:iam::111122223333:role/Admin", AccountID: "111122223333", AccountLabel: "Sandbox",
		Label: "Administrator", CredentialDuration: 8 * time.Hour}
	out := &access.Outcome{Grant: g, Notices: []sts.Notice{
		{Code: "duration_clamped_role", Message: "This role allows sessions shorter than the 8 h asked for, so the session was shortened to 1 h."},
		{Code: "duration_clamped_assertion", Message: "Your identity provider allows sessions of at most 30 min, so this session lasts 30 min instead of 8 h."},
	}}
	got := noticeTexts(out)
	want := []string{
		"Administrator in Sandbox: AWS allows this role less than the 8 h the rule asks for, so the session is 1 h (an administrator can raise the role's maximum session duration in IAM).",
		"Administrator in Sandbox: Your identity provider allows sessions of at most 30 min, so this session lasts 30 min instead of 8 h.",
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("notices\n got %q\nwant %q", got, want)
	}
	// No label, no account label: the role's name and the account id.
	g.Label, g.AccountLabel = "", ""
	if got := roleInAccount(g); got != "Admin in 111122223333" {
		t.Errorf("roleInAccount = %q", got)
	}
}
