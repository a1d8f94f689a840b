package access

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/console"
	"github.com/broker-dev/broker/sts"
)

// awsOutageWindow is how long after its last failed call an AWS service
// still counts as failing when nothing has called it since.
const awsOutageWindow = 5 * time.Minute

// awsHealth remembers, per AWS service this instance calls (STS, the
// federation endpoint), whether its latest call failed for want of AWS
// (no answer in time, unreachable, busy) rather than being answered.
// Any answer, a refusal included, ends the outage: recovery needs no
// restart.
type awsHealth struct {
	mu  sync.Mutex
	svc map[string]*awsState
}

type awsState struct {
	since, last time.Time
	failures    int
	reason      string
}

// record notes the outcome of one call to service; a call whose caller
// gave up (ctx ended: the person left) says nothing about AWS.
func (h *awsHealth) record(ctx context.Context, service string, err error, outage bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil || !outage {
		delete(h.svc, service) // AWS answered, even if to refuse
		return
	}
	if ctx.Err() != nil {
		return // the caller gave up, not AWS (sts and console time out on their own deadlines)
	}
	st, ok := h.svc[service]
	if !ok {
		st = &awsState{since: now}
		h.svc[service] = st
	}
	st.last, st.reason = now, broker.ErrorReason(err)
	st.failures++
}

// warning describes the services failing at now, "" when none is.
func (h *awsHealth) warning(now time.Time) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out string
	for _, service := range []string{"AWS STS", "the AWS sign-in (federation) endpoint"} {
		st, ok := h.svc[service]
		if !ok || now.Sub(st.last) > awsOutageWindow {
			continue
		}
		if out != "" {
			out += "; "
		}
		out += fmt.Sprintf("%s is failing since %s (%d failed calls, last %s: %s): people cannot open consoles or get credentials until it answers",
			service, st.since.UTC().Format(time.RFC3339), st.failures, st.last.UTC().Format(time.RFC3339), st.reason)
	}
	return out
}

// AWSWarning says, when non-empty, that AWS STS or the federation
// endpoint failed this instance's latest calls to it (within the last 5
// minutes): /readyz lists it as a warning.
func (s *Service) AWSWarning() string { return s.health.warning(s.now()) }

// watchedSTS is the STS client with its outcomes recorded.
type watchedSTS struct {
	STS
	s *Service
}

func (w watchedSTS) AssumeRoleWithSAML(ctx context.Context, in sts.SAMLInput) (*sts.Result, error) {
	r, err := w.STS.AssumeRoleWithSAML(ctx, in)
	w.s.health.record(ctx, "AWS STS", err, sts.IsOutage(err), w.s.now())
	return r, err
}

func (w watchedSTS) AssumeRoleWithWebIdentity(ctx context.Context, in sts.WebIdentityInput) (*sts.Result, error) {
	r, err := w.STS.AssumeRoleWithWebIdentity(ctx, in)
	w.s.health.record(ctx, "AWS STS", err, sts.IsOutage(err), w.s.now())
	return r, err
}

// watchedConsole is the console client with its outcomes recorded.
type watchedConsole struct {
	Console
	s *Service
}

func (w watchedConsole) LoginURL(ctx context.Context, req console.Request) (*console.Result, error) {
	r, err := w.Console.LoginURL(ctx, req)
	w.s.health.record(ctx, "the AWS sign-in (federation) endpoint", err, console.IsOutage(err), w.s.now())
	return r, err
}
