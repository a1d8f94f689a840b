package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

// Bounds of `broker loadtest --flood`: it is a measurement, not a weapon.
const (
	floodMaxRequests = 1_000_000
	floodMaxDuration = 10 * time.Minute
)

// floodOptions are the flags of `broker loadtest --flood`.
type floodOptions struct {
	requests    int
	concurrency int
	duration    time.Duration
	dataDir     string
}

// runFlood starts a dev stack on 127.0.0.1, posts up to o.requests bad
// SAML responses (a signed one with a changed byte, and one that is not
// SAML) to its ACS from o.concurrency clients for at most o.duration, and
// prints what that did to the store: its size before, after the flood and
// after one round of upkeep (purge, checkpoint, incremental vacuum), and
// the failed sign-ins the audit log holds.
func runFlood(ctx context.Context, o floodOptions, stdout io.Writer) error {
	if o.requests < 1 || o.requests > floodMaxRequests || o.duration <= 0 || o.duration > floodMaxDuration || o.concurrency < 1 || o.concurrency > 256 {
		return usageError{fmt.Sprintf("--flood needs 1 <= --requests <= %d, 0 < --duration <= %s, 1 <= --concurrency <= 256", floodMaxRequests, floodMaxDuration)}
	}
	// The per-client rate limit would answer most of the flood with 429
	// before it reached a sign-in; it is off so that what is measured is
	// the store's own defence (failed sign-ins counted, not each written).
	st, err := devstack.Start(ctx, devstack.Options{DataDir: o.dataDir, Host: "127.0.0.1", NoRateLimits: true})
	if err != nil {
		return err
	}
	defer st.Close()
	acs := st.BrokerURL + "/saml/demo/acs"
	if u, err := url.Parse(acs); err != nil || !config.IsLoopback(u.Hostname()) {
		return fmt.Errorf("the flood goes to loopback only, not %s", acs)
	}
	bodies, err := badResponses(st)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "broker loadtest --flood: %d bad SAML responses, %d at a time, to %s (at most %s)\n\n", o.requests, o.concurrency, acs, o.duration)

	db := st.App.Store
	before, err := db.DiskUsage(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	res := postBad(ctx, acs, bodies, o)
	took := time.Since(start)
	fmt.Fprintf(stdout, "  posted        %d in %s (%.0f/s); answers: %s\n", res.sent, took.Round(time.Millisecond), float64(res.sent)/took.Seconds(), res.statuses())

	// The flood is over: write the counts the broker still holds.
	st.App.Flush(ctx)

	flooded, err := db.DiskUsage(ctx)
	if err != nil {
		return err
	}
	events, failures, err := failedSignIns(ctx, db, start)
	if err != nil {
		return err
	}
	st.App.Upkeep(ctx)
	kept, err := db.DiskUsage(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  audit         %d failed sign-ins recorded in %d audit events\n", failures, events)
	fmt.Fprintf(stdout, "  store before  %s\n", storeUsage(before))
	fmt.Fprintf(stdout, "        after   %s   (+%s)\n", storeUsage(flooded), size(flooded.DB+flooded.WAL-before.DB-before.WAL))
	fmt.Fprintf(stdout, "        upkeep  %s   (purge by store.retention, WAL checkpoint, incremental vacuum)\n", storeUsage(kept))
	if res.errors > 0 {
		return fmt.Errorf("%d posts failed: %v", res.errors, res.firstErr)
	}
	return nil
}

// badResponses returns form bodies the ACS must refuse: a response the
// demo IdP signed, with one byte of its assertion changed (the signature
// check fails), and a document that is not SAML.
func badResponses(st *devstack.Stack) ([]string, error) {
	signed, err := st.IdP.IssueResponse(devidp.IssueOptions{SPEntityID: st.BrokerURL + "/saml/demo/metadata", Username: "alice"})
	if err != nil {
		return nil, err
	}
	xml, err := base64.StdEncoding.DecodeString(signed)
	if err != nil {
		return nil, err
	}
	tampered := strings.Replace(string(xml), ">alice<", ">alicf<", 1)
	if tampered == string(xml) {
		return nil, errors.New("flood: the demo response has no subject to change")
	}
	var out []string
	for _, doc := range []string{tampered, "<nope>not SAML</nope>"} {
		out = append(out, url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte(doc))}}.Encode())
	}
	return out, nil
}

// floodResult counts the answers.
type floodResult struct {
	mu       sync.Mutex
	sent     int64
	status   map[int]int
	cut      int // posts in flight when the time limit struck
	errors   int
	firstErr error
}

func (r *floodResult) statuses() string {
	var codes []int
	for c := range r.status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d x%d", c, r.status[c]))
	}
	if r.errors > 0 {
		parts = append(parts, fmt.Sprintf("error x%d", r.errors))
	}
	if r.cut > 0 {
		parts = append(parts, fmt.Sprintf("cut off by the time limit x%d", r.cut))
	}
	return strings.Join(parts, ", ")
}

// postBad posts the bodies in turn until o.requests are sent or
// o.duration has passed.
func postBad(ctx context.Context, acs string, bodies []string, o floodOptions) *floodResult {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = o.concurrency
	hc := &http.Client{Transport: t, Timeout: 30 * time.Second}
	defer t.CloseIdleConnections()
	res := &floodResult{status: map[int]int{}}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(o.requests) {
					return
				}
				code, err := postOne(ctx, hc, acs, bodies[i%int64(len(bodies))])
				res.mu.Lock()
				if err != nil && ctx.Err() != nil {
					res.cut++ // in flight at the time limit: the broker may have seen it
					res.mu.Unlock()
					return
				}
				res.sent++
				if err != nil {
					res.errors++
					if res.firstErr == nil {
						res.firstErr = err
					}
				} else {
					res.status[code]++
				}
				res.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}

func postOne(ctx context.Context, hc *http.Client, acs, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, acs, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "broker-loadtest-flood/1 ("+strings.Repeat("x", 200)+")")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// failedSignIns counts the failed sign-in audit events since start and
// the failures they stand for (an aggregated event stands for its count).
func failedSignIns(ctx context.Context, db *sqlstore.DB, start time.Time) (events, failures int64, err error) {
	f := store.AuditFilter{Event: "signin", Result: store.ResultFailure, Since: start.Add(-time.Second), Limit: 1000}
	for {
		page, err := db.ListAudit(ctx, f)
		if err != nil {
			return 0, 0, err
		}
		for _, e := range page {
			events++
			failures++
			if n, err := strconv.ParseInt(e.Details["count"], 10, 64); err == nil {
				failures += n - 1
			}
		}
		if len(page) < f.Limit {
			return events, failures, nil
		}
		f.Before = page[len(page)-1].ID
	}
}

func storeUsage(u sqlstore.Usage) string {
	return fmt.Sprintf("db %s + wal %s = %s", size(u.DB), size(u.WAL), size(u.DB+u.WAL))
}

func size(b int64) string {
	switch {
	case b < 0:
		return "-" + size(-b)
	case b < 1<<10:
		return fmt.Sprintf("%d B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
