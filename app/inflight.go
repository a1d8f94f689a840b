package app

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/broker-dev/broker/web"
)

// inFlight knows the requests being served, so that the ones still running
// when the shutdown grace ends can be audited (request_cut) under the
// request id their log lines and audit records carry: it names each
// request and hands the id to the web frame (web.WithRequestID).
type inFlight struct {
	mu   sync.Mutex
	next uint64
	reqs map[uint64]flight
}

// flight is one request being served.
type flight struct {
	ID, Method, Path string
	Start            time.Time
}

func newInFlight() *inFlight { return &inFlight{reqs: map[uint64]flight{}} }

// wrap serves h, recording each request while it runs.
func (t *inFlight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := flight{ID: web.NewRequestID(), Method: r.Method, Path: r.URL.Path, Start: time.Now()}
		t.mu.Lock()
		n := t.next
		t.next++
		t.reqs[n] = f
		t.mu.Unlock()
		defer func() {
			t.mu.Lock()
			delete(t.reqs, n)
			t.mu.Unlock()
		}()
		h.ServeHTTP(w, r.WithContext(web.WithRequestID(r.Context(), f.ID)))
	})
}

// list returns the requests being served, oldest first.
func (t *inFlight) list() []flight {
	t.mu.Lock()
	out := make([]flight, 0, len(t.reqs))
	for _, f := range t.reqs {
		out = append(out, f)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// len is how many requests are being served.
func (t *inFlight) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.reqs)
}

// wait returns when no request is being served or ctx ends.
func (t *inFlight) wait(ctx context.Context) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for t.len() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
