package ruleset

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// TestShortLinksSaveEditDelete: a valid link is saved (trimmed, stamped
// with the actor) and audited as shortlink_saved, saving it again edits
// it, deleting it once audits shortlink_deleted and a second delete or an
// unknown name is ENOTFOUND.
func TestShortLinksSaveEditDelete(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "b.db"))
	a := adminOn(t, db)
	who := Actor{ID: "okta/alice", RequestID: "r1"}

	saved, err := a.SaveShortLink(ctx, who, ShortLink{Name: " prod-admin ", Account: "production", Role: "Admin",
		Destination: "https://eu-west-1.console.aws.amazon.com/s3/home", Region: "eu-west-1", Via: "saml", Description: "Prod admin"})
	if err != nil {
		t.Fatal(err)
	}
	if saved.Name != "prod-admin" || saved.UpdatedBy != "okta/alice" || saved.UpdatedAt.IsZero() {
		t.Fatalf("saved %+v", saved)
	}
	got, err := a.ShortLink(ctx, "prod-admin")
	if err != nil || got != saved {
		t.Fatalf("read back %+v, %v; want %+v", got, err, saved)
	}
	if _, err := a.SaveShortLink(ctx, Actor{ID: "okta/bob"}, ShortLink{Name: "prod-admin", Role: "arn:aws:iam::444455556666:role/Admin"}); err != nil {
		t.Fatal(err)
	}
	all, err := a.ShortLinks(ctx)
	if err != nil || len(all) != 1 || all[0].Account != "" || all[0].Role != "arn:aws:iam::444455556666:role/Admin" || all[0].UpdatedBy != "okta/bob" {
		t.Fatalf("after edit %+v, %v", all, err)
	}
	evs, _ := db.ListAudit(ctx, store.AuditFilter{Event: EventShortLinkSaved})
	if len(evs) != 2 || evs[1].Subject != "okta/alice" || evs[1].RequestID != "r1" || evs[1].Details["short_link"] != "prod-admin" {
		t.Fatalf("shortlink_saved events %+v", evs)
	}

	if err := a.DeleteShortLink(ctx, who, "prod-admin"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteShortLink(ctx, who, "prod-admin"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := a.ShortLink(ctx, "prod-admin"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Fatalf("deleted link: %v", err)
	}
	if _, err := a.ShortLink(ctx, "../etc"); broker.ErrorCode(err) != broker.ENOTFOUND {
		t.Fatalf("malformed name: %v", err)
	}
	if evs, _ := db.ListAudit(ctx, store.AuditFilter{Event: EventShortLinkDeleted}); len(evs) != 1 || evs[0].Details["short_link"] != "prod-admin" {
		t.Fatalf("shortlink_deleted events %+v", evs)
	}
}

// TestShortLinkValidation: each malformed link is refused with its
// reason and nothing is saved or audited.
func TestShortLinkValidation(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "b.db"))
	a := adminOn(t, db)
	ok := ShortLink{Name: "ok", Account: "sandbox", Role: "Dev"}
	with := func(f func(*ShortLink)) ShortLink { l := ok; f(&l); return l }
	for _, tc := range []struct {
		name   string
		link   ShortLink
		reason string
	}{
		{"upper-case name", with(func(l *ShortLink) { l.Name = "Prod" }), ReasonShortLinkName},
		{"empty name", with(func(l *ShortLink) { l.Name = "" }), ReasonShortLinkName},
		{"name with a slash", with(func(l *ShortLink) { l.Name = "a/b" }), ReasonShortLinkName},
		{"name too long", with(func(l *ShortLink) { l.Name = strings.Repeat("a", 65) }), ReasonShortLinkName},
		{"no role", with(func(l *ShortLink) { l.Role = "" }), ReasonShortLinkIncomplete},
		{"no account, role not an ARN", with(func(l *ShortLink) { l.Account = "" }), ReasonShortLinkIncomplete},
		{"bad ARN", with(func(l *ShortLink) { l.Account, l.Role = "", "arn:aws:iam" }), ReasonShortLinkARN},
		{"unknown partition", with(func(l *ShortLink) { l.Account, l.Role = "", "arn:aws-mars:iam::111122223333:role/Dev" }), ReasonShortLinkARN},
		{"via", with(func(l *ShortLink) { l.Via = "oauth" }), ReasonShortLinkVia},
		{"region", with(func(l *ShortLink) { l.Region = "moon-1" }), ReasonShortLinkRegion},
		{"region of another partition than the ARN's", with(func(l *ShortLink) {
			l.Account, l.Role, l.Region = "", "arn:aws:iam::111122223333:role/Dev", "cn-north-1"
		}), ReasonShortLinkRegion},
		{"destination elsewhere", with(func(l *ShortLink) { l.Destination = "https://evil.example/console.aws.amazon.com" }), ReasonShortLinkDestination},
		{"destination over http", with(func(l *ShortLink) { l.Destination = "http://console.aws.amazon.com/" }), ReasonShortLinkDestination},
		{"role too long", with(func(l *ShortLink) { l.Role = strings.Repeat("r", 301) }), ReasonShortLinkTooLong},
		{"encoded key too long", with(func(l *ShortLink) { l.Role = strings.Repeat("/", 250) }), ReasonShortLinkTooLong},
		{"description with a newline", with(func(l *ShortLink) { l.Description = "a\nb" }), ReasonShortLinkDescription},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.SaveShortLink(ctx, Actor{ID: "okta/alice"}, tc.link)
			if broker.ErrorCode(err) != broker.EINVALID || broker.ErrorReason(err) != tc.reason {
				t.Fatalf("got %v (%s), want EINVALID %s", err, broker.ErrorReason(err), tc.reason)
			}
			if broker.ErrorMessage(err) == "" {
				t.Error("no message for the admin")
			}
		})
	}
	if all, _ := a.ShortLinks(ctx); len(all) != 0 {
		t.Fatalf("refused links were saved: %+v", all)
	}
	if evs, _ := db.ListAudit(ctx, store.AuditFilter{Event: EventShortLinkSaved}); len(evs) != 0 {
		t.Fatalf("refused links were audited: %+v", evs)
	}
	// The valid base link, a partition's own console and region pass.
	for _, l := range []ShortLink{ok, with(func(l *ShortLink) {
		l.Account, l.Role, l.Region, l.Destination = "", "arn:aws-cn:iam::111122223333:role/Dev", "cn-north-1", "https://console.amazonaws.cn/ec2/home"
	})} {
		if _, err := a.SaveShortLink(ctx, Actor{ID: "okta/alice"}, l); err != nil {
			t.Errorf("%+v refused: %v", l, err)
		}
	}
}
