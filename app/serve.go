package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/store"
)

// Serve serves the broker on ln until ctx is cancelled (SIGTERM), running
// the background loops alongside; then it shuts down in order:
//
//  1. drain (server.shutdown_drain): /readyz answers 503 at once while the
//     listener keeps serving, so load balancers stop sending before
//     connections are refused; keep-alives are turned off;
//  2. grace (server.shutdown_grace): the listener closes and the requests
//     in flight may finish;
//  3. the requests still running are audited (event request_cut, with
//     their request id and path), their contexts cancelled and their
//     connections closed;
//
// then the background loops stop and what is held in memory is flushed.
// Every step is logged. The caller closes the store (Close). Serve returns
// nil after an orderly shutdown, cut requests included.
//
// /metrics is served on server.metrics_listen when set (else on ln).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	var mln net.Listener
	if addr := a.cfg.Server.MetricsListen; addr != "" {
		var err error
		if mln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("server.metrics_listen: %w", err)
		}
	}
	return a.ServeWith(ctx, ln, mln)
}

// ServeWith is Serve on listeners the caller opened: the broker on ln,
// and /metrics alone on mln (nil: none; /metrics is then on ln unless
// server.metrics_listen is set). The metrics listener stays up until the
// shutdown is complete, so the drain can be watched.
func (a *App) ServeWith(ctx context.Context, ln, mln net.Listener) error {
	// The loops and the requests outlive ctx until the shutdown says.
	loops, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	var wg sync.WaitGroup
	for _, sp := range a.SAML {
		wg.Add(1)
		go func() { defer wg.Done(); sp.Run(loops) }()
	}
	for _, op := range a.OIDC {
		wg.Add(1)
		go func() { defer wg.Done(); op.Run(loops) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); a.every(loops, UpkeepInterval, a.Upkeep) }()
	a.WarnIDPMetadata(loops)
	wg.Add(1)
	go func() { defer wg.Done(); a.every(loops, IDPMetadataCheckInterval, a.WarnIDPMetadata) }()
	wg.Add(1)
	go func() { defer wg.Done(); a.every(loops, FailureFlushInterval, a.Sessions.FlushFailures) }()
	wg.Add(1)
	go func() { defer wg.Done(); a.Rules.Run(loops, RulesPollInterval) }()
	a.CountSessions(loops)
	wg.Add(1)
	go func() { defer wg.Done(); a.every(loops, SessionCountInterval, a.CountSessions) }()
	if mln != nil {
		msrv := a.MetricsServer()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("metrics listener failed", "addr", mln.Addr().String(), "err", err)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-loops.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = msrv.Shutdown(sctx)
			scancel()
		}()
		a.log.Info("serving metrics", "addr", mln.Addr().String())
	}

	reqs := newInFlight()
	base, cutRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cutRequests()
	srv := a.HTTPServer()
	srv.Handler = reqs.wrap(srv.Handler)
	srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() {
		var err error
		if a.cfg.Server.TLSCertFile != "" {
			err = srv.ServeTLS(ln, a.cfg.ResolvePath(a.cfg.Server.TLSCertFile), a.cfg.ResolvePath(a.cfg.Server.TLSKeyFile))
		} else {
			err = srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errc <- err
	}()
	var err error
	select {
	case <-ctx.Done():
		a.shutdown(srv, reqs, cutRequests)
		err = <-errc
	case err = <-errc:
	}
	stopLoops()
	wg.Wait()
	a.Flush(context.Background())
	a.log.Info("shutdown: complete")
	return err
}

