package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/partition"
	"github.com/broker-dev/broker/web"
)

// Deep links people can write and read:
//
//	GET /go?account=ID|ALIAS|LABEL&role=NAME|ARN[&via=saml|web-identity][&region=R][&destination=URL]
//
// A /go link names a role in words; the rules decide, for the person
// signed in now, which of their grants it means (the portal's first for
// that role, or the one reached through via). From there it is /open:
// the same confirmation rules, the same sign-in first. Signed out, the
// link travels through the sign-in as a pseudo grant key (goKeyPrefix +
// the link's query) in the places /open's grant key goes (sign-in page,
// login route, pending request, intent mark), and signIn resolves it with
// the new session's roles.

// goKeyPrefix starts the pseudo grant key of a /go link. Real keys start
// with the role ARN ("arn:"), so the two never meet.
const goKeyPrefix = "go:"

// Bounds of a /go link's parts. A role name is at most 64 bytes in IAM
// and real paths are short; the pseudo key must also fit where a grant key
// goes (600 bytes: the sign-in page and login routes drop longer ones).
const (
	maxGoAccount = 100
	maxGoRole    = 300
	maxGrantKey  = 600
)

// goLink is what a /go link names.
type goLink struct {
	Account string // account id, alias or label; may be empty when Role is an ARN
	Role    string // role name, path/name, label or ARN
	Via     broker.Downstream
	Region  string
}

// query is the link's parameters (destination apart).
func (l goLink) query() url.Values {
	q := url.Values{}
	if l.Account != "" {
		q.Set("account", l.Account)
	}
	q.Set("role", l.Role)
	if l.Via != "" {
		q.Set("via", string(l.Via))
	}
	if l.Region != "" {
		q.Set("region", l.Region)
	}
	return q
}

// key is the pseudo grant key that carries the link through sign-in.
func (l goLink) key() string { return goKeyPrefix + l.query().Encode() }

// parseGoKey reads a pseudo grant key back; ok is false for a real key.
func parseGoKey(key string) (goLink, bool) {
	raw, ok := strings.CutPrefix(key, goKeyPrefix)
	if !ok {
		return goLink{}, false
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return goLink{}, false
	}
	l, err := goLinkOf(q)
	return l, err == nil
}

// goLinkOf reads and checks a link's parameters: what can be known wrong
// before anyone signs in is a 400 here.
func goLinkOf(q url.Values) (goLink, error) {
	l := goLink{
		Account: strings.TrimSpace(q.Get("account")), Role: strings.TrimSpace(q.Get("role")),
		Via: broker.Downstream(q.Get("via")), Region: q.Get("region"),
	}
	if len(l.Account) > maxGoAccount || len(l.Role) > maxGoRole {
		return goLink{}, errGoTooLong
	}
	if l.Role == "" || (l.Account == "" && !isARN(l.Role)) {
		return goLink{}, errGoIncomplete
	}
	if isARN(l.Role) {
		if _, err := broker.ParseARN(l.Role); err != nil {
			return goLink{}, errGoARN
		}
	}
	switch l.Via {
	case "", broker.DownstreamSAML, broker.DownstreamWebIdentity:
	default:
		return goLink{}, errGoVia
	}
	if l.Region != "" && !knownRegion(l.Region) {
		return goLink{}, errGoRegion
	}
	if len(l.key()) > maxGrantKey {
		return goLink{}, errGoTooLong
	}
	return l, nil
}

func isARN(s string) bool { return strings.HasPrefix(s, "arn:") }

// knownRegion says whether region is a region name of a partition the
// broker serves.
func knownRegion(region string) bool {
	for _, p := range partition.All() {
		if p.HasRegion(region) {
			return true
		}
	}
	return false
}

// anyConsoleURL says whether dest is a console URL of some partition; the
// role's own partition is checked once the role is known.
func anyConsoleURL(dest string) bool {
	for _, p := range partition.All() {
		if p.ValidateConsoleURL(dest) == nil {
			return true
		}
	}
	return false
}

