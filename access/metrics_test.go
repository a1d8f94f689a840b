package access

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/metrics"
	"github.com/broker-dev/broker/store"
)

// scenario runs sign-ins (good and refused, many of them aggregated),
// and role assumptions (granted, refused by STS, not granted) for n
// distinct people, each with a role of their own, through Sessions and
// Service with metrics; it returns the audit records and the metrics.
func scenario(t *testing.T, n int) ([]store.AuditEvent, []metrics.Series) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	st := &fakeSTS{}
	sessions, db, au := newSessionsWith(t, &now, nil)
	m := metrics.New(metrics.Config{})
	acc := sessions.cfg.Access
	acc.cfg.Metrics = m
	acc.cfg.STS = st
	stsErr := broker.Errorf(broker.EFORBIDDEN, "sts_access_denied", "trust policy")

	for i := range n {
		role := fmt.Sprintf("arn:aws:iam::%s:role/Team%03d", acct, i)
		id := identity()
		id.Subject = fmt.Sprintf("person%03d@corp.example", i)
		id.RoleSessionName = fmt.Sprintf("person%03d", i)
		id.Expires = time.Now().Add(time.Hour)
		id.Roles = []broker.RolePair{{RoleARN: role, ProviderARN: idpProv}}
		id.Attributes[broker.SAMLAttrRole] = []string{role + "," + idpProv}
		if i%2 == 1 {
			id.Attributes["groups"] = []string{"ops"}
		}
		meta := Meta{RequestID: "r" + strconv.Itoa(i), RemoteAddr: fmt.Sprintf("192.0.2.%d", i%250)}
		if _, _, err := sessions.Start(ctx, NewSAMLSession(*id, []byte("<Response/>")), "", meta); err != nil {
			t.Fatal(err)
		}
		sess := &Session{Identity: *id, samlResponse: upstreamXML}
		st.mu.Lock()
		st.err = nil
		if i%5 == 0 {
			st.err = stsErr
		}
		st.mu.Unlock()
		_, _ = acc.Assume(ctx, AssumeInput{Session: sess, GrantKey: grantKey(t, acc, id, role), Meta: meta})
		if i%2 == 0 { // the broker-issued developer role
			_, _ = acc.Assume(ctx, AssumeInput{Session: &Session{Identity: *id}, GrantKey: grantKey(t, acc, id, devRole), Meta: meta})
		}
		// Someone else's role: not granted.
		other := fmt.Sprintf("arn:aws:iam::%s:role/Team%03d||saml", acct, i+1)
		_, _ = acc.Assume(ctx, AssumeInput{Session: &Session{Identity: *id}, GrantKey: other, Meta: meta})
		// Refused sign-ins, from a handful of addresses: most are counted
		// into aggregated events.
		sessions.Failed(ctx, "okta", refused("signature_invalid", "", nil), Meta{RemoteAddr: fmt.Sprintf("198.51.100.%d", i%7)})
		sessions.Failed(ctx, "okta", refused("assertion_expired", id.Subject, nil), Meta{RemoteAddr: fmt.Sprintf("198.51.100.%d", i%3)})
		now = now.Add(7 * time.Second)
	}
	sessions.FlushAllFailures(ctx)
	s, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Successful sign-ins are written with their session (one
	// transaction, in the store); everything else through the Service.
	written, err := db.ListAudit(ctx, store.AuditFilter{Event: "signin", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return append(au.take(), written...), s
}

// TestAuditAndMetricsAgree: for the same scenario, the sign-ins and role
// assumptions the audit log records (an aggregated failure as its count)
// are exactly what the metrics count, per label set.
func TestAuditAndMetricsAgree(t *testing.T) {
	evs, series := scenario(t, 40)
	type key struct{ a, result, reason string }
	signins, roles := map[key]float64{}, map[key]float64{}
	for _, e := range evs {
		switch e.Event {
		case "signin":
			n := 1.0
			if c := e.Details[DetailCount]; c != "" {
				v, _ := strconv.Atoi(c)
				n = float64(v)
			}
			signins[key{e.Provider, e.Result, e.Reason}] += n
		case "role_assumed", "credentials_issued":
			roles[key{e.Details[DetailDownstream], e.Result, e.Reason}]++
		}
	}
	want := map[string]float64{"success": 40, "failure": 80}
	for r, n := range want {
		var got float64
		for k, v := range signins {
			if k.result == r {
				got += v
			}
		}
		if got != n {
			t.Errorf("audit log holds %v %s sign-ins, scenario made %v", got, r, n)
		}
	}
	if len(roles) < 3 {
		t.Fatalf("scenario audited too few kinds of role assumption: %v", roles)
	}
	for k, n := range signins {
		if got := metrics.Sum(series, "broker_signins_total", map[string]string{"provider": k.a, "result": k.result, "reason": k.reason}); got != n {
			t.Errorf("sign-ins %+v: audit %v, metrics %v", k, n, got)
		}
	}
	for k, n := range roles {
		if got := metrics.Sum(series, "broker_role_assumptions_total", map[string]string{"downstream": k.a, "result": k.result, "reason": k.reason}); got != n {
			t.Errorf("role assumptions %+v: audit %v, metrics %v", k, n, got)
		}
	}
	var total float64
	for _, n := range signins {
		total += n
	}
	if got := metrics.Sum(series, "broker_signins_total", nil); got != total {
		t.Errorf("metrics count %v sign-ins, audit %v", got, total)
	}
}

// TestMetricLabelsBounded: after many distinct people with a role each,
// every label value of every series comes from a small fixed set: no
// subject, no role ARN, no address.
func TestMetricLabelsBounded(t *testing.T) {
	_, series := scenario(t, 120)
	allowed := map[string]map[string]bool{
		"provider":   {"okta": true, "": true},
		"result":     {"success": true, "failure": true},
		"reason":     {"": true, "signature_invalid": true, "assertion_expired": true, "sts_access_denied": true, ReasonRoleNotGranted: true, ReasonOtherFailures: true},
		"downstream": {"": true, "saml": true, "web-identity": true},
	}
	for _, s := range series {
		for k, v := range s.Labels {
			if strings.Contains(v, "person") || strings.Contains(v, "arn:") || strings.Contains(v, "192.") {
				t.Errorf("%s label %s=%q carries a person, role or address", s.Name, k, v)
			}
			if set, ok := allowed[k]; ok && !set[v] {
				t.Errorf("%s label %s=%q is not in the bounded set", s.Name, k, v)
			}
		}
	}
	if len(series) > 20 {
		t.Errorf("%d series for 120 people: grows with them", len(series))
	}
}
