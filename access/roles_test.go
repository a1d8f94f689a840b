package access

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// ListRoles orders accounts by label (case-insensitive), keeps the rules'
// order within one, and names a role reached twice with via the second
// time, so that SelectGrant picks exactly that grant back.
func TestListRoles(t *testing.T) {
	g := func(acct, label, role string, via broker.Downstream) broker.Grant {
		return broker.Grant{AccountID: acct, AccountLabel: label, RoleARN: "arn:aws:iam::" + acct + ":role/" + role, Downstream: via, ProviderARN: string(via)}
	}
	d := mapping.Decision{Grants: []broker.Grant{
		g("222222222222", "zeta", "Ops", broker.DownstreamSAML),
		g("111111111111", "", "Dev", broker.DownstreamSAML),
		g("222222222222", "zeta", "ops/Admin", broker.DownstreamSAML),
		g("222222222222", "zeta", "Ops", broker.DownstreamWebIdentity),
		g("333333333333", "Alpha", "Dev", broker.DownstreamSAML),
	}}
	accounts := []mapping.Account{{ID: "222222222222", Alias: "prod"}}
	got := ListRoles(d, accounts)
	want := []struct {
		acct, label, alias, name string
		ref                      RoleRef
	}{
		{"111111111111", "111111111111", "", "Dev", RoleRef{Account: "111111111111", Role: "Dev"}},
		{"333333333333", "Alpha", "", "Dev", RoleRef{Account: "333333333333", Role: "Dev"}},
		{"222222222222", "zeta", "prod", "Ops", RoleRef{Account: "prod", Role: "Ops"}},
		{"222222222222", "zeta", "prod", "Admin", RoleRef{Account: "prod", Role: "Admin"}},
		{"222222222222", "zeta", "prod", "Ops", RoleRef{Account: "prod", Role: "Ops", Via: broker.DownstreamWebIdentity}},
	}
	if len(got) != len(want) {
		t.Fatalf("ListRoles = %+v", got)
	}
	for i, w := range want {
		r := got[i]
		if r.Grant.AccountID != w.acct || r.AccountLabel != w.label || r.AccountAlias != w.alias || r.RoleName != w.name || r.Ref != w.ref {
			t.Errorf("role %d = %+v, want %+v", i, r, w)
		}
		back, err := SelectGrant(d, accounts, r.Ref)
		if err != nil || back.Key() != r.Grant.Key() {
			t.Errorf("role %d: its Ref %+v selects %v (%v), not itself", i, r.Ref, back.Key(), err)
		}
	}
}

func TestResolveDestination(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/Dev"
	cases := []struct {
		name, roleARN, dest, region, want, reason string
	}{
		{"grant's own", role, "", "", "", ""},
		{"console URL", role, "https://console.aws.amazon.com/ec2/home", "", "https://console.aws.amazon.com/ec2/home", ""},
		{"home in region", role, "", "eu-west-1", "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1", ""},
		{"short name", role, "s3", "", "https://console.aws.amazon.com/s3/home", ""},
		{"short name in region", role, "cloudwatch", "us-east-2", "https://us-east-2.console.aws.amazon.com/cloudwatch/home?region=us-east-2", ""},
		{"short name, gov", "arn:aws-us-gov:iam::111122223333:role/Dev", "ec2", "us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1", ""},
		{"other site", role, "https://evil.example.com/", "", "", ReasonDestinationNotAllowed},
		{"look-alike", role, "https://console.aws.amazon.com.evil.example/", "", "", ReasonDestinationNotAllowed},
		{"not a name", role, "s3/../../x", "", "", ReasonDestinationNotAllowed},
		{"upper case", role, "S3", "", "", ReasonDestinationNotAllowed},
		{"other partition's console", role, "https://console.amazonaws.cn/s3", "", "", ReasonDestinationNotAllowed},
		{"other partition's region", role, "", "cn-north-1", "", ReasonRegionNotInPartition},
		{"unknown partition", "arn:aws-iso:iam::111122223333:role/Dev", "s3", "", "", ReasonDestinationNotAllowed},
	}
	for _, tc := range cases {
		got, err := ResolveDestination(tc.roleARN, tc.dest, tc.region)
		if got != tc.want || broker.ErrorReason(err) != tc.reason || (err != nil && broker.ErrorCode(err) != broker.EINVALID) {
			t.Errorf("%s: %q, %v; want %q, reason %q", tc.name, got, err, tc.want, tc.reason)
		}
	}
}

// revoker is an AppTokenRevoker that fails with err or counts n.
type revoker struct {
	n     int64
	err   error
	calls []string
}

func (r *revoker) RevokePersonAppTokens(_ context.Context, provider, subject string) (int64, error) {
	r.calls = append(r.calls, provider+":"+subject)
	return r.n, r.err
}

// EndAll revokes the person's app tokens before ending their sessions,
// counts them in the audit record, and ends nothing when revoking fails.
func TestEndAllRevokesAppTokens(t *testing.T) {
	ctx := context.Background()
	now := t0
	rv := &revoker{err: errors.New("db down")}
	s, _, au := newSessionsWith(t, &now, func(c *SessionsConfig) { c.AppTokens = rv; c.Lifetime = 8 * time.Hour })
	sid := start(t, s, NewSAMLSession(samlIdentity("alice", "_i", time.Time{}), nil), Meta{})
	admin := broker.Actor{ID: "admin:bob"}

	if n, err := s.EndAll(ctx, "okta", "alice", admin, ""); err == nil || n != 0 {
		t.Fatalf("EndAll with the revocation failing = %d, %v; want the error", n, err)
	}
	wantLoads(t, s, sid, true)
	if len(events(au, "sessions_ended")) != 0 {
		t.Error("a failed EndAll was audited as done")
	}

	rv.err, rv.n = nil, 3
	if n, err := s.EndAll(ctx, "okta", "alice", admin, ""); err != nil || n != 1 {
		t.Fatalf("EndAll = %d, %v; want 1", n, err)
	}
	wantLoads(t, s, sid, false)
	if len(rv.calls) != 2 || rv.calls[1] != "okta:alice" {
		t.Errorf("revoked for %v", rv.calls)
	}
	evs := events(au, "sessions_ended")
	if len(evs) != 1 || evs[0].Details["app_tokens"] != "3" || evs[0].Details["count"] != "1" {
		t.Errorf("sessions_ended %+v, want app_tokens 3", evs)
	}
}
