package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/sts"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/internal/webtest"
)

type fixedRules struct{ e *mapping.Engine }

func (r fixedRules) Engine() *mapping.Engine { return r.e }

type memReplay struct {
	mu sync.Mutex
	m  map[string]bool
}

func (r *memReplay) Remember(_ context.Context, ns, key string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[ns+key] {
		return broker.Errorf(broker.EREPLAY, "replay", "used")
	}
	r.m[ns+key] = true
	return nil
}

// loggingSTS is the fake STS logging as the sts package does: with the
// call's context and no request id of its own.
type loggingSTS struct {
	*webtest.FakeSTS
	log *slog.Logger
}

func (l loggingSTS) AssumeRoleWithSAML(ctx context.Context, in sts.SAMLInput) (*sts.Result, error) {
	l.log.InfoContext(ctx, "sts: assumed role with SAML", "role", in.RoleARN)
	return l.FakeSTS.AssumeRoleWithSAML(ctx, in)
}

type safeBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }

// TestEveryRequestLogLineCarriesItsRequestID: a sign-in, a refused
// sign-in, a role assumption and a sign-out through the whole site, with
// the use cases and STS logging through the same handler as app wires it:
// every line has a request id, and STS's line (logged without naming one)
// carries the id of the response it belongs to.
func TestEveryRequestLogLineCarriesItsRequestID(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	buf := &safeBuf{}
	log := slog.New(web.LogHandler(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	eng, err := mapping.Compile([]mapping.Rule{
		{Name: "devs", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "dev"}}},
			Grant: mapping.GrantSpec{Account: webtest.Acct, Role: "Developer"}},
	}, mapping.Options{BrokerSAMLProviderName: "broker"})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := access.New(access.Config{Rules: fixedRules{eng}, STS: loggingSTS{ev.STS, log}, Console: webtest.FakeConsole{}, Audit: ev.Audit,
		SAMLIssuer: webtest.FakeIssuer{}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := access.NewSessions(access.SessionsConfig{Store: ev.SessionStore, Access: acc, Replay: &memReplay{m: map[string]bool{}}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ev.Config
	cfg.Access, cfg.Sessions, cfg.Logger = acc, sessions, log
	ev.Rebuild(t, cfg)

	csrf, grants := ev.SignIn(t)
	if len(grants) == 0 {
		t.Fatal("no grants after sign-in")
	}
	rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {grants[0]}})
	if rec.Code != http.StatusFound && rec.Code != http.StatusSeeOther {
		t.Fatalf("console: %d %s", rec.Code, rec.Body)
	}
	consoleID := rec.Header().Get("X-Request-Id")
	ev.Do(t, http.MethodPost, "/logout", url.Values{"csrf_token": {csrf}})
	ev.SP.Err = broker.Errorf(broker.EUNAUTHORIZED, "signature_invalid", "Sign-in failed.")
	ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})

	buf.mu.Lock()
	defer buf.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(buf.b.Bytes()))
	lines, roleAssumed := 0, false
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		lines++
		id, _ := l["request_id"].(string)
		if len(id) != 16 {
			t.Errorf("log line without its request id: %s", sc.Text())
		}
		if l["msg"] == "sts: assumed role with SAML" {
			roleAssumed = true
			if id != consoleID {
				t.Errorf("the STS line has request id %q, the response %q", id, consoleID)
			}
		}
	}
	if lines < 5 || !roleAssumed {
		t.Errorf("%d log lines, STS logged: %v; the scenario logs more", lines, roleAssumed)
	}
}

// A line that names its request id keeps it: no second request_id.
func TestLogHandlerKeepsAnExplicitID(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(web.LogHandler(slog.NewJSONHandler(&b, nil)))
	ctx := web.WithRequestID(context.Background(), "ctxid")
	log.InfoContext(ctx, "explicit", "request_id", "mine")
	log.InfoContext(ctx, "implicit")
	log.Info("no request")
	want := []string{`"request_id":"mine"`, `"request_id":"ctxid"`, ``}
	for i, line := range bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n")) {
		if n := bytes.Count(line, []byte(`"request_id"`)); want[i] == "" && n != 0 || want[i] != "" && (n != 1 || !bytes.Contains(line, []byte(want[i]))) {
			t.Errorf("line %d: %s, want %s once", i, line, want[i])
		}
	}
}
