package app

import (
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/metrics"
	"github.com/broker-dev/broker/store"
)

//go:generate env BROKER_UPDATE_STOREMETRICS=1 go test -run TestMeteredStoreUpToDate .

// meteredStore is the store as the rest of the broker sees it: every
// operation of store.Store timed and its errors counted by code
// (storemetrics_gen.go, one method each, generated from the interface;
// TestMeteredStoreUpToDate fails when the interface has grown, and
// `go generate ./app` brings it up to date). Embedding keeps a method the
// generated file lacks working, unmeasured, until then. Tokens the
// OpenID Provider for apps stored are counted as issued.
type meteredStore struct {
	store.Store
	m   *metrics.Metrics
	now func() time.Time
}

// meter wraps st; with no metrics it is st itself.
func meter(st store.Store, m *metrics.Metrics, now func() time.Time) store.Store {
	if m == nil {
		return st
	}
	return &meteredStore{Store: st, m: m, now: now}
}

// done records one operation: its latency, its error code (not_found,
// conflict and replay are answers; internal and unavailable failures of
// the store), and on success an app token issued.
func (s *meteredStore) done(op string, start time.Time, err error) {
	code := broker.ErrorCode(err)
	s.m.StoreOp(op, s.now().Sub(start), code)
	if err != nil {
		return
	}
	switch op {
	case "CreateAppAccessToken":
		s.m.AppTokenIssued(metrics.TokenAccess)
	case "CreateAppRefreshToken", "RotateAppRefreshToken":
		s.m.AppTokenIssued(metrics.TokenRefresh)
	}
}
