package access

import (
	"strconv"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// DetailDownstream is the audit detail of "role_assumed" and
// "credentials_issued" that names the grant's STS call ("saml",
// "web-identity"); absent when the attempt failed before a grant was found.
const DetailDownstream = "downstream"

// count reports an audit record the store took to the metrics, so that
// the audit log and the metrics agree by construction: a "signin" counts
// as the sign-ins it stands for (an aggregated failure event as its
// Details count), a "role_assumed" or "credentials_issued" as one role
// assumption. Labels are the provider id, the result and the stable
// reason, and the downstream: never the subject or the role.
func (s *Service) count(ev *store.AuditEvent) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	switch ev.Event {
	case "signin":
		n := 1
		if c, ok := ev.Details[DetailCount]; ok {
			if v, err := strconv.Atoi(c); err == nil && v > 0 {
				n = v
			}
		}
		m.SignIns(ev.Provider, ev.Result, ev.Reason, n)
	case "role_assumed", "credentials_issued":
		m.RoleAssumption(ev.Details[DetailDownstream], ev.Result, ev.Reason)
	}
}

// downstreamOf is the grant's STS call as the audit detail names it; ""
// without a grant.
func downstreamOf(g broker.Grant) string {
	switch {
	case g.RoleARN == "":
		return ""
	case g.Downstream == "":
		return string(broker.DownstreamSAML)
	}
	return string(g.Downstream)
}