var (
	errGoIncomplete = broker.Errorf(broker.EINVALID, "go_link_incomplete",
		"This link does not name an AWS account and a role (/go?account=ACCOUNT&role=ROLE). Ask whoever sent it for the whole link, or pick the role on the portal.")
	errGoTooLong = broker.Errorf(broker.EINVALID, "go_link_too_long",
		"This link is too long to name an AWS account and a role. Ask whoever sent it for the link the portal's Copy link gives, or pick the role on the portal.")
	errGoARN = broker.Errorf(broker.EINVALID, "go_link_arn_invalid",
		"This link's role= looks like an ARN but is not one (arn:aws:iam::ACCOUNT:role/NAME). Ask whoever sent it for a corrected link, or pick the role on the portal.")
	errGoVia = broker.Errorf(broker.EINVALID, "go_link_via_unknown",
		"This link's via= must be saml or web-identity. Ask whoever sent it for a corrected link, or pick the role on the portal.")
	errGoRegion = broker.Errorf(broker.EINVALID, "region_invalid",
		"This link's region= is not an AWS region name (like eu-west-1). Ask whoever sent it for a corrected link, or pick the role on the portal.")
	errGoDestination = broker.Errorf(broker.EINVALID, "destination_not_allowed",
		"The requested destination is not an AWS console page, so the broker will not send you there.")
)

// goTo is GET /go: the link resolved to one of the person's grants, then
// exactly /open (open it, or ask first, or sign in first).
func (h *Handler) goTo(c echo.Context) error { return h.goWith(c, c.QueryParams()) }

// goWith is /go with the link's parameters (account, role, via, region,
// destination) from q; whether to ask first (confirm=, intent=, where the
// request came from) is the request's own.
func (h *Handler) goWith(c echo.Context, q url.Values) error {
	link, err := goLinkOf(q)
	if err != nil {
		return err
	}
	dest := web.BoundedParam(q.Get("destination"), 2000)
	if q.Get("destination") != "" && (dest == "" || !anyConsoleURL(dest)) {
		return errGoDestination
	}
	key := link.key()
	confirm := h.linkNeedsConfirm(c, key, dest)
	cur, ok := h.Current(c)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/?"+roleLink(key, dest, confirm).Encode())
	}
	decision := h.cfg.Access.Decide(&cur.Session.Identity)
	g, dest, err := h.resolveGo(decision, link, dest)
	if err != nil {
		return err
	}
	if !confirm {
		return h.assume(c, cur, g.Key(), dest, true)
	}
	return h.confirmPage(c, cur, g.Key(), dest)
}

// goAfterSignIn turns a /go link carried through sign-in into the grant
// key and destination it means with the new session's roles. When it
// means none, target is the link again (marked: it can only ask), where
// the person reads why.
func (h *Handler) goAfterSignIn(decision mapping.Decision, link goLink, dest string) (grantKey, destination, target string) {
	g, d, err := h.resolveGo(decision, link, dest)
	if err != nil {
		q := link.query()
		if dest != "" {
			q.Set("destination", dest)
		}
		q.Set("confirm", "1")
		return "", "", "/go?" + q.Encode()
	}
	return g.Key(), d, ""
}

// resolveGo picks the grant a link names among the person's (the first in
// the portal's order, through via when given) and the destination to
// open (access.ResolveDestination: the link's, checked against the role's
// partition, or the console home in the link's region).
func (h *Handler) resolveGo(decision mapping.Decision, link goLink, dest string) (broker.Grant, string, error) {
	g, err := access.SelectGrant(decision, h.accounts(), access.RoleRef{Account: link.Account, Role: link.Role, Via: link.Via})
	if err != nil {
		return broker.Grant{}, "", err
	}
	dest, err = access.ResolveDestination(g.RoleARN, dest, link.Region)
	if broker.ErrorReason(err) == access.ReasonRegionNotInPartition {
		return broker.Grant{}, "", broker.Wrap(err, broker.EINVALID, access.ReasonRegionNotInPartition,
			broker.ErrorMessage(err)+" Ask whoever sent the link for a corrected one, or pick the role on the portal.")
	}
	if err != nil {
		return broker.Grant{}, "", err
	}
	return g, dest, nil
}

// accounts is the configured account list (nil when the portal has none).
func (h *Handler) accounts() []mapping.Account {
	if h.cfg.Accounts == nil {
		return nil
	}
	return h.cfg.Accounts()
}

// GoURL is the absolute /go link of a role: the reference
// access.ListRoles gives it (the account's alias or id, the role's name,
// via when a role of that name comes earlier in the account), and dest.
func GoURL(f *web.Frame, ref access.RoleRef, dest string) string {
	return f.URL("/go") + strings.TrimPrefix(goPath(ref, dest), "/go")
}

// goPath is the /go link of a role, relative to the portal (the cards'
// links: the browser makes them absolute).
func goPath(ref access.RoleRef, dest string) string {
	q := goLink{Account: ref.Account, Role: ref.Role, Via: ref.Via}.query()
	if dest != "" {
		q.Set("destination", dest)
	}
	return "/go?" + q.Encode()
}
