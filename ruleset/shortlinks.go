package ruleset

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/partition"
	"github.com/broker-dev/broker/store"
)

// Audit events of short link changes.
const (
	EventShortLinkSaved   = "shortlink_saved"
	EventShortLinkDeleted = "shortlink_deleted"
)

// Reasons a short link is refused (broker.ErrorReason).
const (
	ReasonShortLinkName        = "short_link_name_invalid"
	ReasonShortLinkIncomplete  = "short_link_incomplete"
	ReasonShortLinkTooLong     = "short_link_too_long"
	ReasonShortLinkARN         = "short_link_arn_invalid"
	ReasonShortLinkVia         = "short_link_via_unknown"
	ReasonShortLinkRegion      = "short_link_region_unknown"
	ReasonShortLinkDestination = "short_link_destination_invalid"
	ReasonShortLinkDescription = "short_link_description_invalid"
)

// ShortLink is an admin-defined short link /go/NAME: a name for the
// parameters of a /go deep link. Following it is exactly following
// /go?account=…&role=…[&destination=…][&region=…][&via=…]: the rules
// decide then, for the person signed in, which grant it means (a short
// link grants nothing by itself).
type ShortLink struct {
	Name        string // [a-z0-9-]{1,64}
	Account     string // account id, alias or label; may be empty when Role is an ARN
	Role        string // role name, path/name, label or ARN
	Destination string // a console URL of some partition, or ""
	Region      string // a region of some partition, or ""
	Via         string // "", "saml" or "web-identity"
	Description string // what the link is for, shown to admins
	UpdatedBy   string
	UpdatedAt   time.Time
}

// Bounds of a short link's parts: those of a /go link (web/portal), so a
// saved link always resolves as one.
const (
	maxLinkAccount     = 100
	maxLinkRole        = 300
	maxLinkDestination = 2000
	maxLinkDescription = 200
	// maxLinkKey is the /go link's pseudo grant key ("go:" + its query
	// without destination) the sign-in carries: at most 600 bytes.
	maxLinkKey = 600
)

var shortLinkName = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// ValidShortLinkName reports whether name is a short link's name:
// 1 to 64 lower-case letters, digits and dashes.
func ValidShortLinkName(name string) bool { return shortLinkName.MatchString(name) }

// ShortLinks returns every short link, by name.
func (a *Admin) ShortLinks(ctx context.Context) ([]ShortLink, error) {
	ls, err := a.st.ShortLinks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ShortLink, 0, len(ls))
	for _, l := range ls {
		out = append(out, fromStoredShortLink(l))
	}
	return out, nil
}

// ShortLink returns the short link name: ENOTFOUND (short_link_not_found)
// when there is none, or when name is not a short link's name at all.
func (a *Admin) ShortLink(ctx context.Context, name string) (ShortLink, error) {
	if !ValidShortLinkName(name) {
		return ShortLink{}, broker.Errorf(broker.ENOTFOUND, "short_link_not_found", "There is no short link named %.64q.", name)
	}
	l, err := a.st.ShortLink(ctx, name)
	if err != nil {
		return ShortLink{}, err
	}
	return fromStoredShortLink(*l), nil
}

// SaveShortLink creates or replaces the short link l.Name and returns it
// as saved. It is refused with EINVALID (the Reason… constants) when the
// name is not [a-z0-9-]{1,64}, the link names no role (or a role without
// an account that is not an ARN), a part is too long, via is not saml or
// web-identity, the region is not a region of any partition the broker
// serves, or the destination is not a console URL of one (of the ARN's
// partition, when the role is an ARN). Audited as shortlink_saved.
func (a *Admin) SaveShortLink(ctx context.Context, who Actor, l ShortLink) (ShortLink, error) {
	l = trimShortLink(l)
	if err := checkShortLink(l); err != nil {
		return ShortLink{}, a.refused(ctx, who, "save short link", "", err)
	}
	sl := toStoredShortLink(l)
	if err := a.st.PutShortLink(ctx, &sl, who.ID); err != nil {
		return ShortLink{}, a.refused(ctx, who, "save short link", "", err)
	}
	a.shortLinkDone(ctx, who, EventShortLinkSaved, l.Name, "short link "+l.Name+" → account "+l.Account+" role "+l.Role)
	return fromStoredShortLink(sl), nil
}

// DeleteShortLink removes the short link name; ENOTFOUND
// (short_link_not_found) when there is none. Audited as shortlink_deleted.
func (a *Admin) DeleteShortLink(ctx context.Context, who Actor, name string) error {
	if !ValidShortLinkName(name) {
		return broker.Errorf(broker.ENOTFOUND, "short_link_not_found", "There is no short link named %.64q.", name)
	}
	if err := a.st.DeleteShortLink(ctx, name); err != nil {
		return a.refused(ctx, who, "delete short link", "", err)
	}
	a.shortLinkDone(ctx, who, EventShortLinkDeleted, name, "short link "+name+" deleted")
	return nil
}

