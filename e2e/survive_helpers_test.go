package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devstack"
)

// awsGate stands between a broker and the local AWS: open, it passes
// every request on; shut, it holds them without answering (an AWS that
// hangs) until they are given up or the gate opens again.
type awsGate struct {
	URL     string
	mu      sync.Mutex
	shut    chan struct{} // nil: open; closed when the gate opens again
	arrived chan struct{} // one value per request held
}

func newAWSGate(t *testing.T, target string) *awsGate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &awsGate{arrived: make(chan struct{}, 1024)}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		shut := g.shut
		g.mu.Unlock()
		if shut != nil {
			// Read the body first: only then does the server watch the
			// connection and end r.Context() when the broker gives up.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			select {
			case g.arrived <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done():
				return
			case <-shut:
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	g.URL = srv.URL
	t.Cleanup(func() { g.open(); srv.Close() })
	return g
}

// hang shuts the gate: AWS stops answering.
func (g *awsGate) hang() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut == nil {
		g.shut = make(chan struct{})
	}
}

// open lets everything through again, the requests held included.
func (g *awsGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut != nil {
		close(g.shut)
		g.shut = nil
	}
}

// waitHeld waits until n requests are held at the gate.
func (g *awsGate) waitHeld(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-g.arrived:
		case <-time.After(20 * time.Second):
			t.Fatal("no request reached the AWS stand-in")
		}
	}
}

// route sends cfg's STS and federation calls through the gate.
func (g *awsGate) route(cfg *config.Config) {
	cfg.AWS.STSEndpoint = g.URL
	cfg.AWS.FederationURL = g.URL + "/federation"
}

// instance is a second broker on the stack's store, served by App.Serve
// under a context the test cancels as SIGTERM would.
type instance struct {
	URL  string // http://localhost:PORT: the browser's cookies for the stack's broker go along
	App  *app.App
	Logs *logBuffer
	stop context.CancelFunc
	done chan error
}

// startInstance runs a broker from the stack's config file changed by
// configure, on a free port.
func startInstance(t *testing.T, st *devstack.Stack, configure func(*config.Config)) *instance {
	t.Helper()
	cfg, probs := config.Load(st.ConfigPath)
	if errs := probs.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	configure(cfg)
	in := &instance{Logs: &logBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	in.stop = cancel
	var err error
	if in.App, err = app.New(ctx, cfg, app.Options{Logger: in.Logs.logger()}); err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	in.URL = "http://localhost:" + port
	go func() { in.done <- in.App.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-in.done:
		case <-time.After(time.Minute):
			t.Error("the instance did not stop")
		}
		in.App.Close()
	})
	return in
}

// wait returns what Serve returned, or fails after limit.
func (in *instance) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-in.done:
		in.done <- err // for the cleanup
		return err
	case <-time.After(limit):
		t.Fatalf("Serve did not return within %s:\n%s", limit, in.Logs)
		return nil
	}
}

// at is u (a URL of the stack's broker) on this instance.
func (in *instance) at(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(in.URL)
	p.Scheme, p.Host = base.Scheme, base.Host
	return p.String()
}

// answer is one HTTP exchange as a test sees it.
type answer struct {
	Status  int
	Header  http.Header
	Body    string
	Elapsed time.Duration
	Err     error
}

// send posts form (or GETs when nil) with c, not following redirects.
func send(c *http.Client, u string, form url.Values) answer {
	start := time.Now()
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return answer{Err: err}
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{Err: err, Elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Elapsed: time.Since(start), Err: err}
}
