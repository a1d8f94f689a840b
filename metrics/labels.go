package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// guard bounds one label's values: the first max distinct values pass,
// later new ones become OtherValue; values that are not short
// identifiers become InvalidValue.
type guard struct {
	max  int
	mu   sync.Mutex
	seen map[string]struct{}
}

func newGuards(n, max int) []*guard {
	gs := make([]*guard, n)
	for i := range gs {
		gs[i] = &guard{max: max, seen: map[string]struct{}{}}
	}
	return gs
}

func (g *guard) value(v string) string {
	if !identifier(v) {
		return InvalidValue
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.seen[v]; ok {
		return v
	}
	if len(g.seen) >= g.max {
		return OtherValue
	}
	g.seen[v] = struct{}{}
	return v
}

// identifier: at most 64 of A-Z a-z 0-9 _ - . : ("" too: no reason).
func identifier(v string) bool {
	if len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

func guarded(gs []*guard, vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = gs[i].value(v)
	}
	return out
}

type counterVec struct {
	v *prometheus.CounterVec
	g []*guard
}

func (c *counterVec) add(n float64, vals ...string) {
	c.v.WithLabelValues(guarded(c.g, vals)...).Add(n)
}

type histogramVec struct {
	v *prometheus.HistogramVec
	g []*guard
}

func (h *histogramVec) observe(x float64, vals ...string) {
	h.v.WithLabelValues(guarded(h.g, vals)...).Observe(x)
}

type gaugeVec struct {
	v *prometheus.GaugeVec
	g []*guard
}

func (g *gaugeVec) set(x float64, vals ...string) {
	g.v.WithLabelValues(guarded(g.g, vals)...).Set(x)
}
