package devstack

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime/pprof"
	"slices"
	"testing"

	"github.com/google/pprof/profile"
)

// Each server of the stack serves its connections on goroutines labelled
// with its component (ComponentLabel): a goroutine profile taken while one
// idle keep-alive connection to each server is open finds each
// connection's goroutine (net/http.(*conn).serve) under its server's label
// and none unlabelled.
func TestServersLabelled(t *testing.T) {
	st, err := Start(context.Background(), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]string{
		ComponentBroker: st.BrokerURL + "/healthz",
		ComponentIdP:    st.IDPURL + "/saml/metadata",
		ComponentOP:     st.OPURL + "/.well-known/openid-configuration",
		ComponentAWS:    st.AWSURL + "/",
		ComponentApp:    st.AppURL + "/",
	}
	c := &http.Client{Transport: &http.Transport{}} // keeps each connection open, idle
	defer c.CloseIdleConnections()
	for comp, u := range want {
		r, err := c.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", comp, err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}

	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 0); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Sample {
		if !inFunction(s, "net/http.(*conn).serve") {
			continue
		}
		l := s.Label[ComponentLabel]
		if len(l) != 1 {
			t.Errorf("a server connection's goroutine without the %s label: %v", ComponentLabel, s.Label)
			continue
		}
		got = append(got, l[0])
	}
	for comp := range want {
		if !slices.Contains(got, comp) {
			t.Errorf("no connection goroutine labelled %s=%s; got %v", ComponentLabel, comp, got)
		}
	}
}

func inFunction(s *profile.Sample, name string) bool {
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			if l.Function != nil && l.Function.Name == name {
				return true
			}
		}
	}
	return false
}

// The label costs nothing per request: it is set once on each server's
// accept loop and inherited. This benchmark is the per-request
// alternative (pprof.Do around a handler), for scale.
func BenchmarkPerRequestLabel(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		pprof.Do(ctx, pprof.Labels(ComponentLabel, ComponentBroker), func(context.Context) {})
	}
}
