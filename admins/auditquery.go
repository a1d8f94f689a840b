package admins

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/broker-dev/broker"
)

// AuditQuery is an audit search as a person types it (the admin page's
// form, the API's query parameters): substrings of the user and role, an
// event and a result, a time range and a page.
type AuditQuery struct {
	User, Role, Result, Event, Since, Until string
	Limit                                   int   // default 100
	Before                                  int64 // keyset page: events with lower ids
}

// ParseAuditQuery reads an audit search from URL query parameters, the
// names the admin page's form and the API share: user, role, result,
// event, since, until, limit, before.
func ParseAuditQuery(q url.Values) AuditQuery {
	aq := AuditQuery{User: q.Get("user"), Role: q.Get("role"), Result: q.Get("result"), Event: q.Get("event"), Since: q.Get("since"), Until: q.Get("until")}
	aq.Limit, _ = strconv.Atoi(q.Get("limit"))
	aq.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	return aq
}

// Filter checks the query and turns it into an audit filter: a result is
// success or failure; times are 2026-11-22, 2026-11-22T10:00,
// "2026-11-22 10:00" or RFC 3339 (UTC unless it says otherwise).
func (q AuditQuery) Filter() (AuditFilter, error) {
	f := AuditFilter{SubjectContains: q.User, RoleContains: q.Role, Result: q.Result, Event: q.Event, Limit: q.Limit, Before: q.Before}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	switch q.Result {
	case "", ResultSuccess, ResultFailure:
	default:
		return f, broker.Errorf(broker.EINVALID, "audit_result", "result is success or failure.")
	}
	for _, t := range []struct {
		in  string
		out *time.Time
	}{{q.Since, &f.Since}, {q.Until, &f.Until}} {
		if t.in == "" {
			continue
		}
		v, err := parseTime(t.in)
		if err != nil {
			return f, broker.Errorf(broker.EINVALID, "audit_time", "%q is not a time: use 2026-11-22, 2026-11-22T10:00 or RFC 3339.", t.in)
		}
		*t.out = v
	}
	return f, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}
