package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/broker-dev/broker/store"
)

// Serve serves the broker on ln until ctx is cancelled, running the
// background loops alongside; then it shuts down gracefully (in-flight
// requests get 15 s).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
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
	go func() { defer wg.Done(); a.purgeLoop(ctx, 5*time.Minute) }()
	wg.Add(1)
	go func() { defer wg.Done(); a.Rules.Run(ctx, RulesPollInterval) }()

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
	return err
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

func (a *App) purgeLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := a.Store.Purge(ctx, store.Retention{SignIns: 90 * 24 * time.Hour})
			if err != nil {
				a.log.WarnContext(ctx, "purge expired rows", "err", err)
			} else if n > 0 {
				a.log.DebugContext(ctx, "purged expired rows", "rows", n)
			}
		}
	}
}

// Close releases the store.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.Store != nil {
			_ = a.Store.Close()
		}
	})
}
