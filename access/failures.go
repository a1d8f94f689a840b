package access

import (
	"container/list"
	"context"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/broker-dev/broker/store"
)

// Failed sign-ins are aggregated, so that a client posting bad responses
// cannot grow the audit log (and the store) without bound: per client
// address, provider and reason, the first failure in a window is audited
// as it happens, and the rest of that window are counted and audited as
// one event when the window has closed (at the next failure, or at
// FlushFailures). Memory is bounded: at most FailureKeys windows are
// open; a failure that finds them all taken is counted in one "other"
// window.

// Defaults of the failed sign-in aggregation.
const (
	DefaultFailureWindow = time.Minute
	DefaultFailureKeys   = 1000
)

// ReasonOtherFailures is the reason of the aggregated event for failures
// that found every window taken (many client addresses at once): it has
// no address or provider, only the count.
const ReasonOtherFailures = "other_failures"

// Details of an aggregated failed sign-in: how many failures it stands
// for, the window length, and when the window opened (RFC 3339).
const (
	DetailCount  = "count"
	DetailWindow = "window"
	DetailSince  = "since"
)

// Bounds of what a window keeps of its latest failure.
const (
	maxAddrLen      = 64
	maxUserAgentLen = 256
)

type failureKey struct{ addr, provider, reason string }

// failureWindow is one open window: the failures after its first, not
// audited yet, and the latest of them (its request id, user agent,
// message and time go into the aggregated event; its subject and details
// too while every counted failure had the same, else none).
type failureWindow struct {
	key   failureKey
	start time.Time
	count int64
	last  store.AuditEvent
	mixed bool // the counted failures differ in subject or details
}

// failures holds the open windows, oldest first.
type failures struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	byKey map[failureKey]*list.Element
	order list.List      // of *failureWindow, by start
	other *failureWindow // nil when none is open
}

func newFailures(window time.Duration, max int) *failures {
	return &failures{window: window, max: max, byKey: map[failureKey]*list.Element{}}
}

// record counts ev (a failed sign-in, now) and says whether to audit it
// as it is, and which aggregated events are due (windows closed by now).
// The clock is read under the lock, so windows open in time order.
func (f *failures) record(clock func() time.Time, ev *store.AuditEvent) (audit bool, due []store.AuditEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := clock()
	due = f.closeBefore(now.Add(-f.window))
	k := failureKey{addr: clip(ev.RemoteAddr, maxAddrLen), provider: ev.Provider, reason: ev.Reason}
	if el, ok := f.byKey[k]; ok {
		el.Value.(*failureWindow).add(ev, now)
		return false, due
	}
	if len(f.byKey) < f.max {
		f.byKey[k] = f.order.PushBack(&failureWindow{key: k, start: now})
		return true, due
	}
	if f.other == nil {
		f.other = &failureWindow{start: now}
	}
	f.other.add(ev, now)
	return false, due
}

// closeBefore closes the windows opened at or before t and returns the
// aggregated events of those that counted failures.
func (f *failures) closeBefore(t time.Time) []store.AuditEvent {
	var due []store.AuditEvent
	for el := f.order.Front(); el != nil; el = f.order.Front() {
		w := el.Value.(*failureWindow)
		if w.start.After(t) {
			break
		}
		f.order.Remove(el)
		delete(f.byKey, w.key)
		if w.count > 0 {
			due = append(due, w.event(f.window))
		}
	}
	if f.other != nil && !f.other.start.After(t) {
		due = append(due, f.other.otherEvent(f.window))
		f.other = nil
	}
	return due
}

// closeAll closes every window, ended or not.
func (f *failures) closeAll() []store.AuditEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closeBefore(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)) // after every start
}

// closeDue closes the windows that have ended by now.
func (f *failures) closeDue(clock func() time.Time) []store.AuditEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closeBefore(clock().Add(-f.window))
}

func (w *failureWindow) add(ev *store.AuditEvent, now time.Time) {
	if w.count > 0 && (ev.Subject != w.last.Subject || !maps.Equal(ev.Details, w.last.Details)) {
		w.mixed = true
	}
	w.count++
	w.last = *ev
	w.last.Time = now
	w.last.RemoteAddr = clip(ev.RemoteAddr, maxAddrLen)
	w.last.UserAgent = clip(ev.UserAgent, maxUserAgentLen)
	if w.mixed {
		w.last.Subject, w.last.Details = "", nil
	}
}

// event is the window's aggregated audit event: the latest failure's
// record, with the count.
func (w *failureWindow) event(window time.Duration) store.AuditEvent {
	e := w.last
	e.Details = map[string]string{}
	maps.Copy(e.Details, w.last.Details)
	maps.Copy(e.Details, map[string]string{DetailCount: strconv.FormatInt(w.count, 10), DetailWindow: windowString(window), DetailSince: w.start.UTC().Format(time.RFC3339)})
	return e
}

// otherEvent is the "other" window's event: the count, no address,
// provider, subject, user agent or details (they were many).
func (w *failureWindow) otherEvent(window time.Duration) store.AuditEvent {
	w.last.Subject, w.last.Details = "", nil
	e := w.event(window)
	e.Reason, e.Provider, e.RemoteAddr, e.UserAgent = ReasonOtherFailures, "", "", ""
	e.Message = "Failed sign-ins from more clients at once than are counted one by one."
	return e
}

// windowString writes whole minutes as "1m", else as time.Duration does.
func windowString(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// FlushFailures audits the aggregated failed sign-ins of the windows that
// have closed by now; call it periodically (app: every 15 s), so a count
// is written within a window's length even when no failure follows it.
func (s *Sessions) FlushFailures(ctx context.Context) {
	for _, e := range s.fails.closeDue(s.now) {
		s.cfg.Access.Audit(ctx, &e)
	}
}

// FlushAllFailures audits every count still held, its window closed or
// not (at shutdown).
func (s *Sessions) FlushAllFailures(ctx context.Context) {
	for _, e := range s.fails.closeAll() {
		s.cfg.Access.Audit(ctx, &e)
	}
}
