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

// Serve serves the broker on ln until ctx is cancelled, and /metrics on
// server.metrics_listen when set, running the background loops alongside;
// then it shuts down gracefully (in-flight requests get 15 s).
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
// server.metrics_listen is set).
func (a *App) ServeWith(ctx context.Context, ln, mln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, sp := range a.SAML {
		wg.Add(1)
		go func() { defer wg.Done(); sp.Run(ctx) }()
	}
	for _, op := range a.OIDC {
		wg.Add(1)
		go func() { defer wg.Done(); op.Run(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); a.every(ctx, UpkeepInterval, a.Upkeep) }()
	a.WarnIDPMetadata(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); a.every(ctx, IDPMetadataCheckInterval, a.WarnIDPMetadata) }()
	wg.Add(1)
	go func() { defer wg.Done(); a.every(ctx, FailureFlushInterval, a.Sessions.FlushFailures) }()
	wg.Add(1)
	go func() { defer wg.Done(); a.Rules.Run(ctx, RulesPollInterval) }()
	a.CountSessions(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); a.every(ctx, SessionCountInterval, a.CountSessions) }()
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
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = msrv.Shutdown(sctx)
			scancel()
		}()
		a.log.Info("serving metrics", "addr", mln.Addr().String())
	}

	srv := a.HTTPServer()
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
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = srv.Shutdown(sctx)
		scancel()
		<-errc
	case err = <-errc:
	}
	cancel()
	wg.Wait()
	a.Flush(context.Background())
	return err
}

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
	n, err := a.st.Purge(ctx, Retention(a.cfg))
	if err != nil {
		a.log.WarnContext(ctx, "purge the store", "err", err)
	} else if n > 0 {
		a.log.DebugContext(ctx, "purged the store", "rows", n)
	}
	if err := a.st.Compact(ctx); err != nil {
		a.log.WarnContext(ctx, "compact the store", "err", err)
	}
}

// Retention is the store's retention as cfg sets it.
func Retention(cfg *config.Config) store.Retention {
	return store.Retention{Audit: time.Duration(cfg.Store.Retention.Audit), SignIns: time.Duration(cfg.Store.Retention.SignIns)}
}

// Close releases the store.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.Store != nil {
			_ = a.Store.Close()
		}
	})
}
