package metrics

import (
	"sort"

	dto "github.com/prometheus/client_model/go"
)

// Series is one series of the registry now: a counter's or gauge's
// value, a histogram's observation count.
type Series struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Snapshot gathers every broker_ series (not the Go runtime's or the
// process's), sorted by name. Tests read it; so can a status page.
func (m *Metrics) Snapshot() ([]Series, error) {
	if m == nil {
		return nil, nil
	}
	fams, err := m.reg.Gather()
	if err != nil {
		return nil, err
	}
	var out []Series
	for _, f := range fams {
		if len(f.GetName()) < 7 || f.GetName()[:7] != "broker_" {
			continue
		}
		for _, mt := range f.GetMetric() {
			s := Series{Name: f.GetName(), Labels: map[string]string{}}
			for _, lp := range mt.GetLabel() {
				s.Labels[lp.GetName()] = lp.GetValue()
			}
			s.Value = value(f.GetType(), mt)
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func value(t dto.MetricType, mt *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return mt.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return mt.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(mt.GetHistogram().GetSampleCount())
	}
	return 0
}

// Sum adds the values of the series named name whose labels include
// every pair of match.
func Sum(series []Series, name string, match map[string]string) float64 {
	var n float64
next:
	for _, s := range series {
		if s.Name != name {
			continue
		}
		for k, v := range match {
			if s.Labels[k] != v {
				continue next
			}
		}
		n += s.Value
	}
	return n
}

// Names are the broker_ metric names this package registers, whether or
// not they have a series yet (the alerts test checks every expression
// against them).
func (m *Metrics) Names() []string { return append([]string(nil), m.names...) }