// shutdown drains, waits out the grace and cuts what is left (see Serve).
func (a *App) shutdown(srv *http.Server, reqs *inFlight, cutRequests context.CancelFunc) {
	drain, grace := time.Duration(a.cfg.Server.ShutdownDrain), time.Duration(a.cfg.Server.ShutdownGrace)
	a.draining.Store(true)
	srv.SetKeepAlivesEnabled(false)
	a.log.Info("shutdown: draining (/readyz answers 503, still serving)", "drain", drain.String(), "grace", grace.String(), "in_flight", reqs.len())
	time.Sleep(drain)
	a.log.Info("shutdown: listener closed, waiting for requests in flight", "in_flight", reqs.len(), "grace", grace.String())
	gctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(gctx); err == nil {
		a.log.Info("shutdown: every request finished")
		return
	}
	cut := reqs.list()
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	for _, f := range cut {
		a.log.Warn("shutdown: request cut at the end of the grace period", "request_id", f.ID, "method", f.Method, "path", f.Path,
			"elapsed_ms", time.Since(f.Start).Milliseconds())
		a.Access.Audit(actx, &store.AuditEvent{
			RequestID: f.ID, Event: EventRequestCut, Result: store.ResultFailure, Reason: ReasonShutdownGrace,
			Message: "The broker shut down before this request finished (server.shutdown_grace).",
			Details: map[string]string{"method": f.Method, "path": f.Path, "elapsed": time.Since(f.Start).Round(time.Millisecond).String()},
		})
	}
	cutRequests()
	_ = srv.Close()
	// Give the handlers a moment to see their cancelled contexts before
	// the store is closed under them.
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	reqs.wait(wctx)
	a.log.Warn("shutdown: grace period over", "cut", len(cut), "still_running", reqs.len())
}

// EventRequestCut is the audit event of a request still running when the
// shutdown grace ended; ReasonShutdownGrace its reason.
const (
	EventRequestCut     = "request_cut"
	ReasonShutdownGrace = "shutdown_grace_exceeded"
)

// FailureFlushInterval is how often the counts of failed sign-ins whose
// window has closed are written to the audit log.
const FailureFlushInterval = 15 * time.Second

// Flush writes what this instance still holds in memory: the counts of
// repeated failed sign-ins (Serve calls it at shutdown), within 5 s.
func (a *App) Flush(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	a.Sessions.FlushAllFailures(ctx)
}

// RulesPollInterval is how often each instance checks the store for rule
// changes made on another instance (one single-row query).
const RulesPollInterval = 500 * time.Millisecond

// HTTPServer returns an http.Server for the broker with conservative
// timeouts (slow clients cannot hold connections open).
func (a *App) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           a.Web,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// MetricsServer serves /metrics alone (server.metrics_listen), plain HTTP.
func (a *App) MetricsServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// SessionCountInterval is how often each instance counts the live
// sessions for broker_active_sessions (one query; never per request).
const SessionCountInterval = 30 * time.Second

// CountSessions sets broker_active_sessions from the store; a failure
// is logged and counted, the gauge keeps its last value.
func (a *App) CountSessions(ctx context.Context) {
	n, err := a.Store.CountSessions(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "count live sessions", "err", err)
		n = -1
	}
	a.Metrics.SetActiveSessions(n)
}

// UpkeepInterval is how often each instance purges the store and compacts it.
const UpkeepInterval = 5 * time.Minute

// every calls f every interval until ctx ends.
func (a *App) every(ctx context.Context, interval time.Duration, f func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// Upkeep runs one round of the store's upkeep: delete what has expired or
// outlived store.retention, then give the space back (SQLite). Failures
// are logged; the next round tries again.
func (a *App) Upkeep(ctx context.Context) {
	n, err := a.Store.Purge(ctx, Retention(a.cfg))
	if err != nil {
		a.log.WarnContext(ctx, "purge the store", "err", err)
	} else if n > 0 {
		a.log.DebugContext(ctx, "purged the store", "rows", n)
	}
	if err := a.Store.Compact(ctx); err != nil {
		a.log.WarnContext(ctx, "compact the store", "err", err)
	}
}

// Retention is the store's retention as cfg sets it.
func Retention(cfg *config.Config) store.Retention {
	return store.Retention{Audit: time.Duration(cfg.Store.Retention.Audit), SignIns: time.Duration(cfg.Store.Retention.SignIns)}
}

// Close releases the store (logged).
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.Store == nil {
			return
		}
		if err := a.Store.Close(); err != nil {
			a.log.Warn("close the store", "err", err)
			return
		}
		a.log.Info("store closed")
	})
}

// Draining reports whether a shutdown has begun (/readyz answers 503).
func (a *App) Draining() bool { return a.draining.Load() }