// shortLinkDone audits and logs a saved change. Short links are not part
// of the compiled rules: nothing to reload.
func (a *Admin) shortLinkDone(ctx context.Context, who Actor, event, name, msg string) {
	ev := &store.AuditEvent{
		RequestID: who.RequestID, Event: event, Result: store.ResultSuccess, Message: msg,
		Subject: who.ID, RemoteAddr: who.RemoteAddr, UserAgent: who.UserAgent,
		Details: map[string]string{"short_link": name},
	}
	if err := a.st.AppendAudit(ctx, ev); err != nil {
		a.log.ErrorContext(ctx, "audit write failed", "event", event, "subject", who.ID, "err", err)
	}
	a.log.InfoContext(ctx, "short links changed", "request_id", who.RequestID, "event", event, "short_link", name, "actor", who.ID)
}

func trimShortLink(l ShortLink) ShortLink {
	l.Name = strings.TrimSpace(l.Name)
	l.Account, l.Role = strings.TrimSpace(l.Account), strings.TrimSpace(l.Role)
	l.Destination, l.Region = strings.TrimSpace(l.Destination), strings.TrimSpace(l.Region)
	l.Via, l.Description = strings.TrimSpace(l.Via), strings.TrimSpace(l.Description)
	return l
}

// checkShortLink is a /go link's checks (web/portal goLinkOf), done when
// the link is saved rather than when someone follows it.
func checkShortLink(l ShortLink) error {
	isARN := strings.HasPrefix(l.Role, "arn:")
	switch {
	case !ValidShortLinkName(l.Name):
		return shortLinkInvalid(ReasonShortLinkName, "A short link's name is 1 to 64 lower-case letters, digits and dashes (like prod-admin).")
	case l.Role == "" || (l.Account == "" && !isARN):
		return shortLinkInvalid(ReasonShortLinkIncomplete, "Give the role (its name, or its ARN) and, unless the role is an ARN, the account (its ID, alias or label).")
	case len(l.Account) > maxLinkAccount || len(l.Role) > maxLinkRole || len(l.Destination) > maxLinkDestination:
		return shortLinkInvalid(ReasonShortLinkTooLong, "The account, role or destination is too long for a link.")
	case len(l.Description) > maxLinkDescription || strings.IndexFunc(l.Description, unicode.IsControl) >= 0:
		return shortLinkInvalid(ReasonShortLinkDescription, "The description is one line of at most 200 bytes.")
	}
	switch broker.Downstream(l.Via) {
	case "", broker.DownstreamSAML, broker.DownstreamWebIdentity:
	default:
		return shortLinkInvalid(ReasonShortLinkVia, "Via is empty (the first grant of the role), saml or web-identity.")
	}
	parts := partition.All()
	if isARN {
		arn, err := broker.ParseARN(l.Role)
		p, known := partition.Lookup(arn.Partition)
		if err != nil || !known {
			return shortLinkInvalid(ReasonShortLinkARN, "The role looks like an ARN but is not a role ARN of a partition the broker serves (arn:aws:iam::ACCOUNT:role/NAME).")
		}
		parts = []partition.Partition{p}
	}
	if l.Region != "" && !anyPartition(parts, func(p partition.Partition) bool { return p.HasRegion(l.Region) }) {
		return shortLinkInvalid(ReasonShortLinkRegion, "The region is not an AWS region name (like eu-west-1) of the role's partition.")
	}
	if l.Destination != "" && !anyPartition(parts, func(p partition.Partition) bool { return p.ValidateConsoleURL(l.Destination) == nil }) {
		return shortLinkInvalid(ReasonShortLinkDestination, "The destination is not an AWS console page (https://console.aws.amazon.com/… or the console of the role's partition).")
	}
	if len("go:"+goQuery(l).Encode()) > maxLinkKey {
		return shortLinkInvalid(ReasonShortLinkTooLong, "The account and role are too long for a link once encoded.")
	}
	return nil
}

// goQuery is the /go link's query the short link stands for, without the
// destination.
func goQuery(l ShortLink) url.Values {
	q := url.Values{}
	if l.Account != "" {
		q.Set("account", l.Account)
	}
	q.Set("role", l.Role)
	if l.Via != "" {
		q.Set("via", l.Via)
	}
	if l.Region != "" {
		q.Set("region", l.Region)
	}
	return q
}

func anyPartition(ps []partition.Partition, ok func(partition.Partition) bool) bool {
	for _, p := range ps {
		if ok(p) {
			return true
		}
	}
	return false
}

func shortLinkInvalid(reason, msg string) error {
	return broker.Errorf(broker.EINVALID, reason, "%s", msg)
}

func toStoredShortLink(l ShortLink) store.ShortLink {
	return store.ShortLink{Name: l.Name, Account: l.Account, Role: l.Role, Destination: l.Destination, Region: l.Region,
		Via: l.Via, Description: l.Description}
}

func fromStoredShortLink(l store.ShortLink) ShortLink {
	return ShortLink{Name: l.Name, Account: l.Account, Role: l.Role, Destination: l.Destination, Region: l.Region,
		Via: l.Via, Description: l.Description, UpdatedBy: l.UpdatedBy, UpdatedAt: l.UpdatedAt}
}
